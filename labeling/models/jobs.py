from django.conf import settings
from django.db import models

from .projects import Project
from .videos import Video


class JobKind(models.TextChoices):
    TRACK = "track", "Track (detector + multi-object tracker)"
    AUTO_TRACK = "auto_track", "Auto-Track (single object)"
    TRACK_FRAME = "track_frame", "Track all objects on a frame"
    RENDER = "render", "Render tracks to video"
    REID_TRAIN = "reid_train", "Train re-identification model"


class JobStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"

    @classmethod
    def finished(cls) -> list[str]:
        return [cls.DONE, cls.FAILED, cls.CANCELLED]


class Job(models.Model):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="jobs")
    video = models.ForeignKey(Video, null=True, blank=True, on_delete=models.CASCADE, related_name="jobs")
    kind = models.CharField(max_length=16, choices=JobKind.choices)
    status = models.CharField(max_length=16, choices=JobStatus.choices, default=JobStatus.QUEUED, db_index=True)
    progress = models.FloatField(default=0.0, help_text="0..1")
    frames_done = models.PositiveIntegerField(default=0)
    frames_total = models.PositiveIntegerField(default=0)
    params = models.JSONField(default=dict, blank=True)
    result = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)
    cancel_requested = models.BooleanField(default=False)
    worker = models.CharField(max_length=200, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.kind} job {self.id} ({self.status})"
