import uuid

from django.conf import settings
from django.db import models

from .projects import Project


def video_upload_path(instance: "Video", filename: str) -> str:
    suffix = filename.rsplit(".", 1)[-1].lower() if "." in filename else "bin"
    return f"videos/{instance.project_id}/{uuid.uuid4().hex}.{suffix}"


class VideoStatus(models.TextChoices):
    READY = "ready", "Ready"
    FAILED = "failed", "Failed"


class Video(models.Model):
    """One uploaded video. Rows exist only for files that probed as valid video."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="videos")
    name = models.CharField(max_length=255)
    file = models.FileField(upload_to=video_upload_path, max_length=500)
    fps = models.FloatField()
    frame_count = models.PositiveIntegerField()
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    codec = models.CharField(max_length=32, blank=True)
    size = models.BigIntegerField(help_text="File size in bytes")
    checksum = models.CharField(max_length=64, help_text="sha256 of the file", db_index=True)
    status = models.CharField(max_length=16, choices=VideoStatus.choices, default=VideoStatus.READY)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.name
