"""Process-wide set-up that must happen before ultralytics / torchvision are imported.

* Offline: ultralytics must never reach the network (no hub checks, no pip installs, no font
  downloads). Its settings live inside the project's data folder.
* ``torchvision_cpu_nms_fallback``: the torchvision 0.28.0 wheel is a CUDA build whose C ops do not
  load on a CPU-only torch, and ultralytics' NMS then fails. Only when the real op is missing we
  register a CPU ``torchvision::nms`` written with plain torch ops.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

_configured = False


def data_dir() -> Path:
    default = Path(__file__).resolve().parent.parent / "var"
    return Path(os.environ.get("TRACKROOM_DATA_DIR", default)).resolve()


def set_process_environment() -> None:
    """Environment only, no imports: runs when ``tracking`` is imported, before anything can load
    torch, ultralytics or boxmot (boxmot imports ultralytics, which reads these at import time)."""
    os.environ.setdefault("YOLO_OFFLINE", "1")
    os.environ.setdefault("YOLO_AUTOINSTALL", "false")
    os.environ.setdefault("YOLO_VERBOSE", "false")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("YOLO_CONFIG_DIR", str(data_dir() / "ultralytics"))
    # torch's OpenMP workers spin at barriers by default; on a busy 2-core machine a descheduled one
    # stalls the rest (one model on 2 threads measured 8x slower than on 1 under load). Read when torch
    # loads, hence here.
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


def configure_offline() -> None:
    global _configured
    if _configured:
        return
    set_process_environment()
    cfg = Path(os.environ["YOLO_CONFIG_DIR"])
    font_dir = cfg / "Ultralytics"
    font_dir.mkdir(parents=True, exist_ok=True)
    # ultralytics' plotting asks for Arial from the internet; give it matplotlib's DejaVuSans.
    for name in ("Arial.ttf", "Arial.Unicode.ttf"):
        target = font_dir / name
        if not target.exists():
            try:
                import matplotlib

                src = Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "DejaVuSans.ttf"
                shutil.copyfile(src, target)
            except Exception:  # plotting fonts are cosmetic; never block the engine on them
                pass
    torchvision_cpu_nms_fallback()
    _configured = True


def _nms_cpu(boxes, scores, iou_threshold: float):
    import torch

    if boxes.numel() == 0:
        return torch.empty((0,), dtype=torch.int64, device=boxes.device)
    x1, y1, x2, y2 = boxes.unbind(1)
    areas = (x2 - x1).clamp(min=0) * (y2 - y1).clamp(min=0)
    order = scores.argsort(descending=True)
    keep = []
    while order.numel() > 0:
        i = order[0]
        keep.append(i)
        if order.numel() == 1:
            break
        rest = order[1:]
        xx1 = torch.maximum(x1[rest], x1[i])
        yy1 = torch.maximum(y1[rest], y1[i])
        xx2 = torch.minimum(x2[rest], x2[i])
        yy2 = torch.minimum(y2[rest], y2[i])
        inter = (xx2 - xx1).clamp(min=0) * (yy2 - yy1).clamp(min=0)
        iou = inter / (areas[i] + areas[rest] - inter).clamp(min=1e-9)
        order = rest[iou <= iou_threshold]
    return torch.stack(keep)


def torchvision_cpu_nms_fallback() -> bool:
    """Register a CPU ``torchvision::nms`` if torchvision's own op cannot load. Returns True if used.

    Must run before ``import torchvision``: that import fails outright when the op is missing.
    """
    import importlib.util
    import sys

    import torch

    if _has_torchvision_nms():
        return False
    if "torchvision" not in sys.modules:
        spec = importlib.util.find_spec("torchvision")
        if spec and spec.submodule_search_locations:
            for lib_path in Path(next(iter(spec.submodule_search_locations))).glob("_C*.so"):
                try:  # the real op: works with a matching CUDA/CPU torch
                    torch.ops.load_library(str(lib_path))
                except (OSError, RuntimeError):
                    pass
            if _has_torchvision_nms():
                return False
    lib = torch.library.Library("torchvision", "DEF")
    lib.define("nms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")
    lib.impl("nms", _nms_cpu, "CPU")
    lib.define("qnms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")
    lib.impl("qnms", _nms_cpu, "CPU")
    globals()["_fallback_library"] = lib  # keep the registration alive for the process lifetime
    # torchvision.ops.nms asks torchvision.extension._has_ops() first, which is False when _C failed
    # to load. With nms registered, say yes; any other C op still fails with "operator does not exist".
    import torchvision.extension

    torchvision.extension._has_ops = lambda: True
    return True


def _has_torchvision_nms() -> bool:
    import torch

    try:
        torch.ops.torchvision.nms  # noqa: B018 - attribute access is the probe
        return True
    except (AttributeError, RuntimeError):
        return False


def torch_threads() -> None:
    """Use every core on CPU (ultralytics sets cpu_count - 1, i.e. 1 here)."""
    import torch

    torch.set_num_threads(max(1, os.cpu_count() or 1))
