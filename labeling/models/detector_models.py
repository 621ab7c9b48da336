import uuid

from django.conf import settings
from django.db import models

from .projects import Project


def detector_model_upload_path(instance: "DetectorModel", filename: str) -> str:
    suffix = filename.rsplit(".", 1)[-1].lower() if "." in filename else "bin"
    return f"models/{instance.project_id}/{uuid.uuid4().hex}.{suffix}"


class ModelFormat(models.TextChoices):
    PT = "pt", "PyTorch (.pt)"
    ONNX = "onnx", "ONNX (.onnx)"


class ModelTask(models.TextChoices):
    DETECT = "detect", "Detect (boxes)"
    SEGMENT = "segment", "Segment (masks)"
    POSE = "pose", "Pose (keypoints)"


class DetectorModel(models.Model):
    """An ultralytics YOLO model uploaded to a project. Rows exist only for files that loaded as a model
    (checked in a separate process on upload); task and class names are what the file itself says."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="detector_models")
    name = models.CharField(max_length=255)
    file = models.FileField(upload_to=detector_model_upload_path, max_length=500)
    format = models.CharField(max_length=8, choices=ModelFormat.choices)
    task = models.CharField(max_length=16, choices=ModelTask.choices)
    class_names = models.JSONField(default=list, blank=True, help_text="Class names; the index is the class id")
    size = models.BigIntegerField(help_text="File size in bytes")
    checksum = models.CharField(max_length=64, help_text="sha256 of the file", db_index=True)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.name
