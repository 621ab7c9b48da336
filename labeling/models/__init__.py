"""Trackroom's data model.

Project ─┬─ Membership (user, role)
         ├─ LabelClass (shape kind, colour, skeleton template)
         ├─ DetectorModel (an uploaded YOLO model: format, task, class names)
         ├─ Video ── Track (one annotated object) ── Figure (its shape on one frame)
         └─ Job (a unit of machine work: track, auto-track, render, training, …)
"""

from .annotations import Figure, FigureSource, Track
from .detector_models import DetectorModel, ModelFormat, ModelTask
from .exchange import DetectionSet, EditOp, EditRecord  # noqa: F401
from .jobs import Job, JobKind, JobStatus
from .projects import LabelClass, Membership, Project, Role, ShapeKind
from .reid import ReidModel, ReidStatus  # noqa: F401
from .videos import Video, VideoStatus

__all__ = [
    "DetectorModel",
    "Figure",
    "FigureSource",
    "Job",
    "JobKind",
    "JobStatus",
    "LabelClass",
    "Membership",
    "ModelFormat",
    "ModelTask",
    "Project",
    "Role",
    "ShapeKind",
    "Track",
    "Video",
    "VideoStatus",
]
