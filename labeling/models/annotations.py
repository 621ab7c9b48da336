from django.conf import settings
from django.db import models

from .projects import LabelClass
from .videos import Video


class FigureSource(models.TextChoices):
    MANUAL = "manual", "Manual"
    DETECTOR = "detector", "Detector + tracker"
    SOT = "sot", "Single-object tracker"
    INTERPOLATED = "interpolated", "Interpolated"
    IMPORTED = "imported", "Imported"

    @classmethod
    def machine(cls) -> list[str]:
        """Sources a machine writes; these may be replaced by later machine runs, manual never."""
        return [cls.DETECTOR, cls.SOT, cls.INTERPOLATED]


class Track(models.Model):
    """One annotated object in one video."""

    video = models.ForeignKey(Video, on_delete=models.CASCADE, related_name="tracks")
    label = models.ForeignKey(LabelClass, on_delete=models.PROTECT, related_name="tracks")
    number = models.PositiveIntegerField(help_text="Track number, unique within the video")
    attributes = models.JSONField(default=dict, blank=True)
    source = models.CharField(max_length=16, choices=FigureSource.choices, default=FigureSource.MANUAL)
    job = models.ForeignKey("labeling.Job", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    version = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["video_id", "number"]
        constraints = [models.UniqueConstraint(fields=["video", "number"], name="unique_track_number_per_video")]

    def __str__(self) -> str:
        return f"track {self.number} of video {self.video_id}"


class Figure(models.Model):
    """A track's shape on one frame.

    ``data`` holds the geometry for the label's shape kind (frame pixels, origin top-left):
      box:     {"x1", "y1", "x2", "y2"}  (the bbox columns carry the same numbers)
      mask:    {"rle": {"size": [h, w], "counts": [...]}}  (COCO uncompressed RLE, column-major)
      polygon: {"points": [[x, y], ...]}
      points:  {"points": [[x, y, visibility], ...]}  (visibility 0 absent, 1 occluded, 2 visible)
    The x1..y2 columns always hold the figure's bounding box, for spatial queries and exports.
    """

    track = models.ForeignKey(Track, on_delete=models.CASCADE, related_name="figures")
    # Denormalised from track so a frame-range read is one index range scan.
    video = models.ForeignKey(Video, on_delete=models.CASCADE, related_name="figures")
    frame = models.PositiveIntegerField(help_text="0-based frame index")
    x1 = models.FloatField()
    y1 = models.FloatField()
    x2 = models.FloatField()
    y2 = models.FloatField()
    data = models.JSONField(default=dict, blank=True)
    is_keyframe = models.BooleanField(default=False)
    outside = models.BooleanField(default=False, help_text="The object has left the view on this frame")
    source = models.CharField(max_length=16, choices=FigureSource.choices, default=FigureSource.MANUAL)
    confidence = models.FloatField(null=True, blank=True)
    job = models.ForeignKey("labeling.Job", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    version = models.PositiveIntegerField(default=1)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # The figure as the range read's JSON object, written by the database itself (triggers from
    # migration 0005_figure_doc) on every insert and update, whatever the code path: the labeling
    # tool's hot read is then one concatenation of stored text. Never set it from Python.
    doc = models.TextField(default="", db_default="", editable=False)

    class Meta:
        ordering = ["frame", "track_id"]
        constraints = [models.UniqueConstraint(fields=["track", "frame"], name="one_figure_per_track_per_frame")]
        indexes = [models.Index(fields=["video", "frame"], name="figure_video_frame")]

    def __str__(self) -> str:
        return f"track {self.track_id} @ {self.frame}"
