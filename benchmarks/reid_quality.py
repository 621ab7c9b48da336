"""Self-supervised ReID on PETS09-S2L1: does a model trained without labels help the tracker?

Rows, every one the same association (BoostTrack with Trackroom's frame-rate-aware parameters,
``tracking.mot.recommended_params``) and the same offline post-processing
(``tracking.postprocess.postprocess_tracks``), scored with TrackEval against the ground truth:

* (a) motion only: no appearance cue at all;
* (a') the recommended ``trackroom`` tracker: motion + weight-free colour histograms;
* (b) ``reid`` with ImageNet MobileNetV2 features (``reid_model="imagenet"``);
* (c) ``reid`` with the self-supervised model, trained here by ``tracking.reid.train.train_reid`` on
  the video's frames and its public detections ``det/det.txt`` only. The ground truth is used for
  scoring and for nothing else.

(b) and (c) are scored at each ``--weights`` value of ``reid_weight`` (the learned cue's share of the
appearance similarity, the rest colour histograms; 1 = learned embedding only).

Usage::

    .venv/bin/python benchmarks/reid_quality.py [--steps 600] [--seeds 0,1,2] [--weights 1,0.3]
    .venv/bin/python benchmarks/reid_quality.py --seeds '' --model a.pt --model b.pt   # score existing models

Needs ../shared/benchmarks/pets09-s2l1 and the video (``scripts/fetch-pets09``). The trained model and
result files go to benchmarks/out/reid_quality/ (git-ignored).
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

from benchmarks.mot_quality import load_frames  # noqa: E402  (same frames as the motion benchmark)
from tracking.metrics import evaluate_mot  # noqa: E402
from tracking.mot import DEFAULT_REID_WEIGHT, RECOMMENDED_NAME, REID_NAME, create_tracker  # noqa: E402
from tracking.motchallenge import detections_by_frame, write_mot  # noqa: E402
from tracking.postprocess import postprocess_tracks, tracks_to_rows  # noqa: E402
from tracking.types import Detections  # noqa: E402

SHARED = ROOT.parent / "shared" / "benchmarks" / "pets09-s2l1"
OUT = ROOT / "benchmarks" / "out" / "reid_quality"


class Precomputed:
    """An appearance model's embeddings of every public detection, computed once per model; the
    tracker gets exactly the rows the model would compute (same boxes, same order), so a sweep over
    tracker settings does not re-run the network."""

    def __init__(self, model, dets: dict, frames: list[np.ndarray]):
        started = time.perf_counter()
        self.by_frame = {f: model.embed(frames[f], d.xyxy) for f, d in dets.items() if len(d)}
        self.ms_per_frame = (time.perf_counter() - started) / len(frames) * 1000
        self.dim = model.dim
        self.frame = 0

    def get_features(self, boxes, image):
        rows = self.by_frame.get(self.frame, np.zeros((0, self.dim), np.float32))
        assert len(rows) == len(boxes), "boxmot passed other boxes than the public detections"
        return rows


def run(tracker, dets, frames, precomputed: Precomputed | None = None) -> tuple[dict, float]:
    out = {}
    start = time.perf_counter()
    for f, frame in enumerate(frames):
        if precomputed is not None:
            precomputed.frame = f
        out[f] = tracker.update(dets.get(f, Detections.empty()), frame)
    ms = (time.perf_counter() - start) / len(frames) * 1000
    return out, ms + (precomputed.ms_per_frame if precomputed is not None else 0.0)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", default=str(SHARED), help="PETS09-S2L1 folder (gt/, det/, seqinfo.ini)")
    parser.add_argument("--video", default=os.environ.get("TRACKROOM_TEST_VIDEO"), help="vtest.avi")
    parser.add_argument("--steps", type=int, default=600, help="training steps for (c)")
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--seeds", default="0", help="train (c) once per seed, e.g. 0,1,2 ('' = train none)")
    parser.add_argument("--model", action="append", default=[], help="also score an existing model file")
    parser.add_argument("--weights", default=f"{DEFAULT_REID_WEIGHT:g},0.3",
                        help="reid_weight values to score for (b) and (c), e.g. 0.2,0.3,0.5,1.0")
    parser.add_argument("--train-param", action="append", default=[], metavar="KEY=VALUE")
    args = parser.parse_args()

    import ast

    from tracking.reid.appearance import load_appearance_model
    from tracking.reid.train import ReidTrainParams, TrainingVideo, train_reid

    def kv(items):
        out = {}
        for item in items:
            key, _, value = item.partition("=")
            try:
                out[key] = ast.literal_eval(value)
            except (ValueError, SyntaxError):
                out[key] = value
        return out

    data = Path(args.data)
    info = configparser.ConfigParser()
    info.read(data / "seqinfo.ini")
    fps = float(info["Sequence"]["frameRate"])
    length = int(info["Sequence"]["seqLength"])
    gt_path = data / "gt" / "gt.txt"
    det_path = data / "det" / "det.txt"
    dets = detections_by_frame(det_path)
    video = Path(args.video) if args.video else None
    if video is None or not video.is_file():
        out = subprocess.run([str(ROOT / "scripts" / "fetch-pets09")], capture_output=True, text=True, check=True)
        video = Path(out.stdout.strip().splitlines()[-1])
    frames = load_frames(video, length)
    OUT.mkdir(parents=True, exist_ok=True)
    weights = [float(w) for w in args.weights.split(",") if w.strip()]

    rows = []

    def score(label: str, tracks: dict, ms: float, note: str = "") -> None:
        post = postprocess_tracks(tracks, fps)
        mot_rows = [r for rs in tracks_to_rows(post).values() for r in rs]
        slug = "".join(c if c.isalnum() or c in "-_." else "_" for c in label)
        write_mot(OUT / f"{slug}.txt", mot_rows)
        m = evaluate_mot(gt_path, mot_rows, length)
        rows.append((label, m, ms, note))
        print(f"  {label:48s} HOTA {m['HOTA']:.3f} IDF1 {m['IDF1']:.3f} IDSW {m['IDSW']} {note}", flush=True)

    def reid_rows(label: str, model, note: str = "") -> None:
        pre = Precomputed(model, dets, frames)
        for w in weights:
            tracker = create_tracker(REID_NAME, fps=fps, reid_model=pre, reid_weight=w)
            tracks, ms = run(tracker, dets, frames, pre)
            cue = "learned only" if w >= 1 else f"reid_weight {w:g} (+ colour)"
            score(f"{label}, {cue}", tracks, ms, note)

    print(f"PETS09-S2L1: {length} frames at {fps:g} fps, {sum(len(d) for d in dets.values())} public detections")
    tracks, ms = run(create_tracker(RECOMMENDED_NAME, fps=fps, appearance="none"), dets, frames)
    score("(a) motion only", tracks, ms)
    tracks, ms = run(create_tracker(RECOMMENDED_NAME, fps=fps), dets, frames)
    score("(a') trackroom: motion + colour", tracks, ms)
    reid_rows("(b) ImageNet MobileNetV2", load_appearance_model("imagenet"))

    det_arrays = {f: np.concatenate([d.xyxy, d.conf[:, None]], axis=1) for f, d in dets.items()}
    trained = []
    for seed in [int(s) for s in args.seeds.split(",") if s.strip()]:
        params = ReidTrainParams(steps=args.steps, batch=args.batch, seed=seed, **kv(args.train_param))
        path = OUT / f"pets09_seed{seed}.pt"
        result = train_reid([TrainingVideo(video, det_arrays, fps=fps)], path, params)
        m = result.metrics
        trained.append((path, f"seed {seed}: trained {result.seconds:.0f} s ({args.steps} steps, CPU); held-out "
                              f"feasible top-1 {m['val_feasible_top1_before']:.2f} -> {m['val_feasible_top1']:.2f}"))
    trained += [(Path(m), "given with --model") for m in args.model]
    for path, note in trained:
        reid_rows(f"(c) self-supervised {path.stem}", load_appearance_model(path), note)

    print()
    print("| configuration | HOTA | AssA | MOTA | IDF1 | ID switches | IDs | ms/frame | notes |")
    print("|---|---|---|---|---|---|---|---|---|")
    for label, m, ms, note in rows:
        print(f"| {label} | {m['HOTA']:.3f} | {m['AssA']:.3f} | {m['MOTA']:.3f} | {m['IDF1']:.3f} | {m['IDSW']} | "
              f"{m['IDs']} | {ms:.1f} | {note} |")
    print(f"\nGT: {rows[0][1]['GT_IDs']} identities. Every row: the same association (BoostTrack, frame-rate-aware) "
          "and the same post-processing. ms/frame: tracker update incl. embedding the crops, public detections.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
