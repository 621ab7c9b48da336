import uuid

from django.conf import settings
from django.db import models

from .jobs import Job
from .projects import Project
from .videos import Video


def reid_model_upload_path(instance: "ReidModel", filename: str) -> str:
    return f"reid/{instance.project_id}/{uuid.uuid4().hex}.pt"


class ReidStatus(models.TextChoices):
    TRAINING = "training", "Training"
    READY = "ready", "Ready"
    FAILED = "failed", "Failed"


class ReidModel(models.Model):
    """A re-identification (appearance) model trained without labels on a project's videos and the
    detector boxes found on them. The row exists from the moment training is queued (status training);
    the file is set only when training finished, so a failed or cancelled run leaves no file."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="reid_models")
    name = models.CharField(max_length=255)
    file = models.FileField(upload_to=reid_model_upload_path, max_length=500, blank=True)
    status = models.CharField(max_length=16, choices=ReidStatus.choices, default=ReidStatus.TRAINING, db_index=True)
    params = models.JSONField(default=dict, blank=True, help_text="Training parameters (steps, detections, …)")
    metrics = models.JSONField(default=dict, blank=True, help_text="What training measured (held-out accuracy, …)")
    losses = models.JSONField(default=list, blank=True, help_text="Loss curve: [[step, loss], ...]")
    videos = models.ManyToManyField(Video, blank=True, related_name="reid_models", help_text="Training videos")
    job = models.ForeignKey(Job, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
                            help_text="The training job")  # fmt: skip
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    seconds = models.FloatField(null=True, blank=True, help_text="Training time in seconds")

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.name} ({self.status})"
