"""Train an appearance model from unlabeled video and detector boxes, with no identity labels.

The method is cross-input consistency (Bastani, He & Madden, "Self-Supervised Multi-Object Tracking
with Cross-Input Consistency", NeurIPS 2021), smaller and in PyTorch. For a frame t and a later frame
t+k of one video, the association between their detections is predicted twice, from two inputs that
share nothing:

* **geometry**: only the boxes. A detection at t can only be a detection at t+k that is reachable by a
  chain of overlapping boxes (IoU of slightly padded boxes >= ``link_iou``) through the frames in
  between, allowing short runs of missed detections. This gives the *feasible* mask, plus a small
  learned matcher over box displacement / size change / gap (the geometry branch's own soft matching).
* **appearance**: only the two sets of crops, embedded by MobileNetV2 (ImageNet start) + a projection
  head. The matching logit of a pair is ``scale * cosine``; a learned "no match" column lets an object
  leave or be missed.

Each branch turns its logits into a soft matching: the element-wise minimum of the row and the column
softmax (one-to-one in both directions), with the "no match" column re-weighted so that only about one
object per pair of frames can use it cheaply (otherwise "nobody matches" would be a free way out). The
detections of frame t itself are added as *distractor* columns for the appearance branch (two boxes of
one frame are two different objects, so mass put on them is lost): that is what makes it learn identity
rather than "a person". The loss asks that

1. the appearance matching put its mass, confidently, on geometry-feasible partners:
   ``-log sum_j A[i,j]^2 * feasible[i,j]``, and
2. the geometry matcher agree with the appearance matching (appearance held fixed):
   ``-log sum_j G[i,j] * A[i,j] * feasible[i,j]``.

Only the appearance network is used by the tracker (``create_tracker("reid", reid_model=...)``); the
geometry matcher is kept in the file for inspection and for the "agreement" metric.

Held out: the last ``val_fraction`` of each video's frames. Metrics measure the self-supervised task
there: how often the appearance network's best partner for a detection is geometry-feasible, before
training (ImageNet features) and after.
"""

from __future__ import annotations

import math
import os
import random
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import Cancelled, TrackroomError
from ..geometry import iou_matrix
from ..types import CancelToken
from .appearance import (
    ARCH,
    BACKBONE_DIM,
    DEFAULT_INPUT_SIZE,
    MODEL_FORMAT,
    MODEL_VERSION,
    _resolve_device,
    _torch,
    build_network,
    crops_to_tensor,
    load_imagenet_backbone,
)

EPSILON = 1e-6
MARGIN = 1.125  # stored crops are this much larger than the box: random crops then jitter the box


@dataclass
class TrainingVideo:
    """One video and its detections: 0-based frame -> (N, 5) [x1, y1, x2, y2, conf] (or (N, 4))."""

    path: Path
    detections: dict[int, np.ndarray]
    fps: float | None = None  # the true frame rate when the header is wrong (durations use it)


@dataclass
class ReidTrainParams:
    steps: int = 600  # optimiser steps (600: ~12 min on a busy 2-core CPU for one 795-frame video)
    batch: int = 4  # frame pairs per step
    lr: float = 1e-3  # head and matcher; the backbone learns at lr * backbone_lr_factor
    device: str = "cpu"  # cpu, cuda[:N] or auto
    seed: int = 0
    backbone_lr_factor: float = 0.1
    weight_decay: float = 1e-4
    embed_dim: int = 128
    input_size: tuple[int, int] = DEFAULT_INPUT_SIZE  # crop height, width
    trainable_blocks: int = 8  # the last N of MobileNetV2's 19 feature blocks are fine-tuned
    gaps_s: tuple[float, ...] = (0.25, 0.5, 1.0, 2.0)  # t -> t+k, in seconds
    min_conf: float = 0.0
    min_box_height: float = 12.0  # pixels; smaller boxes carry too little appearance
    link_iou: float = 0.1  # geometry chain: padded boxes overlap at least this much ...
    link_padding: float = 0.15  # ... after padding by this fraction of the box height
    link_max_gap_s: float = 0.5  # a chain may skip missed detections for this long
    val_fraction: float = 0.15
    max_frames: int = 2000  # per video (evenly spread 10 s windows beyond that; bounds the crops kept in memory)
    geometry_weight: float = 1.0
    progress_every: int = 1

    def check(self) -> "ReidTrainParams":
        if not isinstance(self.steps, int) or not 1 <= self.steps <= 1_000_000:
            raise TrackroomError(f"steps must be a whole number from 1 to 1,000,000, not {self.steps!r}.")
        if not isinstance(self.batch, int) or not 1 <= self.batch <= 256:
            raise TrackroomError(f"batch must be a whole number from 1 to 256, not {self.batch!r}.")
        if not (isinstance(self.lr, (int, float)) and 0 < self.lr < 1):
            raise TrackroomError(f"lr must be between 0 and 1, not {self.lr!r}.")
        if not 1 <= int(self.embed_dim) <= 2048:
            raise TrackroomError(f"embed_dim must be from 1 to 2048, not {self.embed_dim!r}.")
        if not 0 <= int(self.trainable_blocks) <= 19:
            raise TrackroomError(f"trainable_blocks must be from 0 to 19, not {self.trainable_blocks!r}.")
        if not self.gaps_s or any(g <= 0 for g in self.gaps_s):
            raise TrackroomError("gaps_s must be positive durations in seconds.")
        if not 0 <= self.val_fraction < 0.9:
            raise TrackroomError("val_fraction must be from 0 to 0.9.")
        self.input_size = (int(self.input_size[0]), int(self.input_size[1]))
        self.gaps_s = tuple(float(g) for g in self.gaps_s)
        return self

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["input_size"] = list(self.input_size)
        out["gaps_s"] = list(self.gaps_s)
        return out


@dataclass
class ReidTrainResult:
    path: Path
    losses: list[tuple[int, float]]
    metrics: dict[str, Any]
    seconds: float
    params: ReidTrainParams
    data: list[dict[str, Any]] = field(default_factory=list)  # per video: path, frames, detections used


# ------------------------------------------------------------------------------------------------
# Data: crops and boxes per frame
# ------------------------------------------------------------------------------------------------


@dataclass
class _VideoData:
    name: str
    fps: float
    frames: list[int]  # sorted frame indices that have detections (and crops)
    boxes: dict[int, np.ndarray]  # frame -> (N, 4)
    crops: dict[int, np.ndarray]  # frame -> (N, H', W', 3) uint8 RGB at MARGIN x input size
    split: int  # frames >= split are held out


def _clean_boxes(raw: np.ndarray, params: ReidTrainParams, width: int, height: int) -> np.ndarray:
    arr = np.asarray(raw, np.float32)
    if arr.size == 0:
        return np.zeros((0, 4), np.float32)
    if arr.ndim != 2 or arr.shape[1] < 4:
        raise TrackroomError(f"Detections must be N x 5 arrays [x1, y1, x2, y2, conf]; got shape {arr.shape}.")
    keep = np.all(np.isfinite(arr[:, :4]), axis=1)
    if arr.shape[1] >= 5:
        keep &= arr[:, 4] >= params.min_conf
    boxes = arr[keep, :4].copy()
    boxes[:, [0, 2]] = boxes[:, [0, 2]].clip(0, width)
    boxes[:, [1, 3]] = boxes[:, [1, 3]].clip(0, height)
    ok = (boxes[:, 3] - boxes[:, 1] >= params.min_box_height) & (boxes[:, 2] - boxes[:, 0] >= 4)
    return boxes[ok]


def _frames_to_use(indices: list[int], frame_count: int, fps: float, max_frames: int) -> list[int]:
    indices = [i for i in indices if 0 <= i < frame_count]
    if not indices or indices[-1] - indices[0] + 1 <= max_frames:
        return indices
    window = max(1, int(round(10 * fps)))
    count = max(1, max_frames // window)
    first, last = indices[0], indices[-1]
    starts = np.linspace(first, max(first, last - window + 1), count).astype(int)
    wanted = set()
    for s in starts:
        wanted.update(range(int(s), int(s) + window))
    return [i for i in indices if i in wanted]


def _stored_crops(frame: np.ndarray, boxes: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    from .appearance import crop_boxes

    centre = (boxes[:, :2] + boxes[:, 2:4]) / 2
    half = (boxes[:, 2:4] - boxes[:, :2]) / 2 * MARGIN
    grown = np.concatenate([centre - half, centre + half], axis=1)
    stored = (int(round(size[0] * MARGIN)), int(round(size[1] * MARGIN)))
    return crop_boxes(frame, grown, stored)


def _load_video(video: TrainingVideo, params: ReidTrainParams, cancel: CancelToken | None) -> _VideoData:
    from ..video import open_video

    if not isinstance(video.detections, dict):
        raise TrackroomError("TrainingVideo.detections must map 0-based frame numbers to N x 5 arrays.")
    with open_video(video.path) as src:
        info = src.info
        fps = float(video.fps or info.fps or 25.0)
        boxes = {}
        for frame, raw in video.detections.items():
            clean = _clean_boxes(raw, params, info.width, info.height)
            if len(clean):
                boxes[int(frame)] = clean
        use = _frames_to_use(sorted(boxes), info.frame_count, fps, params.max_frames)
        boxes = {f: boxes[f] for f in use}
        crops: dict[int, np.ndarray] = {}
        wanted = set(use)
        if use:
            for index, image in src.frames(use[0], use[-1] + 1, prefetch=4, cancel=cancel):
                if cancel is not None and cancel.cancelled:
                    raise Cancelled("ReID training was cancelled.")
                if index in wanted:
                    crops[index] = _stored_crops(image, boxes[index], params.input_size)
    if cancel is not None and cancel.cancelled:
        raise Cancelled("ReID training was cancelled.")
    frames = sorted(crops)
    split_at = frames[int(len(frames) * (1 - params.val_fraction))] if frames and params.val_fraction > 0 else 10**12
    if frames and split_at == frames[0]:
        split_at = 10**12
    return _VideoData(Path(video.path).name, fps, frames, {f: boxes[f] for f in frames}, crops, split_at)


# ------------------------------------------------------------------------------------------------
# Geometry: which detections at t+k a detection at t can be, by chains of overlapping boxes
# ------------------------------------------------------------------------------------------------


def _padded_iou(a: np.ndarray, b: np.ndarray, padding: float) -> np.ndarray:
    def grow(boxes):
        pad = (boxes[:, 3] - boxes[:, 1])[:, None] * padding
        return np.concatenate([boxes[:, :2] - pad, boxes[:, 2:4] + pad], axis=1)

    return iou_matrix(grow(a), grow(b))


def feasible_matches(
    boxes: dict[int, np.ndarray], t: int, k: int, link_iou: float, padding: float, max_link_gap: int
) -> np.ndarray:
    """(N_t, N_{t+k}) bool: detection i at t reaches detection j at t+k through a chain of boxes
    that overlap (padded IoU >= link_iou) from frame to frame, jumping at most ``max_link_gap``
    frames over missed detections."""
    start = boxes[t]
    reached: dict[int, np.ndarray] = {t: np.eye(len(start), dtype=bool)}
    for f in range(t + 1, t + k + 1):
        here = boxes.get(f)
        if here is None or len(here) == 0:
            continue
        now = np.zeros((len(start), len(here)), bool)
        for g in range(max(t, f - max_link_gap), f):
            if g not in reached or not reached[g].any():
                continue
            link = _padded_iou(boxes[g], here, padding) >= link_iou
            now |= (reached[g].astype(np.int32) @ link.astype(np.int32)) > 0
        reached[f] = now
    final = reached.get(t + k)
    return final if final is not None else np.zeros((len(start), len(boxes.get(t + k, ()))), bool)


def geometry_features(prev: np.ndarray, nxt: np.ndarray, gap_s: float) -> np.ndarray:
    """(N, M, 5) pair features the geometry matcher sees: displacement in box heights, log size
    ratios, and the time gap."""
    ph = np.maximum(prev[:, 3] - prev[:, 1], 1.0)
    pw = np.maximum(prev[:, 2] - prev[:, 0], 1.0)
    nh = np.maximum(nxt[:, 3] - nxt[:, 1], 1.0)
    nw = np.maximum(nxt[:, 2] - nxt[:, 0], 1.0)
    pc = (prev[:, :2] + prev[:, 2:4]) / 2
    nc = (nxt[:, :2] + nxt[:, 2:4]) / 2
    d = (nc[None, :, :] - pc[:, None, :]) / ph[:, None, None]
    out = np.zeros((len(prev), len(nxt), 5), np.float32)
    out[..., 0:2] = d
    out[..., 2] = np.log(nh[None, :] / ph[:, None])
    out[..., 3] = np.log(nw[None, :] / pw[:, None])
    out[..., 4] = gap_s
    return out


# ------------------------------------------------------------------------------------------------
# Soft matchings and the loss
# ------------------------------------------------------------------------------------------------


def soft_matching(logits, no_match_logit):
    """min(row softmax, column softmax) over [candidates | no match]; (N, C) -> (N, C + 1)."""
    torch = _torch()
    full = torch.cat([logits, no_match_logit.expand(logits.shape[0], 1)], dim=1)
    return torch.minimum(torch.softmax(full, dim=1), torch.softmax(full, dim=0))


def reweight_no_match(mat):
    """Scale the "no match" column so that, summed over rows, it is worth about one object; each
    row's no-match can never exceed what its real candidates leave."""
    torch = _torch()
    terminal = mat[:, -1]
    factor = torch.clamp(1.0 / (terminal.sum() + 1e-2), max=float(mat.shape[0]))
    room = torch.clamp(1 - mat[:, :-1].sum(dim=1), min=0)
    terminal = torch.minimum(terminal * factor, room)
    return torch.cat([mat[:, :-1], terminal[:, None]], dim=1)


def _nets(params: ReidTrainParams):
    torch = _torch()
    network = build_network(params.embed_dim)
    load_imagenet_backbone(network)

    class Matchers(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            # appearance: logit = scale * cosine; starts at a temperature of 0.1
            self.log_scale = torch.nn.Parameter(torch.tensor(math.log(10.0)))
            self.appearance_no_match = torch.nn.Parameter(torch.tensor(5.0))
            self.geometry = torch.nn.Sequential(
                torch.nn.Linear(5, 64), torch.nn.ReLU(), torch.nn.Linear(64, 64), torch.nn.ReLU(), torch.nn.Linear(64, 1)
            )
            self.geometry_no_match = torch.nn.Parameter(torch.tensor(0.0))

    return network, Matchers()


class _Sampler:
    def __init__(self, videos: list[_VideoData], params: ReidTrainParams, rng: random.Random):
        self.videos = videos
        self.params = params
        self.rng = rng
        self.pairs = {"train": [], "val": []}
        for vi, v in enumerate(videos):
            present = set(v.frames)
            gaps = sorted({max(1, int(round(g * v.fps))) for g in params.gaps_s})
            for t in v.frames:
                for k in gaps:
                    if t + k in present:
                        split = "val" if t >= v.split else ("train" if t + k < v.split else None)
                        if split:
                            self.pairs[split].append((vi, t, k))
        if not self.pairs["train"]:
            raise TrackroomError(
                "Not enough detections to train on: no two frames "
                f"{', '.join(str(g) for g in params.gaps_s)} s apart both have detections. Use a longer video "
                "or detections on more frames."
            )
        self.heldout = bool(self.pairs["val"])
        if not self.heldout:  # a very short clip: measure on training pairs, and say so
            self.pairs["val"] = list(self.pairs["train"])
        self._feasible_cache: dict[tuple[int, int, int], np.ndarray] = {}

    def feasible(self, vi: int, t: int, k: int) -> np.ndarray:
        key = (vi, t, k)
        if key not in self._feasible_cache:
            v = self.videos[vi]
            p = self.params
            self._feasible_cache[key] = feasible_matches(
                v.boxes, t, k, p.link_iou, p.link_padding, max(1, int(round(p.link_max_gap_s * v.fps)))
            )
        return self._feasible_cache[key]

    def sample(self, split: str, count: int) -> list[tuple[int, int, int]]:
        return [self.rng.choice(self.pairs[split]) for _ in range(count)]


def _crops_for(crops: np.ndarray, size: tuple[int, int], rng: np.random.Generator, train: bool) -> np.ndarray:
    """Cut input-size crops out of the stored (margin) crops: random shift + flip when training."""
    height, width = size
    sh, sw = crops.shape[1:3]
    out = np.empty((len(crops), height, width, 3), np.uint8)
    for i, crop in enumerate(crops):
        if train:
            y = int(rng.integers(0, sh - height + 1))
            x = int(rng.integers(0, sw - width + 1))
        else:
            y, x = (sh - height) // 2, (sw - width) // 2
        patch = crop[y : y + height, x : x + width]
        if train and rng.random() < 0.5:
            patch = patch[:, ::-1]
        out[i] = patch
    if train:  # mild photometric jitter, per crop
        gain = rng.uniform(0.8, 1.2, (len(out), 1, 1, 1))
        bias = rng.uniform(-15, 15, (len(out), 1, 1, 1))
        out = np.clip(out.astype(np.float32) * gain + bias, 0, 255).astype(np.uint8)
    return out


def _pair_losses(network, matchers, batch, sampler, params, device, rng, train: bool):
    """Loss terms and bookkeeping for a batch of (video, t, k) pairs."""
    torch = _torch()
    crops, spans = [], []
    for vi, t, k in batch:
        v = sampler.videos[vi]
        a, b = v.crops[t], v.crops[t + k]
        spans.append((len(a), len(b)))
        crops.append(a)
        crops.append(b)
    x = crops_to_tensor(_crops_for(np.concatenate(crops), params.input_size, rng, train), device)
    embeddings = network(x)
    scale = matchers.log_scale.exp()
    app_losses, geo_losses = [], []
    stats = {"rows": 0, "feasible_top1": 0, "agree": 0}
    offset = 0
    for (vi, t, k), (n, m) in zip(batch, spans):
        v = sampler.videos[vi]
        e_prev, e_next = embeddings[offset : offset + n], embeddings[offset + n : offset + n + m]
        offset += n + m
        feasible = torch.from_numpy(sampler.feasible(vi, t, k)).to(device).float()
        mask = torch.cat([feasible, torch.ones(n, 1, device=device)], dim=1)
        # appearance: distractors (this frame's other detections) first, then frame t+k
        same_frame = scale * (e_prev @ e_prev.T)
        same_frame = same_frame.masked_fill(torch.eye(n, dtype=torch.bool, device=device), -1e4)
        logits = torch.cat([same_frame, scale * (e_prev @ e_next.T)], dim=1)
        app_full = soft_matching(logits, matchers.appearance_no_match)
        app = reweight_no_match(app_full[:, n:])
        app_losses.append(-torch.log((app * app * mask).sum(dim=1) + EPSILON).mean())
        # geometry: box features only
        gap_s = k / v.fps
        g_in = torch.from_numpy(geometry_features(v.boxes[t], v.boxes[t + k], gap_s)).to(device)
        geo_logits = matchers.geometry(g_in).squeeze(-1)
        geo = reweight_no_match(soft_matching(geo_logits, matchers.geometry_no_match))
        geo_losses.append(-torch.log((geo * app.detach() * mask).sum(dim=1) + EPSILON).mean())
        with torch.no_grad():
            has = feasible.sum(dim=1) > 0
            best = logits.argmax(dim=1)  # over distractors and frame t+k, no-match excluded
            hit = (best >= n) & feasible.gather(1, (best - n).clamp(min=0)[:, None]).squeeze(1).bool()
            stats["rows"] += int(has.sum())
            stats["feasible_top1"] += int((hit & has).sum())
            stats["agree"] += int((app.argmax(dim=1) == geo.argmax(dim=1)).sum())
            stats.setdefault("all_rows", 0)
            stats["all_rows"] += n
    app_loss = torch.stack(app_losses).mean()
    geo_loss = torch.stack(geo_losses).mean()
    return app_loss, geo_loss, stats


def _evaluate(network, matchers, sampler, params, device, pairs) -> dict[str, float]:
    torch = _torch()
    rng = np.random.default_rng(0)
    totals = {"rows": 0, "feasible_top1": 0, "agree": 0, "all_rows": 0}
    app_sum = geo_sum = 0.0
    with torch.inference_mode():
        for start in range(0, len(pairs), 8):
            chunk = pairs[start : start + 8]
            app_loss, geo_loss, stats = _pair_losses(network, matchers, chunk, sampler, params, device, rng, False)
            app_sum += float(app_loss) * len(chunk)
            geo_sum += float(geo_loss) * len(chunk)
            for key in totals:
                totals[key] += stats.get(key, 0)
    n = max(1, len(pairs))
    return {
        "loss": (app_sum + params.geometry_weight * geo_sum) / n,
        "appearance_loss": app_sum / n,
        "feasible_top1": totals["feasible_top1"] / max(1, totals["rows"]),
        "branch_agreement": totals["agree"] / max(1, totals["all_rows"]),
    }


def _trainable(network, blocks: int):
    frozen = len(network.features) - blocks
    for i, layer in enumerate(network.features):
        for p in layer.parameters():
            p.requires_grad_(i >= frozen)
    return frozen


def train_reid(
    videos: list[TrainingVideo],
    out: Path,
    params: ReidTrainParams | None = None,
    progress: Callable[[dict], None] | None = None,
    cancel: CancelToken | None = None,
) -> ReidTrainResult:
    """Train on ``videos`` (frames + detector boxes only) and write the model to ``out``.

    ``progress`` gets ``{"step", "steps", "loss", "phase"}``: phase "prepare" while frames are decoded
    and cropped (``loss`` None, ``step`` 0), then "train" every ``progress_every`` steps with the loss
    (average of the last steps), and a last one with phase "done" and the metrics. ``cancel`` stops
    between steps (``tracking.errors.Cancelled``; nothing is written). Nothing is downloaded.
    """
    params = (params or ReidTrainParams()).check()
    out = Path(out)
    if not videos:
        raise TrackroomError("Give at least one video to train on.")
    if not out.parent.is_dir():
        raise TrackroomError(f"Output folder does not exist: {out.parent}")
    torch = _torch()
    from ..runtime import torch_threads

    torch_threads()
    started = time.perf_counter()
    device = _resolve_device(params.device)
    rng = random.Random(params.seed)
    np_rng = np.random.default_rng(params.seed)
    torch.manual_seed(params.seed)

    def report(step: int, loss: float | None, phase: str, **extra) -> None:
        if progress is not None:
            progress({"step": step, "steps": params.steps, "loss": loss, "phase": phase, **extra})

    def check_cancel() -> None:
        if cancel is not None and cancel.cancelled:
            raise Cancelled("ReID training was cancelled.")

    data = []
    for number, video in enumerate(videos, 1):
        report(0, None, "prepare", video=number, videos=len(videos))
        data.append(_load_video(video, params, cancel))
    check_cancel()
    sampler = _Sampler(data, params, rng)
    prepare_s = time.perf_counter() - started

    network, matchers = _nets(params)
    network.to(device).eval()  # BatchNorm keeps ImageNet statistics: batches are small and correlated
    matchers.to(device)
    frozen = _trainable(network, params.trainable_blocks)
    val_pairs = sampler.pairs["val"]
    if len(val_pairs) > 200:
        val_pairs = random.Random(1).sample(val_pairs, 200)
    before = _evaluate(network, matchers, sampler, params, device, val_pairs)

    backbone = [p for p in network.features.parameters() if p.requires_grad]
    groups = [
        {"params": list(network.head.parameters()) + list(matchers.parameters()), "lr": params.lr},
    ]
    if backbone:
        groups.append({"params": backbone, "lr": params.lr * params.backbone_lr_factor})
    optimiser = torch.optim.AdamW(groups, weight_decay=params.weight_decay)
    # One-cycle warm-up over 10 % of the steps, but at least 2 steps: OneCycleLR divides by the
    # warm-up length minus one, so very short runs (tests, a quick try in the UI) need the floor.
    schedule = torch.optim.lr_scheduler.OneCycleLR(
        optimiser, max_lr=[g["lr"] for g in groups], total_steps=max(params.steps, 4),
        pct_start=max(0.1, 2.5 / max(params.steps, 4)),
    )  # fmt: skip

    def forward_features(x):  # the network's forward with the frozen blocks outside autograd
        with torch.no_grad():
            for layer in network.features[:frozen]:
                x = layer(x)
        for layer in network.features[frozen:]:
            x = layer(x)
        x = x.mean(dim=(2, 3))
        return torch.nn.functional.normalize(network.head(x), dim=1)

    losses: list[tuple[int, float]] = []
    recent: list[float] = []
    for step in range(1, params.steps + 1):
        check_cancel()
        batch = sampler.sample("train", params.batch)
        app_loss, geo_loss, _ = _pair_losses(forward_features, matchers, batch, sampler, params, device, np_rng, True)
        loss = app_loss + params.geometry_weight * geo_loss
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_([p for g in groups for p in g["params"]], 5.0)
        optimiser.step()
        schedule.step()
        value = float(loss.detach())
        if not math.isfinite(value):
            raise TrackroomError(f"ReID training diverged at step {step} (loss {value}); lower the learning rate.")
        losses.append((step, value))
        recent.append(value)
        if step % max(1, params.progress_every) == 0 or step == params.steps:
            report(step, float(np.mean(recent)), "train")
            recent = []
    check_cancel()
    after = _evaluate(network, matchers, sampler, params, device, val_pairs)
    seconds = time.perf_counter() - started

    metrics = {
        "heldout": sampler.heldout,
        "val_pairs": len(val_pairs),
        "train_pairs": len(sampler.pairs["train"]),
        "val_loss_before": before["loss"],
        "val_loss": after["loss"],
        "val_feasible_top1_before": before["feasible_top1"],
        "val_feasible_top1": after["feasible_top1"],
        "val_branch_agreement": after["branch_agreement"],
        "final_train_loss": float(np.mean([v for _, v in losses[-max(1, len(losses) // 10) :]])),
        "prepare_seconds": prepare_s,
        "train_seconds": seconds - prepare_s,
        "match_scale": float(matchers.log_scale.detach().exp()),
    }
    used = [
        {
            "path": str(Path(v.path)),
            "frames": len(d.frames),
            "detections": int(sum(len(b) for b in d.boxes.values())),
            "fps": d.fps,
        }
        for v, d in zip(videos, data)
    ]
    network.cpu()
    matchers.cpu()
    payload = {
        "format": MODEL_FORMAT,
        "version": MODEL_VERSION,
        "arch": ARCH,
        "backbone_dim": BACKBONE_DIM,
        "embed_dim": int(params.embed_dim),
        "input_size": list(params.input_size),
        "state_dict": {k: v.detach().clone() for k, v in network.state_dict().items()},
        "matcher_state_dict": {k: v.detach().clone() for k, v in matchers.state_dict().items()},
        "train_params": params.to_dict(),
        "metrics": metrics,
        "losses": [[s, v] for s, v in losses],
        "training_data": used,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "torch": str(torch.__version__),
    }
    tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    try:
        torch.save(payload, tmp)
        os.replace(tmp, out)
    finally:
        if tmp.exists():
            tmp.unlink()
    report(params.steps, losses[-1][1] if losses else None, "done", metrics=metrics)
    return ReidTrainResult(out, losses, metrics, time.perf_counter() - started, params, used)
