"""Multi-object tracking quality on PETS09-S2L1 (public detections, 7 fps): every tracker, three ways.

Rows, each scored with TrackEval (``tracking.metrics.evaluate_mot``):

* ``greedy IoU``: the named baseline: link each detection to the previous frame's box with the
  highest IoU >= 0.3 (greedy, no motion model, no memory).
* ``boxmot defaults``: boxmot's own yaml defaults (frame counts tuned at 30 fps), with appearance and
  camera-motion compensation off (no weights offline; fixed camera). strongsort cannot run without
  appearance, so it gets the weight-free colour histograms in every row.
* ``fps-aware``: Trackroom's frame-rate-aware durations (``tracking.mot.fps_aware_params``).
* ``fps-aware + colour``: plus the weight-free colour-histogram appearance (trackers that accept
  appearance).
* ``+ post``: the same tracks after ``tracking.postprocess.postprocess_tracks`` (stitch, interpolate,
  drop short tracks).
* ``trackroom``: the recommended configuration, online and with post-processing.
* ``--e2e``: the default detector (bundled yolo11n-pose, persons) + recommended tracker +
  post-processing on the video itself, end to end.

Usage::

    .venv/bin/python benchmarks/mot_quality.py [--e2e] [--e2e-frames N] [--trackers a,b]

Needs ../shared/benchmarks/pets09-s2l1 and the video (``scripts/fetch-pets09``). Result files go to
benchmarks/out/mot_quality/ (git-ignored).
"""

from __future__ import annotations

import argparse
import configparser
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tracking.metrics import evaluate_mot  # noqa: E402
from tracking.mot import BOXMOT_TRACKERS, RECOMMENDED_NAME, _accepts_embeddings, create_tracker  # noqa: E402
from tracking.motchallenge import detections_by_frame, read_mot, write_mot  # noqa: E402
from tracking.postprocess import postprocess_tracks, tracks_to_rows  # noqa: E402
from tracking.types import Detections, TrackedObject  # noqa: E402

SHARED = ROOT.parent / "shared" / "benchmarks" / "pets09-s2l1"
OUT = ROOT / "benchmarks" / "out" / "mot_quality"


def load_frames(video: Path, count: int) -> list[np.ndarray]:
    from tracking.video import open_video

    with open_video(video) as src:
        return [frame for _, frame in src.frames(0, count)]


def greedy_iou(dets: dict[int, Detections], length: int, gate: float = 0.3) -> dict[int, list[TrackedObject]]:
    out: dict[int, list[TrackedObject]] = {}
    prev: list[TrackedObject] = []
    next_id = 1
    for f in range(length):
        d = dets.get(f, Detections.empty())
        cur: list[TrackedObject] = []
        used: set[int] = set()
        pairs = []
        for i in range(len(d)):
            for j, p in enumerate(prev):
                pairs.append((_iou(d.xyxy[i], p.xyxy), i, j))
        taken_det: set[int] = set()
        for iou, i, j in sorted(pairs, reverse=True):
            if iou < gate:
                break
            if i in taken_det or j in used:
                continue
            taken_det.add(i)
            used.add(j)
            cur.append(TrackedObject(prev[j].track_id, d.xyxy[i], float(d.conf[i]), 0, det_index=i))
        for i in range(len(d)):
            if i not in taken_det:
                cur.append(TrackedObject(next_id, d.xyxy[i], float(d.conf[i]), 0, det_index=i))
                next_id += 1
        out[f] = cur
        prev = cur
    return out


def _iou(a, b) -> float:
    iw = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    ih = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = iw * ih
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def run_tracker(tracker, dets, length, frames, blank) -> tuple[dict[int, list[TrackedObject]], float]:
    out = {}
    start = time.perf_counter()
    for f in range(length):
        frame = frames[f] if tracker.needs_frame else blank
        out[f] = tracker.update(dets.get(f, Detections.empty()), frame)
    return out, (time.perf_counter() - start) / length * 1000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", default=str(SHARED), help="PETS09-S2L1 folder (gt/, det/, seqinfo.ini)")
    parser.add_argument("--video", default=os.environ.get("TRACKROOM_TEST_VIDEO"), help="vtest.avi")
    parser.add_argument("--trackers", default=",".join(BOXMOT_TRACKERS))
    parser.add_argument("--e2e", action="store_true", help="add the default detector end-to-end row")
    parser.add_argument("--e2e-frames", type=int, help="end-to-end on the first N frames only")
    parser.add_argument("--e2e-imgsz", type=int, default=1280)
    args = parser.parse_args()

    data = Path(args.data)
    info = configparser.ConfigParser()
    info.read(data / "seqinfo.ini")
    fps = float(info["Sequence"]["frameRate"])
    length = int(info["Sequence"]["seqLength"])
    gt_path = data / "gt" / "gt.txt"
    dets = detections_by_frame(data / "det" / "det.txt")
    video = Path(args.video) if args.video else None
    if video is None or not video.is_file():
        out = subprocess.run([str(ROOT / "scripts" / "fetch-pets09")], capture_output=True, text=True, check=True)
        video = Path(out.stdout.strip().splitlines()[-1])
    frames = load_frames(video, length)
    blank = np.zeros_like(frames[0])
    OUT.mkdir(parents=True, exist_ok=True)

    rows: list[tuple[str, str, dict, float]] = []

    def score(label: str, config: str, tracks: dict[int, list[TrackedObject]], ms: float, seq_length=length):
        mot_rows = [r for rs in tracks_to_rows(tracks).values() for r in rs]
        slug = f"{label}__{config}".replace(" ", "_").replace("+", "plus").replace("/", "_")
        write_mot(OUT / f"{slug}.txt", mot_rows)
        gt = gt_path if seq_length == length else {f: r for f, r in read_mot(gt_path).items() if f < seq_length}
        m = evaluate_mot(gt, mot_rows, seq_length)
        rows.append((label, config, m, ms))
        print(f"  {label:11s} {config:24s} HOTA {m['HOTA']:.3f} IDF1 {m['IDF1']:.3f} IDSW {m['IDSW']}", flush=True)

    print(f"PETS09-S2L1: {length} frames at {fps:g} fps, {sum(len(d) for d in dets.values())} public detections")
    start = time.perf_counter()
    score("greedy IoU", "baseline", greedy_iou(dets, length), (time.perf_counter() - start) / length * 1000)

    for name in [n.strip() for n in args.trackers.split(",") if n.strip()]:
        colour_only = name == "strongsort"  # no switch to turn its appearance off
        base_app = "colour" if colour_only else "none"
        t = create_tracker(name, fps=fps, tuned=False, appearance=base_app)
        tracks, ms = run_tracker(t, dets, length, frames, blank)
        score(name, "boxmot defaults" + (" + colour" if colour_only else ""), tracks, ms)
        t = create_tracker(name, fps=fps, tuned=True, appearance=base_app)
        tracks, ms = run_tracker(t, dets, length, frames, blank)
        score(name, "fps-aware" + (" + colour" if colour_only else ""), tracks, ms)
        score(name, "fps-aware" + (" + colour" if colour_only else "") + " + post", postprocess_tracks(tracks, fps), ms)
        if _accepts_embeddings(name) and not colour_only:
            t = create_tracker(name, fps=fps, tuned=True, appearance="colour")
            tracks, ms = run_tracker(t, dets, length, frames, blank)
            score(name, "fps-aware + colour", tracks, ms)
            score(name, "fps-aware + colour + post", postprocess_tracks(tracks, fps), ms)

    t = create_tracker(RECOMMENDED_NAME, fps=fps)
    tracks, ms = run_tracker(t, dets, length, frames, blank)
    score(RECOMMENDED_NAME, "online", tracks, ms)
    score(RECOMMENDED_NAME, "recommended (+ post)", postprocess_tracks(tracks, fps), ms)
    t = create_tracker(RECOMMENDED_NAME, fps=fps, appearance="none")
    tracks, ms = run_tracker(t, dets, length, frames, blank)
    score(RECOMMENDED_NAME, "no colour + post", postprocess_tracks(tracks, fps), ms)

    if args.e2e:
        e2e_row(video, fps, length, args, score)

    print()
    print(f"| tracker | configuration | HOTA | DetA | AssA | MOTA | IDF1 | IDSW | FP | FN | IDs | ms/frame |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for label, config, m, ms in rows:
        print(
            f"| {label} | {config} | {m['HOTA']:.3f} | {m['DetA']:.3f} | {m['AssA']:.3f} | {m['MOTA']:.3f} | "
            f"{m['IDF1']:.3f} | {m['IDSW']} | {m['FP']} | {m['FN']} | {m['IDs']} | {ms:.1f} |"
        )
    print(f"\nGT: {rows[0][2]['GT_IDs']} identities, {rows[0][2]['GT_dets']} evaluated boxes. "
          f"ms/frame: tracker update only (public detections), except the end-to-end row (decode + detect + track).")
    return 0


def e2e_row(video: Path, fps: float, length: int, args, score) -> None:
    try:
        from tracking.detectors import create_detector
        from tracking.pipeline import track_video
    except ImportError as exc:  # the detector helper's modules are not there yet
        print(f"  end-to-end skipped: {exc}")
        return
    from tracking import runtime

    runtime.configure_offline()
    runtime.torch_threads()
    stop = min(length, args.e2e_frames or length)
    detector = create_detector("default", imgsz=args.e2e_imgsz, classes=["person"])
    tracker = create_tracker(RECOMMENDED_NAME, fps=fps)
    tracks: dict[int, list[TrackedObject]] = {}
    start = time.perf_counter()
    for result in track_video(video, detector, tracker, 0, stop):
        tracks[result.frame_index] = result.objects
    ms = (time.perf_counter() - start) / stop * 1000
    config = f"e2e yolo11n-pose {args.e2e_imgsz}" + (f" ({stop} fr)" if stop < length else "")
    score(RECOMMENDED_NAME, config + " online", tracks, ms, stop)
    score(RECOMMENDED_NAME, config + " + post", postprocess_tracks(tracks, fps), ms, stop)


if __name__ == "__main__":
    raise SystemExit(main())
