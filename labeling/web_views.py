"""Server-rendered pages. Each page is a template plus a small JSON "boot" object (ids, the caller's
role, the WebSocket path); everything else the page fetches from the REST API with the session."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import render

from . import selectors
from .permissions import role_of


def _boot(request, **extra) -> dict:
    return {"user": {"id": request.user.id, "username": request.user.username}, **extra}


@login_required
def home(request):
    """Projects list."""
    projects = selectors.projects_for_user(request.user)
    return render(request, "pages/projects.html", {"projects": projects, "boot": _boot(request)})


@login_required
def project_page(request, project_id: int):
    project = selectors.projects_for_user(request.user).filter(pk=project_id).first()
    if project is None:
        raise Http404("No such project.")
    boot = _boot(request, project={"id": project.id, "name": project.name}, role=project.my_role)
    return render(request, "pages/project.html", {"project": project, "boot": boot})


@login_required
def labeling_tool(request, video_id: int):
    video = selectors.videos_for_user(request.user).select_related("project").filter(pk=video_id).first()
    if video is None:
        raise Http404("No such video.")
    boot = _boot(
        request,
        video={"id": video.id, "name": video.name, "project": video.project_id},
        project={"id": video.project_id, "name": video.project.name},
        role=role_of(request.user, video.project_id),
        ws=f"/ws/videos/{video.id}/",
    )
    return render(request, "tool/tool.html", {"video": video, "boot": boot})


@login_required
def canvas_benchmark(request):
    """A page that draws N boxes per frame with the tool's canvas layer and reports frame times
    (benchmarks/canvas_draw.py drives it in headless Chromium)."""
    return render(request, "bench/canvas.html", {"boot": _boot(request)})
