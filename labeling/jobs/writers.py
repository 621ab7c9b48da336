"""Engine results → figures. Geometry conversion per label shape, and the batch writers the actors use.

Figures are stored through ``labeling.services.annotations.write_machine_figures`` (one track at a
time, inside the batch's transaction), so the rule "machine output never overwrites a manual figure or
keyframe" lives in one place.
"""

from __future__ import annotations

import cv2
import numpy as np

from labeling.models import Figure, FigureSource, LabelClass, ShapeKind, Track
from labeling.services.annotations import track_create, write_machine_figures
from tracking.types import FrameResult, TrackedObject

from .runner import BatchWriter, Written

VISIBLE_SCORE = 0.5  # keypoint score from which a point counts as visible (2), else absent (0)


# ---------------------------------------------------------------------------------------- geometry


def mask_to_rle(mask: np.ndarray) -> dict:
    """COCO uncompressed RLE of a boolean (H, W) mask: column-major, zeros first."""
    h, w = mask.shape
    flat = np.asarray(mask, dtype=np.uint8).reshape(-1, order="F")
    changes = np.flatnonzero(np.diff(flat)) + 1
    bounds = np.concatenate([[0], changes, [flat.size]])
    counts = np.diff(bounds).astype(int).tolist()
    if flat[0] == 1:
        counts = [0, *counts]
    return {"size": [int(h), int(w)], "counts": counts}


def rle_to_mask(rle: dict) -> np.ndarray:
    h, w = rle["size"]
    values = np.zeros(h * w, dtype=bool)
    position, on = 0, False
    for run in rle["counts"]:
        if on:
            values[position : position + run] = True
        position += run
        on = not on
    return values.reshape((h, w), order="F")


def polygon_to_mask(points, height: int, width: int) -> np.ndarray:
    canvas = np.zeros((height, width), np.uint8)
    cv2.fillPoly(canvas, [np.round(np.asarray(points, np.float32)).astype(np.int32)], 1)
    return canvas.astype(bool)


def mask_to_polygon(mask: np.ndarray) -> list[list[float]] | None:
    contours, _ = cv2.findContours(mask.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    if not contours:
        return None
    largest = max(contours, key=cv2.contourArea)
    if len(largest) < 3 or cv2.contourArea(largest) <= 0:
        return None
    return [[float(x), float(y)] for x, y in largest.reshape(-1, 2)]


def clip_box(xyxy, width: int, height: int) -> dict | None:
    x1, y1, x2, y2 = (float(v) for v in np.asarray(xyxy, np.float64)[:4])
    x1, x2 = max(0.0, min(x1, width)), max(0.0, min(x2, width))
    y1, y2 = max(0.0, min(y1, height)), max(0.0, min(y2, height))
    if x2 - x1 < 1 or y2 - y1 < 1:
        return None
    return {"x1": round(x1, 2), "y1": round(y1, 2), "x2": round(x2, 2), "y2": round(y2, 2)}


def object_geometry(obj: TrackedObject, shape: str, width: int, height: int) -> dict | None:
    """Figure ``data`` for a label of ``shape`` from a tracked object; None when the object has no
    usable geometry of that kind on this frame (nothing is stored then)."""
    if shape == ShapeKind.BOX:
        return clip_box(obj.xyxy, width, height)
    if shape == ShapeKind.MASK:
        if obj.mask is None or not obj.mask.any():
            return None
        return {"rle": mask_to_rle(obj.mask)}
    if shape == ShapeKind.POLYGON:
        if obj.mask is not None and obj.mask.any():
            points = mask_to_polygon(obj.mask)
            if points is not None:
                return {"points": points}
        box = clip_box(obj.xyxy, width, height)
        if box is None:
            return None
        x1, y1, x2, y2 = box["x1"], box["y1"], box["x2"], box["y2"]
        return {"points": [[x1, y1], [x2, y1], [x2, y2], [x1, y2]]}
    if shape == ShapeKind.POINTS:
        if obj.keypoints is None or len(obj.keypoints) == 0:
            return None
        points = []
        for x, y, score in np.asarray(obj.keypoints, np.float64)[:, :3]:
            visible = score >= VISIBLE_SCORE
            points.append([round(float(x), 2), round(float(y), 2), 2 if visible else 0])
        if not any(p[2] for p in points):
            return None
        return {"points": points}
    return None


def figure_shape(figure: Figure, label: LabelClass, width: int, height: int) -> tuple[str, object]:
    """(SOT kind, start shape) to auto-track ``figure``: box xyxy, boolean mask or (K, 3) points."""
    data = figure.data or {}
    if label.shape == ShapeKind.BOX:
        return "box", np.array([figure.x1, figure.y1, figure.x2, figure.y2], np.float32)
    if label.shape == ShapeKind.MASK:
        return "mask", rle_to_mask(data["rle"])
    if label.shape == ShapeKind.POLYGON:
        return "mask", polygon_to_mask(data["points"], height, width)
    if label.shape == ShapeKind.POINTS:
        pts = np.array([[x, y, 1.0 if v > 0 else 0.0] for x, y, v in data["points"]], np.float32)
        return "points", pts
    raise ValueError(f"unknown shape {label.shape}")


# ---------------------------------------------------------------------------------------- writers


class MultiTrackWriter(BatchWriter):
    """Track jobs: one Track per engine track id (created on first sight, label from its class)."""

    def __init__(self, job, labels_by_class: dict[int, LabelClass]):
        self.job = job
        self.video = job.video
        self.labels_by_class = labels_by_class
        self.tracks: dict[int, Track] = {}
        self.skipped = 0

    def write(self, results: list[FrameResult]) -> Written:
        per_track: dict[int, list[dict]] = {}
        new_tracks: list[Track] = []
        w, h = self.video.width, self.video.height
        for result in results:
            for obj in result.objects:
                track = self.tracks.get(obj.track_id)
                if track is None:
                    label = self.labels_by_class.get(int(obj.cls))
                    if label is None:
                        continue
                    data = object_geometry(obj, label.shape, w, h)
                    if data is None:
                        continue
                    track = track_create(video=self.video, label=label, source=FigureSource.DETECTOR, job=self.job)
                    self.tracks[obj.track_id] = track
                    new_tracks.append(track)
                else:
                    data = object_geometry(obj, track.label.shape, w, h)
                    if data is None:
                        continue
                per_track.setdefault(obj.track_id, []).append(
                    {"frame": result.frame_index, "data": data, "confidence": float(obj.conf)}
                )
        for track_key, items in per_track.items():
            outcome = write_machine_figures(self.tracks[track_key], items, FigureSource.DETECTOR, job=self.job)
            self.skipped += outcome.skipped
        figures = []
        if per_track:
            figures = list(
                Figure.objects.filter(
                    job=self.job,
                    track_id__in=[self.tracks[k].pk for k in per_track],
                    frame__gte=results[0].frame_index,
                    frame__lte=results[-1].frame_index,
                ).order_by("frame", "track_id")
            )
        return Written(figures=figures, tracks=new_tracks)


class SingleTrackWriter(BatchWriter):
    """Auto-track jobs: every result is the one track's shape on that frame. The start frame (the
    person's own figure) is not written; lost frames get no figure."""

    def __init__(self, job, track: Track, start_frame: int):
        self.job, self.track, self.start_frame = job, track, start_frame
        self.written_frames: set[int] = set()
        self.skipped = 0

    def write(self, results: list[FrameResult]) -> Written:
        w, h = self.track.video.width, self.track.video.height
        items = []
        for result in results:
            if result.frame_index == self.start_frame or not result.objects:
                continue
            data = object_geometry(result.objects[0], self.track.label.shape, w, h)
            if data is not None:
                items.append({"frame": result.frame_index, "data": data, "confidence": float(result.objects[0].conf)})
        if not items:
            return Written()
        outcome = write_machine_figures(self.track, items, FigureSource.SOT, job=self.job)
        self.skipped += outcome.skipped
        frames = [i["frame"] for i in items]
        figures = list(
            Figure.objects.filter(job=self.job, track=self.track, frame__gte=min(frames), frame__lte=max(frames))
        )
        self.written_frames.update(f.frame for f in figures)
        return Written(figures=figures)
