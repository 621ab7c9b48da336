"""Single-object tracking on PETS09-S2L1 persons: OpenCV trackers bare vs inside Trackroom's wrapper.

For each chosen person (a ground-truth track visible for at least --min-run consecutive frames) the
tracker starts from the ground-truth box on the person's first frame and runs --max-frames frames
without ever being re-initialised from ground truth. Frames are decoded once into memory, so the fps
column is tracking cost only. Scores are OTB style: success AUC (IoU thresholds 0..1) and precision
(centre error <= 20 px); lost frames count as misses. Baseline: the bare OpenCV tracker ("bare"),
run in the same process; "guarded" = Trackroom's confidence / loss / re-acquisition wrapper.

    .venv/bin/python benchmarks/sot_benchmark.py [--video PATH] [--gt PATH] [--persons 4] [--max-frames 150]
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tracking.metrics_sot import score_sequence  # noqa: E402
from tracking.sot import track_single_object  # noqa: E402
from tracking.types import VideoInfo  # noqa: E402
from tracking.video import FrameSource, open_video  # noqa: E402

DEFAULT_VIDEO = Path.home() / ".cache" / "trackroom" / "vtest.avi"
DEFAULT_GT = Path(__file__).resolve().parent.parent.parent / "shared" / "benchmarks" / "pets09-s2l1" / "gt" / "gt.txt"


class MemoryFrames(FrameSource):
    """Frames first..first+len-1 of a video held in memory (indices stay the video's own)."""

    name = "memory"

    def __init__(self, frames: dict[int, np.ndarray], info: VideoInfo):
        self._frames = frames
        self.info = info

    def read(self, index: int) -> np.ndarray:
        return self._frames[index]

    def _iter_frames(self, indices: range):
        for index in indices:
            yield index, self._frames[index]

    def frames(self, start: int = 0, stop: int | None = None, step: int = 1, **_):
        stop = self.info.frame_count if stop is None else min(stop, self.info.frame_count)
        return self._iter_frames(range(start, stop, step))


def choose_persons(gt_path: Path, min_run: int, count: int) -> list[tuple[int, int, dict[int, np.ndarray]]]:
    """[(person id, first 0-based frame, {frame: xyxy})] for the `count` earliest long visible runs."""
    rows = np.loadtxt(gt_path, delimiter=",")
    runs = []
    for pid in np.unique(rows[:, 1]).astype(int):
        mine = rows[rows[:, 1] == pid]
        mine = mine[np.argsort(mine[:, 0])]
        frames = mine[:, 0].astype(int) - 1
        breaks = np.flatnonzero(np.diff(frames) != 1) + 1
        for seg in np.split(np.arange(len(frames)), breaks):
            if len(seg) >= min_run:
                boxes = {int(frames[i]): np.array([mine[i, 2], mine[i, 3], mine[i, 2] + mine[i, 4], mine[i, 3] + mine[i, 5]]) for i in seg}
                runs.append((pid, int(frames[seg[0]]), boxes))
                break
    runs.sort(key=lambda r: (r[1], r[0]))
    return runs[:count]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--video", type=Path, default=DEFAULT_VIDEO)
    ap.add_argument("--gt", type=Path, default=DEFAULT_GT)
    ap.add_argument("--persons", type=int, default=4)
    ap.add_argument("--min-run", type=int, default=150)
    ap.add_argument("--max-frames", type=int, default=150)
    ap.add_argument("--trackers", default="csrt,kcf,mil")
    ap.add_argument("--mil-repeats", type=int, default=2, help="runs per person for MIL, which is random")
    args = ap.parse_args()

    persons = choose_persons(args.gt, args.min_run, args.persons)
    with open_video(args.video) as video:
        info = video.info
        last = max(first + args.max_frames for _, first, _ in persons)
        wanted = {f for _, first, _ in persons for f in range(first, first + args.max_frames)}
        frames = {i: f for i, f in video.frames(min(wanted), min(last, info.frame_count)) if i in wanted}
    source = MemoryFrames(frames, info)
    print(f"video {args.video.name} {info.width}x{info.height}; persons "
          + ", ".join(f"#{pid} frames {first}..{first + args.max_frames - 1}" for pid, first, _ in persons))

    table: dict[tuple[str, str], list] = defaultdict(list)
    # bare and guarded runs alternate, so load from other processes hits both alike
    for pid, first, boxes in persons:
        stop = min(first + args.max_frames - 1, max(boxes))
        frames_run = range(first, stop + 1)
        for name in args.trackers.split(","):
            # MIL samples at random (not seedable from Python): average a few runs
            for wrapper in ("bare", "guarded") * (args.mil_repeats if name == "mil" else 1):
                preds: dict[int, np.ndarray] = {}
                t0, c0 = time.perf_counter(), time.process_time()
                n = 0
                for result in track_single_object(
                    source, first, boxes[first], tracker=name, stop_frame=stop, stop_on_loss=False, guard=wrapper == "guarded"
                ):
                    n += 1
                    if result.objects:
                        preds[result.frame_index] = result.objects[0].xyxy
                wall, cpu = time.perf_counter() - t0, time.process_time() - c0
                score = score_sequence([preds.get(f) for f in frames_run], [boxes[f] for f in frames_run])
                table[(name, wrapper)].append((n / wall, 1000 * cpu / n, score))

    print()
    print("fps = frames per wall-clock second; cpu ms = process CPU time per frame (all threads; less")
    print("sensitive to other load on the machine). Scores averaged over the persons.")
    print(f"{'tracker':8} {'wrapper':8} {'fps':>7} {'cpu ms':>7} {'AUC':>6} {'prec@20':>8} {'lost/frames':>12} "
          f"{'AUC vs bare':>12} {'prec vs bare':>13} {'cpu vs bare':>12}")
    for name in args.trackers.split(","):
        base = table[(name, "bare")]
        base_auc = np.mean([s.auc for _, _, s in base])
        base_prec = np.mean([s.precision for _, _, s in base])
        base_cpu = np.mean([c for _, c, _ in base])
        for wrapper in ("bare", "guarded"):
            rows = table[(name, wrapper)]
            fps = np.mean([f for f, _, _ in rows])
            cpu = np.mean([c for _, c, _ in rows])
            auc = np.mean([s.auc for _, _, s in rows])
            prec = np.mean([s.precision for _, _, s in rows])
            lost = sum(s.lost_frames for _, _, s in rows)
            frames_total = sum(s.frames for _, _, s in rows)
            print(f"{name:8} {wrapper:8} {fps:7.1f} {cpu:7.1f} {auc:6.3f} {prec:8.3f} {lost:>5}/{frames_total:<6} "
                  f"{auc - base_auc:+12.3f} {prec - base_prec:+13.3f} {cpu / base_cpu:11.2f}x")
    print()
    print("per person (AUC / precision):")
    for (name, wrapper), rows in table.items():
        per = len(rows) // len(persons)  # MIL: several runs per person, in order
        cells = "  ".join(
            f"#{pid}: " + ",".join(f"{s.auc:.2f}/{s.precision:.2f}" for _, _, s in rows[i * per : (i + 1) * per])
            for i, (pid, _, _) in enumerate(persons)
        )
        print(f"  {name:5} {wrapper:8} {cells}")


if __name__ == "__main__":
    main()
