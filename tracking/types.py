"""Data passed between engine parts. Boxes are float pixel xyxy, frames are 0-based."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

import numpy as np


@dataclass
class VideoInfo:
    path: str
    fps: float
    frame_count: int  # exact: counted by decoding when the container's number is not trusted
    width: int
    height: int
    codec: str  # fourcc or codec name, e.g. "MP43", "h264", "vp9"
    size: int = 0  # bytes

    @property
    def duration(self) -> float:
        return self.frame_count / self.fps if self.fps else 0.0


@dataclass
class Detections:
    """Detector output for one frame: N objects."""

    xyxy: np.ndarray  # (N, 4) float32
    conf: np.ndarray  # (N,) float32
    cls: np.ndarray  # (N,) int32
    masks: list[np.ndarray] | None = None  # N boolean (H, W) masks, when the model segments
    keypoints: np.ndarray | None = None  # (N, K, 3) x, y, score, when the model does pose

    @classmethod
    def empty(cls) -> "Detections":
        return cls(np.zeros((0, 4), np.float32), np.zeros((0,), np.float32), np.zeros((0,), np.int32))

    def __len__(self) -> int:
        return int(self.xyxy.shape[0])

    def as_boxmot(self) -> np.ndarray:
        """(N, 6) [x1, y1, x2, y2, conf, cls] as every boxmot tracker's update() expects."""
        return np.concatenate(
            [self.xyxy.astype(np.float32), self.conf[:, None].astype(np.float32), self.cls[:, None].astype(np.float32)],
            axis=1,
        ) if len(self) else np.zeros((0, 6), np.float32)

    def select(self, keep: np.ndarray) -> "Detections":
        idx = np.flatnonzero(keep) if keep.dtype == bool else keep
        return Detections(
            self.xyxy[idx],
            self.conf[idx],
            self.cls[idx],
            [self.masks[i] for i in idx] if self.masks is not None else None,
            self.keypoints[idx] if self.keypoints is not None else None,
        )


@dataclass
class TrackedObject:
    track_id: int
    xyxy: np.ndarray  # (4,)
    conf: float
    cls: int
    mask: np.ndarray | None = None  # boolean (H, W)
    keypoints: np.ndarray | None = None  # (K, 3)
    det_index: int = -1  # which detection of this frame it came from, -1 when predicted


@dataclass
class FrameResult:
    """What a job-shaped generator yields once per processed frame."""

    frame_index: int
    objects: list[TrackedObject] = field(default_factory=list)
    done: int = 0  # frames processed so far in this run (progress)
    total: int = 0  # frames this run will process
    lost: bool = False  # SOT: the tracker lost its object on this frame

    @property
    def progress(self) -> float:
        return self.done / self.total if self.total else 0.0


class CancelToken:
    """Set from another thread; job generators check it between frames."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()
