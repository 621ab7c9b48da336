"""Trackroom's data model.

Project ─┬─ Membership (user, role)
         ├─ LabelClass (shape kind, colour, skeleton template)
         ├─ Video ── Track (one annotated object) ── Figure (its shape on one frame)
         └─ Job (a unit of machine work: track, auto-track, render, training, …)
"""

from .annotations import Figure, FigureSource, Track
from .jobs import Job, JobKind, JobStatus
from .projects import LabelClass, Membership, Project, Role, ShapeKind
from .videos import Video, VideoStatus

__all__ = [
    "Figure",
    "FigureSource",
    "Job",
    "JobKind",
    "JobStatus",
    "LabelClass",
    "Membership",
    "Project",
    "Role",
    "ShapeKind",
    "Track",
    "Video",
    "VideoStatus",
]
