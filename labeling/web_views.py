"""Server-rendered pages. The labeling tool itself arrives with the UI issue; until then the home
page lists the projects the signed-in user belongs to and links the API docs."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from . import selectors


@login_required
def home(request):
    return render(request, "home.html", {"projects": selectors.projects_for_user(request.user)})
