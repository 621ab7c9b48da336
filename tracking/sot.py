"""Single-object tracking ("Auto-Track"): follow one user-drawn box, mask or point set through a video.

One interface chosen by name, like the multi-object trackers::

    sot = create_sot("mil")                 # or csrt, kcf, vit, nano, dasiamrpn, mask-flow, points-lk
    sot.init(frame, shape)                  # box xyxy (4,), boolean mask (H, W) or points (K, 2|3)
    result = sot.update(next_frame)         # SotResult(box, mask, points, confidence, lost, uncertain)

Box trackers are OpenCV's. On their own they report no usable confidence and never notice that they
lost their object, so by default they run inside ``GuardedBoxTracker`` (Trackroom's wrapper):

* confidence = appearance similarity of the current box crop to the template crops (normalised
  cross-correlation of grey patches + HSV histogram correlation), averaged with the tracker's own score
  where it has one (vit, nano, dasiamrpn);
* loss = confidence below ``threshold`` for ``lost_after`` frames, the tracker saying it failed, or the
  box leaving the frame / collapsing;
* re-acquisition = constant-velocity prediction of the box, then the template is searched around the
  prediction (multi-scale ``matchTemplate``) and, when a ``detector(frame) -> Detections`` is given, the
  detection that best matches the template appearance near the prediction is taken. A candidate is only
  accepted when its appearance similarity passes ``reacquire_threshold``. While merely uncertain (not
  yet lost) the wrapper does not jump by default (``drift_below=0``): on PETS09, jumping early swapped
  similar-looking walkers (see benchmarks/sot_benchmark.py).

Frames where ``confidence < threshold`` are marked ``uncertain`` so the UI can flag them for review.

``track_single_object`` is the job-shaped generator (forward or backward, progress, cancel).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from .errors import ModelLoadError, TrackroomError, UnknownNameError, WeightsNotFoundError
from .types import CancelToken, Detections, FrameResult, TrackedObject
from .video import FrameSource


class ShapeError(TrackroomError):
    """The box / mask / points given to start tracking do not fit the video frame."""


# Frames with a confidence below this are "uncertain": the UI shows them for review.
UNCERTAIN_BELOW = 0.45



@dataclass
class SotResult:
    box: np.ndarray | None  # (4,) float xyxy; None while lost
    confidence: float
    lost: bool
    mask: np.ndarray | None = None  # boolean (H, W)
    points: np.ndarray | None = None  # (K, 3) x, y, visibility score
    uncertain: bool = False
    reacquired: bool = False  # this frame's box came from re-acquisition, not from the tracker


@dataclass
class SotFrameResult(FrameResult):
    """A FrameResult with the SOT flags the UI shows (uncertain frames are flagged for review)."""

    uncertain: bool = False
    reacquired: bool = False


# ---------------------------------------------------------------------------------------------- geometry


def box_iou(a: np.ndarray, b: np.ndarray) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return float(inter / union) if union > 0 else 0.0


def _valid_box(box: np.ndarray | None, width: int, height: int, min_side: float = 4.0) -> bool:
    """Inside the frame by at least half its area and not collapsed."""
    if box is None or not np.all(np.isfinite(box)):
        return False
    w, h = box[2] - box[0], box[3] - box[1]
    if w < min_side or h < min_side:
        return False
    clipped = np.array([max(box[0], 0), max(box[1], 0), min(box[2], width), min(box[3], height)])
    cw, ch = clipped[2] - clipped[0], clipped[3] - clipped[1]
    return cw > 0 and ch > 0 and (cw * ch) >= 0.5 * (w * h)


def _clip_box(box: np.ndarray, width: int, height: int) -> np.ndarray:
    return np.array(
        [np.clip(box[0], 0, width - 1), np.clip(box[1], 0, height - 1), np.clip(box[2], 1, width), np.clip(box[3], 1, height)],
        np.float32,
    )


def _xywh(box: np.ndarray) -> tuple[int, int, int, int]:
    x1, y1 = int(round(box[0])), int(round(box[1]))
    return x1, y1, max(1, int(round(box[2])) - x1), max(1, int(round(box[3])) - y1)


def validate_box(box, width: int, height: int) -> np.ndarray:
    """A user box (xyxy) as float32, clipped to the frame; ShapeError when it can't be tracked."""
    b = np.asarray(box, np.float64).reshape(-1)
    if b.size != 4 or not np.all(np.isfinite(b)):
        raise ShapeError("A box needs four numbers (x1, y1, x2, y2).")
    if b[2] - b[0] < 2 or b[3] - b[1] < 2:
        raise ShapeError(f"The box from ({b[0]:.0f}, {b[1]:.0f}) to ({b[2]:.0f}, {b[3]:.0f}) is too small to track (at least 2x2 pixels).")
    if b[2] <= 0 or b[3] <= 0 or b[0] >= width or b[1] >= height:
        raise ShapeError(
            f"The box from ({b[0]:.0f}, {b[1]:.0f}) to ({b[2]:.0f}, {b[3]:.0f}) lies outside the {width}x{height} frame."
        )
    clipped = _clip_box(b, width, height)
    if clipped[2] - clipped[0] < 2 or clipped[3] - clipped[1] < 2:
        raise ShapeError(f"The box lies almost entirely outside the {width}x{height} frame.")
    return clipped


def mask_box(mask: np.ndarray) -> np.ndarray | None:
    ys, xs = np.nonzero(mask)
    if xs.size == 0:
        return None
    return np.array([xs.min(), ys.min(), xs.max() + 1, ys.max() + 1], np.float32)


# ---------------------------------------------------------------------------------------------- appearance


class Appearance:
    """Template appearance of the object: blurred grey patch (for NCC) and HSV histogram (for colour).

    Keeps the first template and a slowly refreshed one, so the score survives gradual change
    (a person turning) without drifting onto the background. The candidate patch is compared with a
    few pixels of slack (max of NCC over small shifts) so a box that is 1-2 px off still scores high."""

    patch_side = 64
    slack = 3  # pixels of the patch grid

    def __init__(self, frame: np.ndarray, box: np.ndarray):
        self.size = self._patch_size(box)
        self.initial = self._describe(frame, box, slack=0)
        self.recent = self.initial
        self.initial_gray_full = self._crop_gray(frame, box)  # native size, for template search

    @staticmethod
    def _crop(frame: np.ndarray, box: np.ndarray) -> np.ndarray | None:
        h, w = frame.shape[:2]
        x1, y1 = int(max(0, np.floor(box[0]))), int(max(0, np.floor(box[1])))
        x2, y2 = int(min(w, np.ceil(box[2]))), int(min(h, np.ceil(box[3])))
        if x2 - x1 < 2 or y2 - y1 < 2:
            return None
        return frame[y1:y2, x1:x2]

    def _crop_gray(self, frame, box):
        crop = self._crop(frame, box)
        return None if crop is None else cv2.cvtColor(crop, cv2.COLOR_BGR2GRAY)

    def _patch_size(self, box) -> tuple[int, int]:
        w, h = max(box[2] - box[0], 1), max(box[3] - box[1], 1)
        s = self.patch_side / max(w, h)
        return max(8, int(round(w * s))), max(8, int(round(h * s)))

    def _describe(self, frame, box, slack: int):
        crop = self._crop(frame, box)
        if crop is None:
            return None
        pw, ph = self.size
        gray_src = frame
        if slack:
            # the same box grown by `slack` patch pixels on each side, resized on the same grid
            sx, sy = (box[2] - box[0]) / pw, (box[3] - box[1]) / ph
            big = np.array([box[0] - slack * sx, box[1] - slack * sy, box[2] + slack * sx, box[3] + slack * sy])
            x1, y1, x2, y2 = (int(round(v)) for v in big)
            h, w = frame.shape[:2]
            pad = max(0, -x1, -y1, x2 - w, y2 - h)
            if pad:
                gray_src = cv2.copyMakeBorder(frame, pad, pad, pad, pad, cv2.BORDER_REPLICATE)
            region = gray_src[y1 + pad : y2 + pad, x1 + pad : x2 + pad]
            out_size = (pw + 2 * slack, ph + 2 * slack)
        else:
            region, out_size = crop, (pw, ph)
        gray = cv2.resize(cv2.cvtColor(region, cv2.COLOR_BGR2GRAY), out_size, interpolation=cv2.INTER_AREA)
        gray = cv2.GaussianBlur(gray, (3, 3), 0).astype(np.float32)
        hsv = cv2.cvtColor(crop, cv2.COLOR_BGR2HSV)
        hist = cv2.calcHist([hsv], [0, 1], None, [16, 16], [0, 180, 0, 256])
        cv2.normalize(hist, hist, 1.0, 0.0, cv2.NORM_L1)
        return gray, hist

    @staticmethod
    def _compare(candidate, template) -> float:
        if candidate is None or template is None:
            return 0.0
        ncc = float(cv2.matchTemplate(candidate[0], template[0], cv2.TM_CCOEFF_NORMED).max())
        hist = float(cv2.compareHist(candidate[1], template[1], cv2.HISTCMP_CORREL))
        ncc = 0.0 if not np.isfinite(ncc) else ncc
        # NCC carries most of the weight: on PETS09 a person's own box scores NCC ~0.4-0.7 against
        # ~0.05 for background boxes, while colour histograms of background often correlate > 0.7
        return float(np.clip(0.65 * max(ncc, 0.0) + 0.35 * max(hist, 0.0), 0.0, 1.0))

    def similarity(self, frame: np.ndarray, box: np.ndarray) -> float:
        d = self._describe(frame, box, slack=self.slack)
        return max(self._compare(d, self.initial), self._compare(d, self.recent))

    def refresh(self, frame: np.ndarray, box: np.ndarray, rate: float = 0.15) -> None:
        d = self._describe(frame, box, slack=0)
        if d is None:
            return
        g = (1 - rate) * self.recent[0] + rate * d[0]
        h = (1 - rate) * self.recent[1] + rate * d[1]
        self.recent = (g.astype(np.float32), h.astype(np.float32))


# ---------------------------------------------------------------------------------------------- trackers


class SingleObjectTracker:
    """Interface: ``init(frame, shape)`` then ``update(frame) -> SotResult`` once per following frame."""

    name = ""
    kind = "box"  # which shape init() takes: "box" | "mask" | "points"

    def init(self, frame: np.ndarray, shape) -> None:
        raise NotImplementedError

    def update(self, frame: np.ndarray) -> SotResult:
        raise NotImplementedError


def _existing(name: str, key: str, value) -> str:
    if not value:
        raise WeightsNotFoundError(
            f"The '{name}' tracker needs a local ONNX model file for '{key}'; give its path (Trackroom never downloads weights)."
        )
    path = Path(value).expanduser()
    if not path.is_file():
        raise WeightsNotFoundError(
            f"The '{name}' tracker's model file {path} ({key}) does not exist; give the path of a local ONNX "
            "file (Trackroom never downloads weights)."
        )
    return str(path)


def _make_opencv_tracker(name: str, params: dict):
    """Build the raw cv2 tracker. Learned trackers only from local ONNX files given by the user."""
    if name == "csrt":
        return cv2.TrackerCSRT_create()
    if name == "kcf":
        return cv2.TrackerKCF_create()
    if name == "mil":
        return cv2.TrackerMIL_create()
    try:
        if name == "vit":
            p = cv2.TrackerVit_Params()
            p.net = _existing(name, "model", params.get("model"))
            return cv2.TrackerVit_create(p)
        if name == "nano":
            p = cv2.TrackerNano_Params()
            p.backbone = _existing(name, "backbone", params.get("backbone"))
            p.neckhead = _existing(name, "neckhead", params.get("neckhead"))
            return cv2.TrackerNano_create(p)
        if name == "dasiamrpn":
            p = cv2.TrackerDaSiamRPN_Params()
            p.model = _existing(name, "model", params.get("model"))
            p.kernel_cls1 = _existing(name, "kernel_cls1", params.get("kernel_cls1"))
            p.kernel_r1 = _existing(name, "kernel_r1", params.get("kernel_r1"))
            return cv2.TrackerDaSiamRPN_create(p)
    except cv2.error as exc:
        raise ModelLoadError(f"OpenCV could not load the '{name}' tracker's ONNX model(s): {exc.msg.strip()}") from None
    raise UnknownNameError("single-object tracker", name, list(SOT_TRACKERS))


class OpenCVBoxTracker(SingleObjectTracker):
    """A bare OpenCV tracker: lost only when OpenCV says so, confidence = its score (1.0 when it has none)."""

    def __init__(self, name: str, **params):
        self.name = name
        self.params = params
        self._tracker = _make_opencv_tracker(name, params)
        self.size = (0, 0)

    def init(self, frame: np.ndarray, shape) -> None:
        h, w = frame.shape[:2]
        self.size = (w, h)
        box = validate_box(shape, w, h)
        self._tracker = _make_opencv_tracker(self.name, self.params)  # fresh state: init may be called again
        self._tracker.init(frame, _xywh(box))

    def raw_update(self, frame: np.ndarray) -> tuple[bool, np.ndarray | None, float | None]:
        try:
            ok, xywh = self._tracker.update(frame)
        except cv2.error:
            return False, None, None
        box = np.array([xywh[0], xywh[1], xywh[0] + xywh[2], xywh[1] + xywh[3]], np.float32) if ok else None
        score = float(self._tracker.getTrackingScore()) if hasattr(self._tracker, "getTrackingScore") else None
        return bool(ok), box, score

    def update(self, frame: np.ndarray) -> SotResult:
        ok, box, score = self.raw_update(frame)
        ok = ok and _valid_box(box, *self.size, min_side=1.0)
        conf = (score if score is not None else 1.0) if ok else 0.0
        return SotResult(box=box if ok else None, confidence=conf, lost=not ok, uncertain=conf < UNCERTAIN_BELOW)


class GuardedBoxTracker(SingleObjectTracker):
    """Trackroom's wrapper: confidence, loss detection and re-acquisition around an OpenCV box tracker.

    Parameters: threshold (uncertain below), lost_after (low-confidence frames before "lost"),
    reacquire_threshold (appearance needed to accept a re-found box), search_radius (in box sizes,
    grows while lost), detector (callable frame -> Detections used for re-acquisition),
    drift_below (re-find even before "lost" when the confidence falls under it; 0 = never).
    """

    def __init__(
        self,
        name: str,
        threshold: float = UNCERTAIN_BELOW,
        lost_after: int = 3,
        reacquire_threshold: float = 0.6,
        search_radius: float = 1.0,
        detector: Callable[[np.ndarray], Detections] | None = None,
        drift_below: float = 0.0,
        **params,
    ):
        self.name = name
        # Before the object is declared lost, jump to a much better template match only when the
        # tracker's box is clearly wrong (conf < drift_below): on PETS09, jumping as soon as the
        # confidence dipped (a passer-by occluding) swapped similar-looking walkers.
        self.drift_below = drift_below
        self.inner = OpenCVBoxTracker(name, **params)
        self.threshold, self.lost_after = threshold, lost_after
        self.reacquire_threshold, self.search_radius = reacquire_threshold, search_radius
        self.detector = detector

    def init(self, frame: np.ndarray, shape) -> None:
        self.inner.init(frame, shape)
        h, w = frame.shape[:2]
        self.size = (w, h)
        self.box = validate_box(shape, w, h)
        self.appearance = Appearance(frame, self.box)
        self.velocity = np.zeros(2, np.float32)  # per-frame motion of the box centre
        self.last_good = self.box.copy()
        self.since_good = 0
        self.low_frames = 0
        self.since_reacquired = 1 << 30
        self.lost = False

    def _predicted(self) -> np.ndarray:
        """Constant-velocity guess of the box: the centre moves on, the size stays the last good one."""
        shift = self.velocity * self.since_good
        return self.last_good + np.array([shift[0], shift[1], shift[0], shift[1]], np.float32)

    def _search(self, frame: np.ndarray, around: np.ndarray) -> tuple[np.ndarray | None, float]:
        """Best box near ``around``: the template by multi-scale matchTemplate, plus detections."""
        candidates: list[np.ndarray] = []
        w, h = around[2] - around[0], around[3] - around[1]
        cx, cy = (around[0] + around[2]) / 2, (around[1] + around[3]) / 2
        # the longer the object is gone, the less the prediction is worth: widen the search (up to 2x)
        radius = self.search_radius * (1.0 + 0.1 * min(self.since_good, 10)) * max(w, h)
        fw, fh = self.size
        template = self.appearance.initial_gray_full
        if template is not None:
            # work at a scale where the template's long side is ~48 px: cheap, still detailed
            s = min(1.0, 48.0 / max(template.shape))
            x1, y1 = int(max(0, cx - w / 2 - radius)), int(max(0, cy - h / 2 - radius))
            x2, y2 = int(min(fw, cx + w / 2 + radius)), int(min(fh, cy + h / 2 + radius))
            if x2 - x1 > 4 and y2 - y1 > 4:
                window = cv2.cvtColor(frame[y1:y2, x1:x2], cv2.COLOR_BGR2GRAY)
                window = cv2.resize(window, None, fx=s, fy=s, interpolation=cv2.INTER_AREA) if s < 1 else window
                th0, tw0 = template.shape
                # sizes around the predicted one, plus the template's own size (the predicted size
                # may come from a tracker that had already started to shrink or grow wrongly)
                for tw, th in sorted({(int(round(w * k * s)), int(round(h * k * s))) for k in (0.9, 1.0, 1.1)} | {
                    (int(round(tw0 * s)), int(round(th0 * s)))
                }):
                    if tw < 4 or th < 4 or tw > window.shape[1] or th > window.shape[0]:
                        continue
                    t = cv2.resize(template, (tw, th), interpolation=cv2.INTER_AREA)
                    res = cv2.matchTemplate(window, t, cv2.TM_CCOEFF_NORMED)
                    _, _, _, (mx, my) = cv2.minMaxLoc(res)
                    bx, by = x1 + mx / s, y1 + my / s
                    candidates.append(np.array([bx, by, bx + tw / s, by + th / s], np.float32))
        if self.detector is not None:
            # detections are few and plausible objects, so they may be looked for 3x further out
            # than the template (e.g. the object came back from behind something off its old course)
            reach = 3.0 * radius
            dets = self.detector(frame)
            for box in getattr(dets, "xyxy", np.zeros((0, 4))):
                bcx, bcy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
                if abs(bcx - cx) <= reach + w / 2 and abs(bcy - cy) <= reach + h / 2:
                    candidates.append(np.asarray(box, np.float32))
        best, best_sim = None, -1.0
        for box in candidates:
            if not _valid_box(box, fw, fh):
                continue
            sim = self.appearance.similarity(frame, box)
            if sim > best_sim:
                best, best_sim = box, sim
        return best, best_sim

    def update(self, frame: np.ndarray) -> SotResult:
        fw, fh = self.size
        self.since_good += 1
        reacquired = False
        if not self.lost:
            ok, box, score = self.inner.raw_update(frame)
            ok = ok and _valid_box(box, fw, fh)
            sim = self.appearance.similarity(frame, box) if ok else 0.0
            conf = sim if score is None else 0.5 * sim + 0.5 * float(np.clip(score, 0, 1))
            if conf < self.drift_below:
                # the tracker is unsure or drifted: look for the template around the motion prediction
                found, found_sim = self._search(frame, self._predicted() if not ok else box)
                # jump only for a much better match: occlusion by a passer-by also lowers conf on
                # the right box, and on PETS09 eager jumps swapped people more often than they helped
                if found is not None and found_sim >= max(self.reacquire_threshold, conf + 0.3):
                    box, conf, ok, reacquired = found, found_sim, True, True
                    self.inner.init(frame, _clip_box(found, fw, fh))
            self.low_frames = self.low_frames + 1 if conf < self.threshold or not ok else 0
            if not ok or self.low_frames >= self.lost_after:
                self.lost = True
                return SotResult(box=None, confidence=conf, lost=True, uncertain=True)
        else:
            found, found_sim = self._search(frame, self._predicted())
            if found is None or found_sim < self.reacquire_threshold:
                return SotResult(box=None, confidence=max(found_sim, 0.0), lost=True, uncertain=True)
            box, conf, reacquired = found, found_sim, True
            self.inner.init(frame, _clip_box(found, fw, fh))
            self.lost = False
            self.low_frames = 0
        box = _clip_box(box, fw, fh)
        self.since_reacquired = 0 if reacquired else self.since_reacquired + 1
        if conf >= self.threshold:
            if not reacquired:  # velocity from the tracker's own steps only: re-finds jump
                moved = (box[:2] + box[2:]) / 2 - (self.last_good[:2] + self.last_good[2:]) / 2
                self.velocity = 0.6 * self.velocity + 0.4 * (moved / max(self.since_good, 1)).astype(np.float32)
            self.last_good, self.since_good = box.copy(), 0
            if conf >= 0.7 and self.since_reacquired > 5:  # never learn the look of a wrong re-find
                self.appearance.refresh(frame, box, rate=0.1)
        return SotResult(box=box, confidence=float(conf), lost=False, uncertain=conf < self.threshold, reacquired=reacquired)


class MaskFlowTracker(SingleObjectTracker):
    """Propagates a binary mask with DIS dense optical flow (backward flow warps the previous mask),
    then refines it: morphological close, largest connected component, and GrabCut inside the
    mask's window every ``grabcut_every`` frames (0 = never; on a PETS09 walker it kept the legs
    that flow alone loses, for ~4 ms per frame more). Flow is computed only in a window around the
    mask. Confidence = appearance of the mask's box vs the template, damped by sudden area change;
    lost when the area falls below ``min_area_ratio`` of the first one or the confidence stays
    under ``threshold`` for ``lost_after`` frames (a lost mask is not re-acquired).
    """

    name = "mask-flow"
    kind = "mask"

    def __init__(self, threshold: float = UNCERTAIN_BELOW, lost_after: int = 3, min_area_ratio: float = 0.2,
                 grabcut_every: int = 3, **_):
        self.threshold, self.lost_after = threshold, lost_after
        self.min_area_ratio, self.grabcut_every = min_area_ratio, grabcut_every
        # MEDIUM: FAST's coarser patches bleed the flow across object edges and the mask erodes
        self._dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)

    def init(self, frame: np.ndarray, shape) -> None:
        h, w = frame.shape[:2]
        mask = np.asarray(shape).astype(bool)
        if mask.shape != (h, w):
            raise ShapeError(f"The mask is {mask.shape[1]}x{mask.shape[0]} but the frame is {w}x{h}.")
        if mask.sum() < 16:
            raise ShapeError("The mask is empty or too small to track (fewer than 16 pixels).")
        self.size = (w, h)
        self.mask = mask
        self.area0 = float(mask.sum())
        self.prev_gray = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
        self.appearance = Appearance(frame, mask_box(mask))
        self.frames = 0
        self.low_frames = 0
        self.lost = False

    def _refine(self, frame: np.ndarray, mask: np.ndarray, roi) -> np.ndarray:
        x1, y1, x2, y2 = roi
        sub = mask[y1:y2, x1:x2].astype(np.uint8)
        sub = cv2.morphologyEx(sub, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (5, 5)))
        n, labels, stats, _ = cv2.connectedComponentsWithStats(sub, connectivity=8)
        if n > 2:  # keep the largest component (label 0 is background)
            sub = (labels == 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))).astype(np.uint8)
        if self.grabcut_every and self.frames % self.grabcut_every == 0 and sub.sum() > 64:
            gc = np.where(sub > 0, cv2.GC_PR_FGD, cv2.GC_PR_BGD).astype(np.uint8)
            core = cv2.erode(sub, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (7, 7)))
            gc[core > 0] = cv2.GC_FGD
            try:
                bgd, fgd = np.zeros((1, 65), np.float64), np.zeros((1, 65), np.float64)
                cv2.grabCut(np.ascontiguousarray(frame[y1:y2, x1:x2]), gc, None, bgd, fgd, 1, cv2.GC_INIT_WITH_MASK)
                refined = np.isin(gc, (cv2.GC_FGD, cv2.GC_PR_FGD)).astype(np.uint8)
                if 0.5 * sub.sum() < refined.sum() < 1.5 * sub.sum():  # GrabCut can collapse or spill: keep flow then
                    sub = refined
            except cv2.error:
                pass
        out = np.zeros_like(mask)
        out[y1:y2, x1:x2] = sub > 0
        return out

    def update(self, frame: np.ndarray) -> SotResult:
        fw, fh = self.size
        gray = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
        self.frames += 1
        if self.lost:
            self.prev_gray = gray
            return SotResult(box=None, confidence=0.0, lost=True, uncertain=True)
        box = mask_box(self.mask)
        bw, bh = box[2] - box[0], box[3] - box[1]
        margin = max(24.0, 0.5 * max(bw, bh))
        x1, y1 = int(max(0, box[0] - margin)), int(max(0, box[1] - margin))
        x2, y2 = int(min(fw, box[2] + margin)), int(min(fh, box[3] + margin))
        # backward flow: for each pixel of this frame, where it was in the previous frame
        flow = self._dis.calc(np.ascontiguousarray(gray[y1:y2, x1:x2]), np.ascontiguousarray(self.prev_gray[y1:y2, x1:x2]), None)
        gx, gy = np.meshgrid(np.arange(x2 - x1, dtype=np.float32), np.arange(y2 - y1, dtype=np.float32))
        prev_sub = self.mask[y1:y2, x1:x2].astype(np.float32)
        warped = cv2.remap(prev_sub, gx + flow[..., 0], gy + flow[..., 1], cv2.INTER_LINEAR, borderValue=0)
        core = warped > 0.9
        if core.any():
            # average the per-pixel warp with a warp by the object's median motion: flow is smoothed
            # across the object's edges, so the per-pixel warp alone erodes the mask frame after frame
            d = -np.median(flow[core], axis=0)
            shifted = cv2.warpAffine(prev_sub, np.float32([[1, 0, d[0]], [0, 1, d[1]]]), (x2 - x1, y2 - y1))
            warped = 0.5 * (warped + shifted)
        mask = np.zeros_like(self.mask)
        mask[y1:y2, x1:x2] = warped > 0.5
        mask = self._refine(frame, mask, (x1, y1, x2, y2))
        self.prev_gray = gray
        new_box = mask_box(mask)
        area = float(mask.sum())
        if new_box is None or area < self.min_area_ratio * self.area0 or not _valid_box(new_box, fw, fh, 2.0):
            self.lost = True
            return SotResult(box=None, confidence=0.0, lost=True, uncertain=True)
        # appearance, damped when the area jumps (a warp that bled into the background)
        conf = self.appearance.similarity(frame, new_box) * min(1.0, area / max(self.mask.sum(), 1), self.mask.sum() / area) ** 0.5
        self.low_frames = self.low_frames + 1 if conf < self.threshold else 0
        if self.low_frames >= self.lost_after:
            self.lost = True
            return SotResult(box=None, confidence=conf, lost=True, uncertain=True)
        self.mask = mask
        if conf >= 0.6:  # follow gradual change of look (a walker's limbs), as the box wrapper does
            self.appearance.refresh(frame, new_box, rate=0.1)
        return SotResult(box=new_box, mask=mask, confidence=float(conf), lost=False, uncertain=conf < self.threshold)


class PointsFlowTracker(SingleObjectTracker):
    """Pyramidal Lucas-Kanade per point with a forward-backward check (per-point visibility score).
    Confidence = mean point score (uncertain below ``threshold``); lost when fewer than
    ``min_visible`` of the points survive for ``lost_after`` frames.

    With ``pose_model`` (callable frame -> Detections with keypoints, e.g. a YOLO pose model) and a
    17-point COCO skeleton, points snap to the pose detection whose keypoints match them best."""

    name = "points-lk"
    kind = "points"

    def __init__(self, fb_threshold: float = 1.5, threshold: float = UNCERTAIN_BELOW, lost_after: int = 3,
                 min_visible: float = 0.25,
                 pose_model: Callable[[np.ndarray], Detections] | None = None, pose_every: int = 1,
                 snap_distance: float = 0.2, keypoint_threshold: float = 0.4, **_):
        self.fb_threshold, self.threshold, self.lost_after = fb_threshold, threshold, lost_after
        self.min_visible = min_visible  # lost when fewer than this fraction of points is visible
        self.pose_model, self.pose_every = pose_model, max(1, pose_every)
        self.snap_distance, self.keypoint_threshold = snap_distance, keypoint_threshold
        self.lk = dict(winSize=(21, 21), maxLevel=3, criteria=(cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, 30, 0.01))

    def init(self, frame: np.ndarray, shape) -> None:
        h, w = frame.shape[:2]
        pts = np.asarray(shape, np.float32)
        if pts.ndim != 2 or pts.shape[1] not in (2, 3) or len(pts) == 0:
            raise ShapeError("Points must be a list of (x, y) or (x, y, visibility) rows.")
        vis = pts[:, 2] > 0 if pts.shape[1] == 3 else np.ones(len(pts), bool)
        inside = (pts[:, 0] >= 0) & (pts[:, 0] < w) & (pts[:, 1] >= 0) & (pts[:, 1] < h)
        if not np.any(vis & inside):
            raise ShapeError(f"No point lies inside the {w}x{h} frame.")
        self.size = (w, h)
        self.active = vis  # points the user placed; the others are never tracked
        self.points = np.concatenate([pts[:, :2], (vis & inside)[:, None].astype(np.float32)], axis=1)
        self.prev_gray = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
        self.frames = 0
        self.low_frames = 0
        self.lost = False

    def _snap(self, frame: np.ndarray, pts: np.ndarray) -> tuple[np.ndarray, bool]:
        dets = self.pose_model(frame)
        kps = getattr(dets, "keypoints", None)
        if kps is None or len(dets) == 0 or kps.shape[1] != len(pts):
            return pts, False
        seen = pts[:, 2] > 0
        best, best_d = -1, np.inf
        for i in range(len(dets)):
            box = dets.xyxy[i]
            scale = max(float(np.hypot(box[2] - box[0], box[3] - box[1])), 1.0)
            both = seen & (kps[i, :, 2] >= self.keypoint_threshold)
            if both.sum() < 3:
                continue
            d = float(np.mean(np.linalg.norm(kps[i, both, :2] - pts[both, :2], axis=1))) / scale
            if d < best_d:
                best, best_d = i, d
        if best < 0 or best_d > self.snap_distance:
            return pts, False
        out = pts.copy()
        good = kps[best, :, 2] >= self.keypoint_threshold
        out[good, :2] = kps[best, good, :2]
        out[good, 2] = kps[best, good, 2]
        return out, True

    def update(self, frame: np.ndarray) -> SotResult:
        fw, fh = self.size
        gray = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
        self.frames += 1
        idx = np.flatnonzero(self.active)
        p0 = self.points[idx, :2].reshape(-1, 1, 2).astype(np.float32)
        p1, st1, _ = cv2.calcOpticalFlowPyrLK(self.prev_gray, gray, p0, None, **self.lk)
        p0b, st2, _ = cv2.calcOpticalFlowPyrLK(gray, self.prev_gray, p1, None, **self.lk)
        fb = np.linalg.norm((p0 - p0b).reshape(-1, 2), axis=1)
        p1 = p1.reshape(-1, 2)
        ok = (st1.ravel() == 1) & (st2.ravel() == 1) & (fb < self.fb_threshold)
        ok &= (p1[:, 0] >= 0) & (p1[:, 0] < fw) & (p1[:, 1] >= 0) & (p1[:, 1] < fh)
        pts = self.points.copy()
        if ok.any():
            # points that failed move with the others (median motion) so they can be picked up again
            shift = np.median(p1[ok] - p0.reshape(-1, 2)[ok], axis=0)
            new = np.where(ok[:, None], p1, p0.reshape(-1, 2) + shift)
        else:
            new = p0.reshape(-1, 2)
        pts[idx, :2] = new
        pts[idx, 2] = np.where(ok, np.exp(-fb / self.fb_threshold), 0.0)
        snapped = False
        if self.pose_model is not None and self.frames % self.pose_every == 0:
            pts, snapped = self._snap(frame, pts)
        self.prev_gray = gray
        self.points = pts
        conf = float(np.mean(pts[idx, 2]))  # mean per-point score; an invisible point scores 0
        visible = pts[idx][pts[idx, 2] > 0]
        too_few = len(visible) < self.min_visible * len(idx)
        self.low_frames = self.low_frames + 1 if too_few else 0
        if self.low_frames >= self.lost_after or len(visible) == 0:
            return SotResult(box=None, points=pts, confidence=conf, lost=True, uncertain=True)
        box = np.array([visible[:, 0].min(), visible[:, 1].min(), visible[:, 0].max() + 1, visible[:, 1].max() + 1], np.float32)
        return SotResult(box=box, points=pts, confidence=conf, lost=False, uncertain=conf < self.threshold, reacquired=snapped)


# ---------------------------------------------------------------------------------------------- registry

BOX_TRACKERS = ["csrt", "kcf", "mil", "vit", "nano", "dasiamrpn"]
SOT_TRACKERS = {**{n: "box" for n in BOX_TRACKERS}, "mask-flow": "mask", "points-lk": "points"}
DEFAULT_FOR_KIND = {"box": "mil", "mask": "mask-flow", "points": "points-lk"}


def create_sot(name: str = "mil", guard: bool = True, **params) -> SingleObjectTracker:
    """A single-object tracker by name. Box trackers come wrapped in GuardedBoxTracker (confidence,
    loss detection, re-acquisition) unless ``guard=False`` (the bare OpenCV tracker).
    vit: model=PATH; nano: backbone=PATH, neckhead=PATH; dasiamrpn: model=, kernel_cls1=, kernel_r1=
    (local ONNX files; a missing one raises WeightsNotFoundError)."""
    if name not in SOT_TRACKERS:
        raise UnknownNameError("single-object tracker", name, list(SOT_TRACKERS))
    if name == "mask-flow":
        return MaskFlowTracker(**params)
    if name == "points-lk":
        if "detector" in params and "pose_model" not in params:
            params["pose_model"] = params.pop("detector")
        return PointsFlowTracker(**params)
    if guard:
        return GuardedBoxTracker(name, **params)
    params.pop("detector", None)
    return OpenCVBoxTracker(name, **params)


# ---------------------------------------------------------------------------------------------- job


def iter_frames(source: FrameSource, start: int, stop: int, block: int = 32) -> Iterator[tuple[int, np.ndarray]]:
    """Frames start..stop inclusive, in either direction. Backward decodes ``block`` frames forward
    and hands them out reversed (decoders can only go forward; one seek per block)."""
    if stop >= start:
        yield from source.frames(start, stop + 1)
        return
    hi = start
    while hi >= stop:
        lo = max(stop, hi - block + 1)
        chunk = list(source.frames(lo, hi + 1))
        yield from reversed(chunk)
        hi = lo - 1


def track_single_object(
    source: FrameSource,
    start_frame: int,
    shape,
    kind: str = "box",
    direction: str = "forward",
    stop_frame: int | None = None,
    tracker: str | None = None,
    cancel: CancelToken | None = None,
    detector: Callable[[np.ndarray], Detections] | None = None,
    stop_on_loss: bool = True,
    **params,
) -> Iterator[SotFrameResult]:
    """Track one object from ``start_frame`` (where ``shape`` is given) towards ``stop_frame``
    (inclusive; default: the video's last frame going forward, frame 0 going backward).

    shape: box xyxy for kind="box", boolean (H, W) mask for "mask", (K, 2|3) points for "points".
    tracker: a name from SOT_TRACKERS matching the kind; None = "mil" / "mask-flow" / "points-lk".
    detector: for boxes, detections used to re-acquire a lost object; for points, a pose model whose
    keypoints the points snap to.

    Yields one SotFrameResult per frame, the start frame first (the user's own shape, conf 1.0).
    It ends — without raising — at stop_frame, at the video's first/last frame, on the first lost
    frame when ``stop_on_loss`` (that frame is yielded with ``lost=True`` and no objects), or when
    ``cancel`` is set (checked between frames; ``done < total`` on the last result tells the caller).
    Raises ShapeError / UnknownNameError / WeightsNotFoundError before the first frame for bad input.
    """
    if kind not in DEFAULT_FOR_KIND:
        raise UnknownNameError("shape kind", kind, list(DEFAULT_FOR_KIND))
    if direction not in ("forward", "backward"):
        raise UnknownNameError("direction", direction, ["forward", "backward"])
    tracker = tracker or DEFAULT_FOR_KIND[kind]
    if SOT_TRACKERS.get(tracker, kind) != kind:
        valid = [n for n, k in SOT_TRACKERS.items() if k == kind]
        raise UnknownNameError(f"{kind} tracker", tracker, valid)
    n = source.info.frame_count
    if not 0 <= start_frame < n:
        raise ShapeError(f"Frame {start_frame} is outside the video (frames 0..{n - 1}).")
    last = (n - 1 if direction == "forward" else 0) if stop_frame is None else int(np.clip(stop_frame, 0, n - 1))
    if (direction == "forward" and last < start_frame) or (direction == "backward" and last > start_frame):
        raise ShapeError(f"Frame {stop_frame} is not {'after' if direction == 'forward' else 'before'} the start frame {start_frame}.")
    total = abs(last - start_frame) + 1
    sot = create_sot(tracker, detector=detector, **params)
    done = 0
    for index, frame in iter_frames(source, start_frame, last):
        if cancel is not None and cancel.cancelled:
            return
        done += 1
        if done == 1:
            sot.init(frame, shape)
            result = _initial_result(sot, shape)
        else:
            result = sot.update(frame)
        objects = []
        if not result.lost and result.box is not None:
            objects.append(
                TrackedObject(
                    track_id=1, xyxy=np.asarray(result.box, np.float32), conf=float(result.confidence), cls=-1,
                    mask=result.mask, keypoints=result.points,
                )
            )
        yield SotFrameResult(
            frame_index=index, objects=objects, done=done, total=total, lost=result.lost,
            uncertain=result.uncertain, reacquired=result.reacquired,
        )
        if result.lost and stop_on_loss:
            return


def _initial_result(sot: SingleObjectTracker, shape) -> SotResult:
    if isinstance(sot, MaskFlowTracker):
        return SotResult(box=mask_box(sot.mask), mask=sot.mask, confidence=1.0, lost=False)
    if isinstance(sot, PointsFlowTracker):
        vis = sot.points[sot.points[:, 2] > 0]
        box = np.array([vis[:, 0].min(), vis[:, 1].min(), vis[:, 0].max() + 1, vis[:, 1].max() + 1], np.float32)
        return SotResult(box=box, points=sot.points.copy(), confidence=1.0, lost=False)
    w, h = sot.size
    return SotResult(box=validate_box(shape, w, h), confidence=1.0, lost=False)
