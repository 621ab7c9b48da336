"""Single-object tracking metrics, OTB style.

* success plot: fraction of frames whose IoU with the ground truth exceeds a threshold, for
  thresholds 0..1; its area under the curve (AUC) is the usual one-number summary;
* precision: fraction of frames whose box centre lies within 20 px of the ground-truth centre.

Frames where the tracker gave no box (lost) count as IoU 0 and infinite centre error.
Boxes are xyxy; predictions and ground truth are aligned per frame (None = no box).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

SUCCESS_THRESHOLDS = np.linspace(0.0, 1.0, 21)  # OTB's 21 IoU thresholds
PRECISION_THRESHOLD_PX = 20.0


def _as_array(boxes: Sequence[np.ndarray | Sequence[float] | None]) -> np.ndarray:
    """(N, 4) float64 with NaN rows where a box is missing."""
    out = np.full((len(boxes), 4), np.nan)
    for i, b in enumerate(boxes):
        if b is not None:
            out[i] = np.asarray(b, np.float64).reshape(4)
    return out


def ious(pred: Sequence, gt: Sequence) -> np.ndarray:
    """Per-frame IoU; 0 where the prediction is missing."""
    p, g = _as_array(pred), _as_array(gt)
    if len(p) != len(g):
        raise ValueError(f"{len(p)} predictions for {len(g)} ground-truth boxes")
    iw = np.clip(np.minimum(p[:, 2], g[:, 2]) - np.maximum(p[:, 0], g[:, 0]), 0, None)
    ih = np.clip(np.minimum(p[:, 3], g[:, 3]) - np.maximum(p[:, 1], g[:, 1]), 0, None)
    inter = iw * ih
    union = (p[:, 2] - p[:, 0]) * (p[:, 3] - p[:, 1]) + (g[:, 2] - g[:, 0]) * (g[:, 3] - g[:, 1]) - inter
    with np.errstate(invalid="ignore", divide="ignore"):
        out = inter / union
    return np.nan_to_num(out, nan=0.0)


def center_errors(pred: Sequence, gt: Sequence) -> np.ndarray:
    """Per-frame distance between box centres in pixels; inf where the prediction is missing."""
    p, g = _as_array(pred), _as_array(gt)
    pc = np.stack([(p[:, 0] + p[:, 2]) / 2, (p[:, 1] + p[:, 3]) / 2], 1)
    gc = np.stack([(g[:, 0] + g[:, 2]) / 2, (g[:, 1] + g[:, 3]) / 2], 1)
    return np.nan_to_num(np.linalg.norm(pc - gc, axis=1), nan=np.inf)


def success_curve(pred: Sequence, gt: Sequence, thresholds: np.ndarray = SUCCESS_THRESHOLDS) -> np.ndarray:
    """Fraction of frames with IoU > t for each threshold t."""
    iou = ious(pred, gt)
    return np.array([(iou > t).mean() if len(iou) else 0.0 for t in thresholds])


def success_auc(pred: Sequence, gt: Sequence) -> float:
    """Area under the success curve (mean over OTB's 21 thresholds), in 0..1."""
    return float(success_curve(pred, gt).mean())


def precision(pred: Sequence, gt: Sequence, threshold_px: float = PRECISION_THRESHOLD_PX) -> float:
    """Fraction of frames with centre error <= threshold_px (OTB's precision at 20 px)."""
    err = center_errors(pred, gt)
    return float((err <= threshold_px).mean()) if len(err) else 0.0


@dataclass
class SotScore:
    auc: float
    precision: float
    mean_iou: float
    lost_frames: int
    frames: int


def score_sequence(pred: Sequence, gt: Sequence) -> SotScore:
    iou = ious(pred, gt)
    return SotScore(
        auc=success_auc(pred, gt),
        precision=precision(pred, gt),
        mean_iou=float(iou.mean()) if len(iou) else 0.0,
        lost_frames=sum(p is None for p in pred),
        frames=len(gt),
    )
