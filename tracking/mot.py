"""Multi-object trackers behind one contract: ``update(Detections, frame) -> list[TrackedObject]``.

Every box tracker of boxmot 25 is available by its boxmot name, plus ``"trackroom"``: Trackroom's
recommended configuration (BoostTrack with frame-rate-aware parameters and a weight-free colour
appearance model, see ``recommended_params``), meant to be followed by ``tracking.postprocess``
when the whole video is tracked, and ``"reid"``: the same association with a learned appearance
model instead of the colour histograms (``reid_model=`` a file from ``trackroom reid-train`` /
``tracking.reid.train.train_reid``, or ``"imagenet"``; see ``tracking.reid``).

Parameters come from boxmot's own ``configs/trackers/<name>.yaml`` (its defaults and tuning
ranges), overlaid by Trackroom's defaults:

* offline and light on a 2-core CPU: appearance off (with embeddings on and no model boxmot would
  download OSNet weights on the first update), camera-motion compensation off (10x the cost per
  frame; the product's videos are mostly from fixed cameras). Ask for them explicitly:
  ``appearance="colour"`` (weight-free colour histograms, ``ColourHistogramEmbedder``) or
  ``reid_weights=<local file>`` (a ReID network), ``use_cmc=True`` / ``cmc_off=False``.
* with ``tuned=True`` (the default) frame-count parameters are derived from durations in seconds
  and the video's frame rate (``fps``): boxmot's defaults are frame counts tuned for 30 fps MOT17
  and mean three or four times longer at 7 fps. ``tuned=False`` keeps boxmot's values (benchmarks).

``sam2mot`` is not offered: it segments with SAM2, whose weights no registry package carries and
Trackroom never downloads.
"""

from __future__ import annotations

import inspect
import logging
import math
from pathlib import Path
from typing import Any

import numpy as np

from .errors import TrackroomError, UnknownNameError, WeightsNotFoundError
from .types import Detections, TrackedObject

BOXMOT_TRACKERS = [
    "botsort",
    "bytetrack",
    "ocsort",
    "deepocsort",
    "strongsort",
    "boosttrack",
    "hybridsort",
    "occluboost",
    "sfsort",
]
RECOMMENDED_NAME = "trackroom"
REID_NAME = "reid"  # the recommended association + a learned appearance model (tracking.reid)
DEFAULT_REID_WEIGHT = 1.0  # the learned embedding alone; see MixedAppearance
TRACKERS = [RECOMMENDED_NAME, REID_NAME, *BOXMOT_TRACKERS]
UNSUPPORTED = {
    "sam2mot": "sam2mot needs SAM2 segmentation weights, which no installed package carries and Trackroom "
    "never downloads.",
}
DEFAULT_FPS = 30.0  # when the caller does not know the frame rate: boxmot's own reference rate

# Trackers whose appearance model cannot be switched off.
_REID_REQUIRED = {"strongsort"}
# Constructor arguments handled by Trackroom (ReID model) or meaningless here (geometry, classes).
_RESERVED = {"self", "kwargs", "reid_model", "reid_weights", "device", "half", "reid_preprocess", "is_obb",
             "class_names", "class_ids"}

# Offline / CPU overrides applied to boxmot's defaults for every preset.
_OFFLINE_CPU = {
    "botsort": {"use_cmc": False, "use_embeddings": False},
    "deepocsort": {"cmc_off": True, "use_embeddings": False},
    "boosttrack": {"use_cmc": False, "use_embeddings": False},
    "occluboost": {"use_cmc": False, "use_embeddings": False},
    "hybridsort": {"use_embeddings": False, "cmc_method": None},  # None: no camera-motion compensation
}


class TrackerConfigError(TrackroomError):
    """A tracker parameter is unknown or has a value the tracker refuses."""


APPEARANCES = ("none", "colour", "reid")


class ColourHistogramEmbedder:
    """Weight-free appearance: HSV colour histograms of the upper and lower half of a person box.

    A ReID network needs weights that no registry package carries, but clothing colour already
    separates most people who cross each other. Each box gives two histograms (torso: 15-50 % of
    the height, legs: 50-95 %; the central 60 % of the width, because detector boxes carry
    background at the sides) of hue x saturation (8 x 4 bins) plus value (8 bins), normalised and
    square-rooted so that the cosine similarity boxmot computes is the Bhattacharyya coefficient.
    boxmot calls ``get_features(boxes, image)`` like a ReID backend. About 0.1 ms per box.
    """

    HUE_BINS, SAT_BINS, VAL_BINS = 8, 4, 8
    BANDS = ((0.15, 0.5), (0.5, 0.95))

    @property
    def dim(self) -> int:
        return len(self.BANDS) * (self.HUE_BINS * self.SAT_BINS + self.VAL_BINS)

    def get_features(self, boxes: np.ndarray, image: np.ndarray) -> np.ndarray:
        import cv2

        height, width = image.shape[:2]
        hsv = cv2.cvtColor(image, cv2.COLOR_BGR2HSV)
        out = np.full((len(boxes), self.dim), 1.0 / self.dim, np.float32)
        for i, (x1, y1, x2, y2) in enumerate(np.asarray(boxes, np.float64)[:, :4]):
            x1, x2 = int(max(0, x1)), int(min(width, x2))
            y1, y2 = int(max(0, y1)), int(min(height, y2))
            w, h = x2 - x1, y2 - y1
            if w < 5 or h < 8:
                continue  # off-image or tiny: a flat histogram matches nothing in particular
            cx1, cx2 = x1 + w // 5, x2 - w // 5
            parts = []
            for top, bottom in self.BANDS:
                patch = hsv[y1 + int(top * h) : y1 + int(bottom * h), cx1:cx2]
                hs = cv2.calcHist([patch], [0, 1], None, [self.HUE_BINS, self.SAT_BINS], [0, 180, 0, 256]).ravel()
                v = cv2.calcHist([patch], [2], None, [self.VAL_BINS], [0, 256]).ravel()
                hist = np.concatenate([hs, v])
                parts.append(np.sqrt(hist / max(hist.sum(), 1e-9)))
            out[i] = np.concatenate(parts)
        return out + 1e-6  # never a zero vector (boxmot refuses zero-norm embeddings)


class MixedAppearance:
    """The "reid" tracker's appearance cue: the learned embedding, optionally mixed with the colour
    histograms, each L2-normalised and weighted so that the cosine boxmot computes is
    ``reid_weight * cosine(learned) + (1 - reid_weight) * cosine(colour)``.

    Default 1 (learned only): on PETS09 (benchmarks/reid_quality.py, three training seeds) models
    trained for 600 steps did slightly better alone than mixed 0.3/0.7 with colour; for 300-step
    models the mix was better. The option stays for short trainings.
    """

    def __init__(self, model: Any, reid_weight: float) -> None:
        self.model = model
        self.reid_weight = float(reid_weight)
        self.colour = ColourHistogramEmbedder() if self.reid_weight < 1 else None

    def get_features(self, boxes: np.ndarray, image: np.ndarray) -> np.ndarray:
        learned = self.model.get_features(boxes, image)
        if self.colour is None:
            return learned
        colour = self.colour.get_features(boxes, image)
        colour = colour / np.linalg.norm(colour, axis=1, keepdims=True)
        return np.concatenate(
            [np.sqrt(self.reid_weight) * learned, np.sqrt(1 - self.reid_weight) * colour], axis=1
        ).astype(np.float32)


# --------------------------------------------------------------------------------------------
# Frame-rate-aware parameters
# --------------------------------------------------------------------------------------------

# Durations Trackroom reasons in; converted to frames with the video's fps.
KEEP_LOST_S = 3.0  # a person hidden behind another for ~3 s keeps their ID
CONFIRM_S = 0.1  # a new track needs detections spanning 0.1 s ...
CONFIRM_MIN_FRAMES = 2  # ... and at least two of them, whatever the frame rate
VELOCITY_WINDOW_S = 0.1  # OC-SORT's delta_t (3 frames at 30 fps): look-back for the direction of motion


def _frames(seconds: float, fps: float, minimum: int = 1) -> int:
    return max(minimum, int(round(seconds * fps)))


def fps_aware_params(name: str, fps: float | None = None) -> dict[str, Any]:
    """Trackroom's frame-rate-aware overrides of boxmot's defaults for one tracker.

    boxmot's defaults are frame counts tuned on 25-30 fps video. Only parameters that really are
    durations are rescaled; everything else keeps boxmot's tuned values:

    * how long a lost track is kept (``max_age`` / ``track_buffer`` / sfsort timeouts): 3 s, long
      enough for a walker to pass behind another;
    * hits that confirm a new track (``min_hits`` / ``n_init``): 0.1 s but never fewer than two
      detections: one detection is no evidence against a false positive at any frame rate, and at
      30 fps 0.1 s is boxmot's own default of 3 frames;
    * OC-SORT-family ``delta_t`` (velocity look-back): 0.1 s, i.e. its 3 frames at 30 fps; at 7 fps
      that is one frame, and one frame of walking already moves a box ~15 % of its width, far above
      the detection noise;
    * ByteTrack/BoT-SORT ``frame_rate``: they scale their buffer by frame_rate / 30 themselves.
    """
    name = _check_name(name)
    if name in (RECOMMENDED_NAME, REID_NAME):
        return recommended_params(fps)
    fps = float(fps or DEFAULT_FPS)
    keep = _frames(KEEP_LOST_S, fps)
    confirm = _frames(CONFIRM_S, fps, CONFIRM_MIN_FRAMES)
    if name in ("bytetrack", "botsort"):
        # their buffer is track_buffer * frame_rate / 30 frames: express 3 s at the 30 fps reference
        return {"frame_rate": max(1, int(round(fps))), "track_buffer": int(round(KEEP_LOST_S * 30))}
    if name in ("ocsort", "deepocsort", "hybridsort"):
        return {"max_age": keep, "min_hits": confirm, "delta_t": _frames(VELOCITY_WINDOW_S, fps)}
    if name in ("boosttrack", "occluboost"):
        return {"max_age": keep, "min_hits": confirm}
    if name == "strongsort":
        return {"max_age": keep, "n_init": confirm}
    if name == "sfsort":
        # frames a lost track survives near the image border / in the centre (0 = sfsort's own rule)
        return {"marginal_timeout": _frames(KEEP_LOST_S / 3, fps), "central_timeout": keep}
    return {}


RECOMMENDED_BASE = "boosttrack"


def recommended_params(fps: float | None = None) -> dict[str, Any]:
    """Parameters of Trackroom's recommended configuration: BoostTrack with weight-free colour
    appearance and the frame-rate-aware durations of ``fps_aware_params``.

    Why BoostTrack: its association mixes IoU with Mahalanobis distance and box-shape similarity
    (less brittle than IoU alone when a box jumps 15-30 % of its width between frames at low fps),
    boosts the scores of low-confidence detections that sit where a track is expected (partly
    occluded walkers), and weighs appearance by detection confidence, so colour histograms help
    without dominating. Camera-motion compensation stays off (fixed cameras, 10x the CPU cost).
    Offline, ``tracking.postprocess.postprocess_tracks`` then stitches, interpolates and drops
    short tracks.
    """
    fps = float(fps or DEFAULT_FPS)
    return {
        "max_age": _frames(KEEP_LOST_S, fps),
        "min_hits": _frames(CONFIRM_S, fps, CONFIRM_MIN_FRAMES),
        "use_cmc": False,
        "use_embeddings": True,
    }


# --------------------------------------------------------------------------------------------
# Parameter discovery
# --------------------------------------------------------------------------------------------


def _check_name(name: str) -> str:
    if name in UNSUPPORTED:
        error = UnknownNameError("tracker", name, TRACKERS)
        error.args = (f"{error} ({UNSUPPORTED[name]})",)
        raise error
    if name not in TRACKERS:
        raise UnknownNameError("tracker", name, TRACKERS)
    return name


def _boxmot_name(name: str) -> str:
    return RECOMMENDED_BASE if name in (RECOMMENDED_NAME, REID_NAME) else name


def _quiet_boxmot(verbose: bool) -> None:
    # boxmot logs a rich table of parameters on every construction
    logging.getLogger("boxmot").setLevel(logging.INFO if verbose else logging.WARNING)


def _schema(boxmot_name: str) -> dict[str, dict[str, Any]]:
    """boxmot's yaml entries (default + tuning metadata), nested ``activates`` flattened."""
    from boxmot.trackers.config import load_tracker_schema

    flat: dict[str, dict[str, Any]] = {}

    def visit(entries: dict[str, Any], parent: str | None) -> None:
        for key, details in entries.items():
            info = {k: v for k, v in details.items() if k != "activates"}
            if parent:
                info["requires"] = parent
            flat[key] = info
            if isinstance(details.get("activates"), dict):
                visit(details["activates"], key)

    visit(load_tracker_schema(boxmot_name), None)
    return flat


def _signature_defaults(boxmot_name: str) -> dict[str, Any]:
    from boxmot.trackers.base import BaseTracker
    from boxmot.trackers.registry import get_tracker_class

    out: dict[str, Any] = {}
    for cls in (BaseTracker, get_tracker_class(boxmot_name)):
        for p in inspect.signature(cls.__init__).parameters.values():
            if p.name in _RESERVED or p.kind in (p.VAR_KEYWORD, p.VAR_POSITIONAL):
                continue
            out[p.name] = None if p.default is inspect.Parameter.empty else p.default
    return out


def _defaults(name: str, fps: float | None, tuned: bool) -> dict[str, Any]:
    from boxmot.trackers.config import load_tracker_defaults

    boxmot_name = _boxmot_name(name)
    values = dict(load_tracker_defaults(boxmot_name))
    values.update(_OFFLINE_CPU.get(boxmot_name, {}))
    if tuned or name in (RECOMMENDED_NAME, REID_NAME):
        values.update(fps_aware_params(name, fps))
    return values


def tracker_params(name: str, fps: float | None = None, tuned: bool = True) -> dict[str, dict[str, Any]]:
    """Parameters one tracker accepts: ``{param: {"default": v, "type": ..., "range"/"options": ...}}``.

    ``default`` is the value ``create_tracker(name, fps=fps, tuned=tuned)`` uses. Type and range
    metadata come from boxmot's tuning schema where it has one. ``reid_weights`` (a local file) is
    listed for trackers that can use an appearance model.
    """
    name = _check_name(name)
    boxmot_name = _boxmot_name(name)
    schema = _schema(boxmot_name)
    signature = _signature_defaults(boxmot_name)
    defaults = _defaults(name, fps, tuned)
    out: dict[str, dict[str, Any]] = {}
    for key in [*schema, *(k for k in defaults if k not in schema)]:
        info = dict(schema.get(key, {}))
        info["default"] = defaults.get(key, signature.get(key))
        if "options" in info and info["default"] not in info["options"]:
            info["options"] = [info["default"], *info["options"]]  # e.g. hybridsort cmc_method None = off
        info.setdefault("type", type(info["default"]).__name__)
        out[key] = info
    # extra constructor arguments the yaml does not list (e.g. max_obs, per_class)
    for key, value in signature.items():
        if key not in out and not key.startswith("kf_") and key != "variable_dt":
            out[key] = {"default": value, "type": type(value).__name__}
    if name == REID_NAME:
        out["reid_model"] = {
            "default": "imagenet",
            "type": "path",
            "help": "a model file from `trackroom reid-train` (self-supervised on your videos), or 'imagenet' "
            "(MobileNetV2 ImageNet features); never downloaded",
        }
        out["reid_weight"] = {
            "default": DEFAULT_REID_WEIGHT,
            "type": "float",
            "range": [0.0, 1.0],
            "help": "share of the learned embedding in the appearance similarity; the rest is colour histograms "
            "(1 = learned embedding only, the default)",
        }
    elif _accepts_embeddings(boxmot_name):
        out["appearance"] = {
            "default": "colour" if name == RECOMMENDED_NAME else "none",
            "type": "choice",
            "options": list(APPEARANCES),
            "required": boxmot_name in _REID_REQUIRED,  # strongsort: "colour" or "reid"
            "help": "none; colour: weight-free colour histograms; reid: a ReID network from reid_weights",
        }
        out["reid_weights"] = {
            "default": None,
            "type": "path",
            "help": "local ReID weights file for appearance='reid' (e.g. osnet_x0_25_msmt17.pt); never downloaded",
        }
    return out


def _accepts_embeddings(boxmot_name: str) -> bool:
    from boxmot.trackers.registry import get_tracker_definition

    return get_tracker_definition(boxmot_name).capabilities.accepts_embeddings


# --------------------------------------------------------------------------------------------
# The tracker object
# --------------------------------------------------------------------------------------------


class MultiObjectTracker:
    """A boxmot tracker speaking Trackroom's types. IDs are stable within one sequence."""

    def __init__(
        self, name: str, boxmot_tracker: Any, params: dict[str, Any], fps: float | None, appearance: str
    ):
        self.name = name
        self.params = params
        self.fps = fps
        self.appearance = appearance
        self._tracker = boxmot_tracker

    @property
    def needs_frame(self) -> bool:
        """Whether ``update`` needs the image (appearance, camera-motion compensation)."""
        return self.appearance != "none" or bool(self._tracker.requirements.frame)

    def update(self, dets: Detections, frame: np.ndarray | None = None) -> list[TrackedObject]:
        if frame is None and self.needs_frame:
            raise TrackerConfigError(
                f"Tracker '{self.name}' needs the video frame (appearance or camera-motion compensation)."
            )
        rows = self._tracker.update(dets.as_boxmot(), frame)
        out: list[TrackedObject] = []
        for x1, y1, x2, y2, tid, conf, cls, det_index in rows:
            i = int(det_index)
            from_det = 0 <= i < len(dets)
            out.append(
                TrackedObject(
                    track_id=int(tid) + 1,  # boxmot counts from 0; Trackroom and MOTChallenge from 1
                    xyxy=np.array([x1, y1, x2, y2], np.float32),
                    conf=float(conf),
                    cls=int(cls),
                    mask=dets.masks[i] if from_det and dets.masks is not None else None,
                    keypoints=dets.keypoints[i] if from_det and dets.keypoints is not None else None,
                    det_index=i if from_det else -1,
                )
            )
        return out

    def reset(self) -> None:
        """Forget every track (a new video / sequence starts)."""
        self._tracker.reset()

    def __repr__(self) -> str:
        return f"MultiObjectTracker({self.name!r}, fps={self.fps}, appearance={self.appearance!r})"


def _local_weights(path: str | Path) -> Path:
    path = Path(path).expanduser()
    if not path.is_file():
        raise WeightsNotFoundError(f"ReID weights file not found: {path}. Trackroom never downloads weights.")
    return path


_LOADED_REID: dict[tuple, Any] = {}


def _reid_appearance_model(spec: Any, device: str) -> Any:
    """A loaded ``AppearanceModel`` for ``spec``; files are loaded once per process (and again
    when they change on disk), since every job builds a new tracker."""
    from .reid.appearance import AppearanceModel, load_appearance_model

    if isinstance(spec, AppearanceModel) or callable(getattr(spec, "get_features", None)):
        return spec  # already loaded (or any object with boxmot's get_features(boxes, image))
    text = str(spec)
    key: tuple = (text, device)
    if text != "imagenet":
        path = Path(text).expanduser()
        if not path.is_file():
            raise WeightsNotFoundError(f"ReID model file not found: {path}. Trackroom never downloads weights.")
        stat = path.stat()
        key = (str(path.resolve()), device, stat.st_mtime_ns, stat.st_size)
    model = _LOADED_REID.get(key)
    if model is None:
        model = load_appearance_model(text, device=device)
        if len(_LOADED_REID) >= 4:
            _LOADED_REID.pop(next(iter(_LOADED_REID)))
        _LOADED_REID[key] = model
    return model


def create_tracker(
    name: str = RECOMMENDED_NAME,
    *,
    fps: float | None = None,
    tuned: bool = True,
    appearance: str | None = None,
    reid_weights: str | Path | None = None,
    reid_model: Any = None,
    device: str = "cpu",
    verbose: bool = False,
    **params: Any,
) -> MultiObjectTracker:
    """A multi-object tracker by name (``TRACKERS``) with parameters (``tracker_params(name)``).

    ``fps``: the video's frame rate; with ``tuned=True`` time-based parameters scale with it.
    ``appearance``: ``"none"``, ``"colour"`` (weight-free colour histograms) or ``"reid"`` (a ReID
    network from the local file ``reid_weights``, never downloaded). Default: ``"colour"`` for
    ``"trackroom"``, ``"reid"`` when ``reid_weights`` is given, else ``"none"``. ``strongsort``
    always matches by appearance, so it needs ``appearance="colour"`` or ``reid_weights``.
    Trackers without appearance support (bytetrack, ocsort, sfsort) accept only ``"none"``.

    ``"reid"``: the recommended association with a learned appearance model, ``reid_model`` = the
    path of a file written by ``trackroom reid-train`` or ``"imagenet"`` (default), or an already
    loaded ``tracking.reid.appearance.AppearanceModel``.
    """
    name = _check_name(name)
    if fps is not None and (
        isinstance(fps, bool) or not isinstance(fps, (int, float)) or not math.isfinite(fps) or fps <= 0
    ):
        raise TrackerConfigError(f"fps must be a positive number, got {fps!r}.")
    boxmot_name = _boxmot_name(name)
    from boxmot.motion.kalman_filters.noise import normalize_kalman_options
    from boxmot.trackers.registry import get_tracker_class

    reid_weight = params.pop("reid_weight", DEFAULT_REID_WEIGHT) if name == REID_NAME else None
    values = _defaults(name, fps, tuned)
    valid = set(values) | set(_signature_defaults(boxmot_name))
    unknown = sorted(set(params) - valid)
    if unknown:
        raise TrackerConfigError(
            f"Unknown parameter{'s' if len(unknown) > 1 else ''} {', '.join(unknown)} for tracker '{name}'. "
            f"Valid parameters: {', '.join(sorted(k for k in valid if not k.startswith('kf_')))}."
        )
    values.update(params)

    if name == REID_NAME:
        if appearance not in (None, "reid") or reid_weights is not None:
            raise TrackerConfigError(
                "The 'reid' tracker uses the appearance model given by reid_model (a file from "
                "`trackroom reid-train`, or 'imagenet'); appearance and reid_weights do not apply."
            )
        appearance = "reid"
        if isinstance(reid_weight, bool) or not isinstance(reid_weight, (int, float)) or not 0 < reid_weight <= 1:
            raise TrackerConfigError(f"reid_weight must be a number above 0 and at most 1, not {reid_weight!r}.")
        reid_source = MixedAppearance(
            _reid_appearance_model(reid_model if reid_model is not None else "imagenet", device), reid_weight
        )
    elif reid_model is not None:
        raise TrackerConfigError(f"reid_model is used by the 'reid' tracker only, not '{name}'.")

    if appearance is None:
        if reid_weights is not None:
            appearance = "reid"
        elif name == RECOMMENDED_NAME:
            appearance = "colour"
        elif values.get("use_embeddings"):
            appearance = "reid"  # embeddings asked for by parameter: a ReID model is meant
        else:
            appearance = "none"
    if appearance not in APPEARANCES:
        raise TrackerConfigError(f"Unknown appearance '{appearance}'. Choose one of: {', '.join(APPEARANCES)}.")
    accepts = _accepts_embeddings(boxmot_name)
    if appearance != "none" and not accepts:
        raise TrackerConfigError(
            f"Tracker '{name}' matches by motion only; it cannot use appearance='{appearance}'. "
            "Choose botsort, deepocsort, boosttrack, hybridsort, occluboost or strongsort for appearance."
        )
    if appearance == "none" and boxmot_name in _REID_REQUIRED:
        raise WeightsNotFoundError(
            f"Tracker '{name}' always matches by appearance (StrongSORT has no switch to turn it off): "
            "pass reid_weights=<local ReID weights file> (never downloaded) or appearance='colour' "
            "for Trackroom's weight-free colour histograms."
        )
    if appearance != "reid" and reid_weights is not None:
        raise TrackerConfigError(f"reid_weights is only used with appearance='reid', not '{appearance}'.")

    reid: dict[str, Any] = {}
    if name == REID_NAME:
        reid = {"reid_model": reid_source}
    elif appearance == "reid":
        if reid_weights is None:
            raise WeightsNotFoundError(
                f"Tracker '{name}' was asked for a ReID appearance model but no reid_weights file was given. "
                "Pass reid_weights=<local .pt/.onnx file> (Trackroom never downloads weights) or use "
                "appearance='colour'."
            )
        reid = {"reid_weights": _local_weights(reid_weights), "device": device}
    elif appearance == "colour":
        reid = {"reid_model": ColourHistogramEmbedder()}
    if accepts and "use_embeddings" in values:
        values["use_embeddings"] = appearance != "none"

    args = dict(values)
    try:
        normalize_kalman_options(
            args, variable_dt=args.get("variable_dt", False), tracker_name=boxmot_name, backend="python"
        )
        args["is_obb"] = False
        tracker_class = get_tracker_class(boxmot_name)
        _quiet_boxmot(verbose)  # after boxmot's imports: importing boxmot.utils sets its logger to INFO
        tracker = tracker_class(**args, **reid)
    except (TypeError, ValueError) as exc:
        raise TrackerConfigError(f"Tracker '{name}' refused its parameters: {exc}") from None
    return MultiObjectTracker(name, tracker, values, fps, appearance)
