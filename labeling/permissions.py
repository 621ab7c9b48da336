"""Project roles → what a caller may do. One place, used by every API view and WebSocket.

Rule: an object of a project the caller is not a member of does not exist for them (404, never
403, so ids don't leak). A member whose role is too weak gets 403 with a sentence saying why.
"""

from __future__ import annotations

from django.http import Http404
from rest_framework.exceptions import PermissionDenied

from .models import Membership, Project, Role

# What each action needs, weakest role that may do it.
READ = Role.VIEWER  # see everything in the project
ANNOTATE = Role.ANNOTATOR  # tracks, figures, start tracking jobs
MANAGE = Role.MANAGER  # videos, label classes, members (except owners), models
OWN = Role.OWNER  # delete the project, make/unmake owners


def role_of(user, project: Project | int) -> str | None:
    if not getattr(user, "is_authenticated", False):
        return None
    project_id = project.pk if isinstance(project, Project) else project
    return Membership.objects.filter(user=user, project_id=project_id).values_list("role", flat=True).first()


def has_role(role: str | None, needed: str) -> bool:
    return role is not None and Role.rank(role) >= Role.rank(needed)


def require_role(user, project: Project | int, needed: str) -> str:
    """Return the caller's role, or raise 404 (not a member) / 403 (role too weak)."""
    role = role_of(user, project)
    if role is None:
        raise Http404("Not found.")
    if not has_role(role, needed):
        raise PermissionDenied(
            f"Your role in this project is {role}; this needs {Role(needed).label.lower()} or higher."
        )
    return role
