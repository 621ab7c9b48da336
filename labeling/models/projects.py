from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models


class Role(models.TextChoices):
    """Project roles, strongest first. Each role can do everything the weaker ones can."""

    OWNER = "owner", "Owner"
    MANAGER = "manager", "Manager"
    ANNOTATOR = "annotator", "Annotator"
    VIEWER = "viewer", "Viewer"

    @classmethod
    def rank(cls, role: str) -> int:
        return {cls.VIEWER: 1, cls.ANNOTATOR: 2, cls.MANAGER: 3, cls.OWNER: 4}[cls(role)]


class Project(models.Model):
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="created_projects"
    )
    # Project-wide defaults, e.g. {"auto_track": true}. Per-user overrides live on Membership.
    settings = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=16, choices=Role.choices)
    # Per-user preferences inside this project, e.g. {"auto_track": false}.
    settings = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        constraints = [models.UniqueConstraint(fields=["user", "project"], name="one_membership_per_user")]

    def __str__(self) -> str:
        return f"{self.user} is {self.role} of {self.project}"


class ShapeKind(models.TextChoices):
    BOX = "box", "Bounding box"
    MASK = "mask", "Mask"
    POLYGON = "polygon", "Polygon"
    POINTS = "points", "Points / skeleton"


colour_validator = RegexValidator(r"^#[0-9a-fA-F]{6}$", "Colour must look like #RRGGBB.")


class LabelClass(models.Model):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="label_classes")
    name = models.CharField(max_length=100)
    color = models.CharField(max_length=7, default="#ff6b00", validators=[colour_validator])
    shape = models.CharField(max_length=16, choices=ShapeKind.choices, default=ShapeKind.BOX)
    # For POINTS: {"keypoints": ["nose", "left_eye", ...], "edges": [[0, 1], ...]}.
    skeleton = models.JSONField(default=dict, blank=True)
    # Attribute definitions, CVAT style: [{"name": "occluded", "type": "bool", "default": false}, ...].
    attributes = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        constraints = [models.UniqueConstraint(fields=["project", "name"], name="unique_label_name_per_project")]

    def __str__(self) -> str:
        return self.name
