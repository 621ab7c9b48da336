"""Import/export and track editing: imported detection sets and the undoable track-edit log."""

import uuid

from django.conf import settings
from django.db import models

from .videos import Video


def detection_set_upload_path(instance: "DetectionSet", filename: str) -> str:
    return f"detections/{instance.video_id}/{uuid.uuid4().hex}.txt"


class DetectionSet(models.Model):
    """Detections imported for a video (e.g. a MOTChallenge ``det.txt``), kept as a file in MOT det
    format (1-based frames) that a Track job can use as its detector (``mot-det:<file>``)."""

    video = models.ForeignKey(Video, on_delete=models.CASCADE, related_name="detection_sets")
    name = models.CharField(max_length=255)
    file = models.FileField(upload_to=detection_set_upload_path, max_length=500)
    rows = models.PositiveIntegerField(help_text="Number of detections in the file")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.name} ({self.rows} detections)"


class EditOp(models.TextChoices):
    MERGE = "merge", "Merge two tracks"
    SPLIT = "split", "Split a track at a frame"
    RELABEL = "relabel", "Change a track's label"
    RENUMBER = "renumber", "Change a track's number"
    DELETE_RANGE = "delete_range", "Delete a track's figures over a frame range"
    OUTSIDE = "outside", "Mark a track outside from a frame"


class EditRecord(models.Model):
    """One track edit, undoable: the full state of the tracks it touched before and after it.

    ``before`` / ``after``: {"tracks": {id: track fields}, "figures": {track id: [figure fields]}};
    a track missing from one side did not exist then. ``expected`` is the digest of the touched tracks'
    content that must still hold for an undo or redo to be safe."""

    video = models.ForeignKey(Video, on_delete=models.CASCADE, related_name="edits")
    op = models.CharField(max_length=16, choices=EditOp.choices)
    params = models.JSONField(default=dict, blank=True)
    track_ids = models.JSONField(default=list, help_text="Ids of every track the edit touched")
    before = models.JSONField(default=dict)
    after = models.JSONField(default=dict)
    expected = models.JSONField(default=dict)
    first_frame = models.IntegerField(null=True, blank=True)
    last_frame = models.IntegerField(null=True, blank=True)
    undone = models.BooleanField(default=False)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.op} edit {self.pk} of video {self.video_id}"
