"""Projects, memberships and label classes."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from labeling.models import LabelClass, Membership, Project, Role, ShapeKind
from labeling.models.projects import colour_validator

# ---------------------------------------------------------------------------------------------
# projects


@transaction.atomic
def project_create(*, user, name: str, description: str = "", settings: dict | None = None) -> Project:
    """Create a project; its creator becomes its first owner."""
    name = (name or "").strip()
    if not name:
        raise ValidationError("A project needs a name.")
    project = Project.objects.create(name=name, description=description, settings=settings or {}, created_by=user)
    Membership.objects.create(user=user, project=project, role=Role.OWNER)
    return project


def project_update(*, project: Project, **fields) -> Project:
    allowed = {"name", "description", "settings"}
    unknown = set(fields) - allowed
    if unknown:
        raise ValidationError(f"These project fields cannot be changed: {', '.join(sorted(unknown))}.")
    if "name" in fields:
        fields["name"] = (fields["name"] or "").strip()
        if not fields["name"]:
            raise ValidationError("A project needs a name.")
    if "settings" in fields and not isinstance(fields["settings"], dict):
        raise ValidationError("Project settings must be a JSON object.")
    for key, value in fields.items():
        setattr(project, key, value)
    project.save(update_fields=[*fields, "updated_at"])
    return project


def project_delete(*, project: Project) -> None:
    """Delete a project and everything in it (videos, tracks, figures, jobs)."""
    from labeling.models import Track
    from labeling.services.videos import video_files_delete

    with transaction.atomic():
        # Video files and cached frames go once the delete has committed.
        video_files_delete(project.videos.all())
        # Tracks protect their label class; delete them first so the cascade can finish.
        Track.objects.filter(video__project=project).delete()
        project.delete()


# ---------------------------------------------------------------------------------------------
# memberships

# Roles a manager may hand out or take away; anything stronger needs an owner.
MANAGER_GRANTABLE = {Role.ANNOTATOR, Role.VIEWER}


def _check_may_manage(actor_role: str, *roles: str) -> None:
    if actor_role == Role.OWNER:
        return
    if actor_role == Role.MANAGER and all(role in MANAGER_GRANTABLE for role in roles):
        return
    raise ValidationError(
        "Only an owner can add, remove or change owners and managers; managers manage annotators and viewers."
    )


def _parse_role(role) -> str:
    if role not in Role.values:
        raise ValidationError(f"Unknown role '{role}'. Choose one of: {', '.join(Role.values)}.")
    return role


def _ensure_another_owner(membership: Membership) -> None:
    others = Membership.objects.filter(project_id=membership.project_id, role=Role.OWNER).exclude(pk=membership.pk)
    if not others.exists():
        raise ValidationError("A project must keep at least one owner; make someone else an owner first.")


def membership_create(
    *, project: Project, actor_role: str, user, role: str, settings: dict | None = None
) -> Membership:
    role = _parse_role(role)
    _check_may_manage(actor_role, role)
    if Membership.objects.filter(project=project, user=user).exists():
        raise ValidationError(f"{user.get_username()} is already a member of this project; change their role instead.")
    try:
        with transaction.atomic():
            return Membership.objects.create(project=project, user=user, role=role, settings=settings or {})
    except IntegrityError:  # a concurrent request added them first
        raise ValidationError(f"{user.get_username()} is already a member of this project.") from None


@transaction.atomic
def membership_update(
    *, membership: Membership, actor_role: str, role: str | None = None, settings: dict | None = None
) -> Membership:
    # Lock the project's owner rows so two owners demoting each other cannot leave none.
    list(Membership.objects.select_for_update().filter(project_id=membership.project_id, role=Role.OWNER))
    membership.refresh_from_db()
    if role is not None and role != membership.role:
        role = _parse_role(role)
        _check_may_manage(actor_role, membership.role, role)
        if membership.role == Role.OWNER:
            _ensure_another_owner(membership)
        membership.role = role
    if settings is not None:
        if not isinstance(settings, dict):
            raise ValidationError("Member settings must be a JSON object.")
        membership.settings = settings
    membership.save(update_fields=["role", "settings"])
    return membership


@transaction.atomic
def membership_delete(*, membership: Membership, actor_role: str) -> None:
    list(Membership.objects.select_for_update().filter(project_id=membership.project_id, role=Role.OWNER))
    _check_may_manage(actor_role, membership.role)
    if membership.role == Role.OWNER:
        _ensure_another_owner(membership)
    membership.delete()


def find_user(*, user_id: int | None = None, username: str | None = None):
    """The user a membership request names, by id or username."""
    User = get_user_model()
    query = User.objects.filter(is_active=True)
    if user_id is not None:
        user = query.filter(pk=user_id).first()
    elif username:
        user = query.filter(**{User.USERNAME_FIELD: username}).first()
    else:
        raise ValidationError("Name the user to add: give 'username' or 'user' (an id).")
    if user is None:
        raise ValidationError("No active user with that name or id.")
    return user


# ---------------------------------------------------------------------------------------------
# label classes


def validate_skeleton(shape: str, skeleton) -> dict:
    """A skeleton is only for points labels: {"keypoints": [names], "edges": [[i, j], ...]}."""
    if skeleton in (None, {}):
        return {}
    if shape != ShapeKind.POINTS:
        raise ValidationError("Only labels of shape 'points' can have a skeleton.")
    if not isinstance(skeleton, dict):
        raise ValidationError('A skeleton must be an object like {"keypoints": ["a", "b"], "edges": [[0, 1]]}.')
    unknown = set(skeleton) - {"keypoints", "edges"}
    if unknown:
        raise ValidationError(f"Unknown skeleton keys: {', '.join(sorted(unknown))}; use 'keypoints' and 'edges'.")
    keypoints = skeleton.get("keypoints")
    if not isinstance(keypoints, list) or not keypoints:
        raise ValidationError("Skeleton 'keypoints' must be a non-empty list of names.")
    if not all(isinstance(name, str) and name.strip() for name in keypoints):
        raise ValidationError("Every skeleton keypoint must be a non-empty name.")
    if len(set(keypoints)) != len(keypoints):
        raise ValidationError("Skeleton keypoint names must be unique.")
    edges = skeleton.get("edges", [])
    if not isinstance(edges, list):
        raise ValidationError("Skeleton 'edges' must be a list of [i, j] keypoint index pairs.")
    count = len(keypoints)
    for n, edge in enumerate(edges):
        if (
            not isinstance(edge, list)
            or len(edge) != 2
            or not all(isinstance(i, int) and not isinstance(i, bool) for i in edge)
        ):
            raise ValidationError(f"Skeleton edge {n} must be a pair of keypoint indices like [0, 1].")
        if not all(0 <= i < count for i in edge) or edge[0] == edge[1]:
            raise ValidationError(
                f"Skeleton edge {n} {edge} must join two different keypoints with indices 0..{count - 1}."
            )
    return {"keypoints": list(keypoints), "edges": [list(edge) for edge in edges]}


def _validate_attributes(attributes) -> list:
    if attributes is None:
        return []
    if not isinstance(attributes, list) or not all(
        isinstance(a, dict) and isinstance(a.get("name"), str) and a["name"] for a in attributes
    ):
        raise ValidationError('Label attributes must be a list of objects with a "name", e.g. [{"name": "occluded"}].')
    return attributes


def _validate_colour(color: str) -> str:
    try:
        colour_validator(color)
    except ValidationError:
        raise ValidationError(f"Colour '{color}' must look like #RRGGBB.") from None
    return color


def label_class_create(
    *,
    project: Project,
    name: str,
    shape: str = ShapeKind.BOX,
    color: str = "#ff6b00",
    skeleton: dict | None = None,
    attributes: list | None = None,
) -> LabelClass:
    name = (name or "").strip()
    if not name:
        raise ValidationError("A label class needs a name.")
    if shape not in ShapeKind.values:
        raise ValidationError(f"Unknown shape '{shape}'. Choose one of: {', '.join(ShapeKind.values)}.")
    label = LabelClass(
        project=project,
        name=name,
        shape=shape,
        color=_validate_colour(color),
        skeleton=validate_skeleton(shape, skeleton),
        attributes=_validate_attributes(attributes),
    )
    if LabelClass.objects.filter(project=project, name=name).exists():
        raise ValidationError(f"This project already has a label called '{name}'.")
    try:
        with transaction.atomic():
            label.save()
    except IntegrityError:
        raise ValidationError(f"This project already has a label called '{name}'.") from None
    return label


@transaction.atomic
def label_class_update(*, label: LabelClass, **fields) -> LabelClass:
    allowed = {"name", "shape", "color", "skeleton", "attributes"}
    unknown = set(fields) - allowed
    if unknown:
        raise ValidationError(f"These label fields cannot be changed: {', '.join(sorted(unknown))}.")
    in_use = label.tracks.exists()
    shape = fields.get("shape", label.shape)
    if shape not in ShapeKind.values:
        raise ValidationError(f"Unknown shape '{shape}'. Choose one of: {', '.join(ShapeKind.values)}.")
    if shape != label.shape and in_use:
        raise ValidationError("This label is used by tracks; its shape cannot change. Create a new label instead.")
    skeleton = validate_skeleton(shape, fields.get("skeleton", label.skeleton if shape == label.shape else {}))
    old_count = len(label.skeleton.get("keypoints", []))
    if in_use and len(skeleton.get("keypoints", [])) != old_count:
        raise ValidationError(
            "This label is used by tracks; its skeleton must keep the same number of keypoints "
            f"({old_count}). Rename keypoints or change edges instead."
        )
    if "name" in fields:
        name = (fields["name"] or "").strip()
        if not name:
            raise ValidationError("A label class needs a name.")
        if LabelClass.objects.filter(project_id=label.project_id, name=name).exclude(pk=label.pk).exists():
            raise ValidationError(f"This project already has a label called '{name}'.")
        label.name = name
    if "color" in fields:
        label.color = _validate_colour(fields["color"])
    if "attributes" in fields:
        label.attributes = _validate_attributes(fields["attributes"])
    label.shape = shape
    label.skeleton = skeleton
    label.save()
    return label


def label_class_delete(*, label: LabelClass) -> None:
    tracks = label.tracks.count()
    if tracks:
        raise ValidationError(
            f"This label is used by {tracks} track{'s' if tracks != 1 else ''}; delete or relabel them first."
        )
    label.delete()
