"""Detect + track speed: Trackroom's overlapped pipeline vs the ultralytics one-liner, same process.

Both sides get the same weights (the bundled yolo11n-pose by default), the same video (PETS09-S2L1),
the same first N frames, the same imgsz / conf and ByteTrack:

* baseline  ``YOLO(w).track(source=video, stream=True, tracker="bytetrack.yaml", imgsz=..., conf=...)``,
            consumed fully — "the ultralytics one-liner as shipped" (its predictor sets torch to
            cpu_count - 1 threads on CPU).
* trackroom ``tracking.pipeline.track_video(video, create_detector(w, ...), create_tracker("bytetrack"))``
            — "the product as shipped": decode, batched inference and association in their own
            threads, torch on every core.
* cli       ``trackroom track VIDEO --tracker bytetrack`` end to end in a subprocess (optional).

Steady-state fps is measured from the first yielded frame to the last (model loading, predictor
set-up and the first frame's warm-up excluded for both); "wall" includes everything. Each side runs
``--repeats`` times, alternating, and the best run counts (other processes on a shared machine only
ever make a run slower). The torch thread count each side actually ran with is read during its run.
If a CUDA GPU is present the comparison runs there too.

    .venv/bin/python benchmarks/track_speed.py [--video PATH] [--frames 150] [--imgsz auto|N] [--repeats 2]
    .venv/bin/python benchmarks/track_speed.py --sweep   # detections/frame vs imgsz (why imgsz 'auto')
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import tracking.detectors  # noqa: E402,F401 - first: sets Trackroom's OpenMP wait policy before torch loads
from tracking.runtime import configure_offline  # noqa: E402

configure_offline()

import torch  # noqa: E402

from tracking.detectors import auto_imgsz, create_detector, default_weights, resolve_device  # noqa: E402
from tracking.mot import create_tracker  # noqa: E402
from tracking.pipeline import track_video  # noqa: E402
from tracking.video import open_video  # noqa: E402

TARGET_RATIO = 1.5


def run_baseline(weights: str, video: str, frames: int, imgsz: int, conf: float, device: str) -> dict:
    from ultralytics import YOLO

    started = time.perf_counter()
    model = YOLO(weights)
    first = None
    count = objects = 0
    threads = None
    stream = model.track(
        source=video, stream=True, tracker="bytetrack.yaml", imgsz=imgsz, conf=conf, device=device, verbose=False
    )
    for result in stream:
        count += 1
        objects += 0 if result.boxes is None or result.boxes.id is None else len(result.boxes.id)
        if first is None:
            first = time.perf_counter()
            threads = torch.get_num_threads()
        if count >= frames:
            break
    stream.close()
    end = time.perf_counter()
    return _figures(started, first, end, count, objects, threads)


def run_trackroom(weights: str, video: str, frames: int, imgsz: int, conf: float, device: str, workers=None) -> dict:
    started = time.perf_counter()
    detector = create_detector(weights, imgsz=imgsz, conf=conf, device=device, workers=workers)
    with open_video(video) as src:
        tracker = create_tracker("bytetrack", fps=src.info.fps)
        first = None
        count = objects = 0
        threads = None
        for result in track_video(src, detector, tracker, stop=frames):
            count += 1
            objects += len(result.objects)
            if first is None:
                first = time.perf_counter()
        end = time.perf_counter()
        threads = f"{detector.workers} x {detector.threads}"  # workers x torch threads each, read where torch ran
    detector.close()
    return _figures(started, first, end, count, objects, threads)


def run_cli(weights: str, video: str, frames: int, imgsz: int, conf: float, device: str) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "tracks.txt"
        cmd = [
            sys.executable, "-m", "tracking.cli", "track", video, "--model", weights, "--tracker", "bytetrack",
            "--imgsz", str(imgsz), "--conf", str(conf), "--device", device, "--stop", str(frames), "--quiet",
            "--out", str(out),
        ]
        started = time.perf_counter()
        proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
        end = time.perf_counter()
        if proc.returncode != 0:
            raise SystemExit(f"trackroom track failed: {proc.stderr.strip()}")
        rows = len(out.read_text().splitlines())
    return {"fps": float("nan"), "wall_s": end - started, "frames": frames, "objects_per_frame": rows / frames,
            "threads": None}


def _figures(started, first, end, count, objects, threads) -> dict:
    steady = end - first if first else float("nan")
    return {
        "fps": (count - 1) / steady if count > 1 and steady > 0 else float("nan"),
        "wall_s": end - started,
        "frames": count,
        "objects_per_frame": objects / count if count else 0.0,
        "threads": threads,
    }


def compare(args, device: str) -> tuple[float, list[str]]:
    runs = {"baseline": [], "trackroom": []}
    alt = f"trackroom {os.cpu_count()} workers"
    if args.compare_workers and device == "cpu":
        runs[alt] = []  # one single-threaded replica per core instead of one replica on every core
    for i in range(args.repeats):
        order = list(runs) if i % 2 == 0 else list(runs)[::-1]
        for side in order:
            load = os.getloadavg()[0]
            common = (args.weights, args.video, args.frames, args.imgsz, args.conf, device)
            if side == "baseline":
                r = run_baseline(*common)
            else:
                r = run_trackroom(*common, workers=os.cpu_count() if side == alt else None)
            r["load"] = load
            runs[side].append(r)
            print(f"  [{device}] {side:9s} run {i + 1}: {r['fps']:6.2f} fps steady, {r['wall_s']:6.1f} s wall, "
                  f"{r['objects_per_frame']:.2f} tracked/frame, torch threads {r['threads']}, load {load:.2f}",
                  file=sys.stderr)
    best = {side: max(rs, key=lambda r: r["fps"]) for side, rs in runs.items()}
    if args.cli and device == "cpu":
        best["cli"] = run_cli(args.weights, args.video, args.frames, args.imgsz, args.conf, device)
    ratio = best["trackroom"]["fps"] / best["baseline"]["fps"]
    if alt in best:
        extra = best[alt]["fps"] / best["baseline"]["fps"]
    lines = [
        f"| {device} | {side} | {r['fps']:.2f} | {r['wall_s']:.1f} | {r['objects_per_frame']:.2f} | "
        f"{r['threads'] if r['threads'] is not None else '-'} |"
        for side, r in best.items()
    ]
    lines.append(f"| {device} | **ratio trackroom / baseline** | **{ratio:.2f}x** | | | |")
    if alt in best:
        lines.append(f"| {device} | ratio {alt} / baseline | {extra:.2f}x | | | |")
    return ratio, lines


def imgsz_sweep(args, sizes: list[int]) -> None:
    """Detections per frame of the default detector at several input sizes, against the ground truth."""
    from tracking.motchallenge import read_mot

    gt_file = ROOT.parent / "shared" / "benchmarks" / "pets09-s2l1" / "gt" / "gt.txt"
    gt = read_mot(gt_file) if gt_file.is_file() and "vtest" in Path(args.video).name else {}
    with open_video(args.video) as src:
        indices = list(range(0, src.info.frame_count, max(1, src.info.frame_count // 40)))[:40]
        frames = [src.read(i) for i in indices]
    print("| imgsz | persons detected / frame | ground truth / frame | ms / frame |")
    print("|---|---|---|---|")
    for size in sizes:
        detector = create_detector(args.weights, imgsz=size, conf=args.conf, device="cpu")
        detector(frames[:1], indices[:1])  # warm-up
        started = time.perf_counter()
        dets = detector(frames, indices)
        ms = (time.perf_counter() - started) / len(frames) * 1000
        truth = f"{sum(len(gt.get(i, [])) for i in indices) / len(indices):.2f}" if gt else "-"
        print(f"| {size} | {sum(len(d) for d in dets) / len(dets):.2f} | {truth} | {ms:.0f} |")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--video", default=os.path.expanduser("~/.cache/trackroom/vtest.avi"))
    parser.add_argument("--weights", default=str(default_weights()))
    parser.add_argument("--frames", type=int, default=150)
    parser.add_argument("--imgsz", default="auto", help="'auto' = Trackroom's default for this video")
    parser.add_argument("--conf", type=float, default=0.25)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--no-cli", dest="cli", action="store_false", help="skip the `trackroom track` run")
    parser.add_argument("--compare-workers", action="store_true", help="also run Trackroom with one single-threaded inference worker per core")
    parser.add_argument("--sweep", action="store_true", help="only print detections/frame at several imgsz")
    parser.add_argument("--device", default="all", help="all (cpu, and cuda:0 when present), cpu or cuda:0")
    args = parser.parse_args()
    if not Path(args.video).is_file():
        raise SystemExit(f"video not found: {args.video} (run scripts/fetch-pets09 or pass --video)")
    with open_video(args.video) as src:
        info = src.info
    args.frames = min(args.frames, info.frame_count)
    if args.sweep:
        imgsz_sweep(args, [640, 768, 960, auto_imgsz(info.width, info.height), 1280])
        return 0
    if args.imgsz == "auto":
        args.imgsz = auto_imgsz(info.width, info.height)
    args.imgsz = int(args.imgsz)
    devices = ["cpu"] + (["cuda:0"] if torch.cuda.is_available() else []) if args.device == "all" else [resolve_device(args.device)]

    from ultralytics.utils import NUM_THREADS

    print(f"video {Path(args.video).name} {info.width}x{info.height}, first {args.frames} frames; "
          f"weights {Path(args.weights).name}; imgsz {args.imgsz}; conf {args.conf}; tracker bytetrack; "
          f"{os.cpu_count()} CPU cores (ultralytics sets torch to {NUM_THREADS} thread(s); Trackroom runs "
          f"inference workers x threads, see the table); OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY')}; torch {torch.__version__}; best of {args.repeats}")
    table = ["| device | run | fps (steady) | wall s (all-in) | tracked objects/frame | torch threads (workers x threads) |",
             "|---|---|---|---|---|---|"]
    ratios = {}
    for device in devices:
        ratios[device], lines = compare(args, device)
        table += lines
    print("\n".join(table))
    for device, ratio in ratios.items():
        verdict = "meets" if ratio >= TARGET_RATIO else "misses"
        print(f"{device}: trackroom is {ratio:.2f}x the ultralytics one-liner ({verdict} the {TARGET_RATIO}x target)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
