"""Reads. Every query that returns project data is scoped by the caller's membership."""

from django.db.models import QuerySet

from .models import Project


def projects_for_user(user) -> QuerySet[Project]:
    if not user.is_authenticated:
        return Project.objects.none()
    return Project.objects.filter(memberships__user=user).distinct()
