"""Frame decoding benchmark on the PETS09-S2L1 footage: PyAV vs OpenCV frame sources.

Measures, in one process and on the same file:
  * open: building the frame index (exact count) cold, and re-opening with the cached index;
  * sequential: frames/s of ``frames()`` over the whole video (BGR arrays);
  * random access: latency of ``read(n)`` for random n (all frame-exact), against the named
    baseline "naive" = the skeleton's exact method (OpenCV, restart at frame 0 and grab forward);
  * read-ahead: a consumer that spends ~4 ms per frame (a stand-in for inference), with and
    without ``prefetch=8``;
  * probe_video: the full validation an upload goes through (decodes every frame, no conversion).

    .venv/bin/python benchmarks/video_decoding.py [--video PATH] [--samples 40]
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import cv2  # noqa: E402

from tracking import video as video_module  # noqa: E402
from tracking.video import open_video, probe_video  # noqa: E402


def default_video() -> Path:
    env = os.environ.get("TRACKROOM_TEST_VIDEO")
    return Path(env) if env else Path.home() / ".cache" / "trackroom" / "vtest.avi"


def naive_read(path: str, n: int):
    cap = cv2.VideoCapture(path)
    for _ in range(n):
        cap.grab()
    ok, frame = cap.read()
    cap.release()
    return frame


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--video", type=Path, default=default_video())
    parser.add_argument("--samples", type=int, default=40)
    args = parser.parse_args()
    path = str(args.video)
    if not args.video.is_file():
        sys.exit(f"No video at {path}: run scripts/fetch-pets09 or pass --video.")
    cv2.setNumThreads(max(1, os.cpu_count() or 1))
    info = probe_video(path)
    print(
        f"{args.video.name}: {info.frame_count} frames {info.width}x{info.height} {info.codec}, "
        f"{os.cpu_count()} CPUs\n"
    )

    rng = random.Random(0)
    targets = [rng.randrange(info.frame_count) for _ in range(args.samples)]
    rows = []

    naive = [timed(lambda n=n: naive_read(path, n)) * 1000 for n in targets[: max(5, args.samples // 4)]]
    rows.append(("random read", "naive (baseline)", statistics.mean(naive), "ms"))
    for backend in ("pyav", "opencv"):
        video_module._INDEX_CACHE = video_module._LRU()
        cold = timed(lambda b=backend: open_video(path, b).close()) * 1000
        warm = timed(lambda b=backend: open_video(path, b).close()) * 1000
        rows.append(("open (index cold)", backend, cold, "ms"))
        rows.append(("open (index cached)", backend, warm, "ms"))
        with open_video(path, backend) as src:
            latencies = [timed(lambda n=n: src.read(n)) * 1000 for n in targets]
        rows.append(("random read", backend, statistics.mean(latencies), "ms"))
        rows.append(("random read p95", backend, sorted(latencies)[int(0.95 * (len(latencies) - 1))], "ms"))
        with open_video(path, backend) as src:
            seconds = timed(lambda s=src: [None for _ in s.frames()])
        rows.append(("sequential", backend, info.frame_count / seconds, "frames/s"))

        def consume(prefetch: int, b=backend) -> float:
            with open_video(path, b) as src:
                frames = src.frames(0, 300, prefetch=prefetch)
                start = time.perf_counter()
                for _, frame in frames:
                    deadline = time.perf_counter() + 0.004
                    while time.perf_counter() < deadline:  # busy, holds the GIL like Python-side work
                        pass
                return 300 / (time.perf_counter() - start)

        rows.append(("4 ms consumer, no read-ahead", backend, consume(0), "frames/s"))
        rows.append(("4 ms consumer, prefetch=8", backend, consume(8), "frames/s"))
    rows.append(("probe_video (upload check)", "pyav", timed(lambda: probe_video(path)) * 1000, "ms"))

    baseline = statistics.mean(naive)
    print(f"{'measure':32} {'backend':18} {'value':>10}  unit       vs naive")
    for measure, backend, value, unit in rows:
        ratio = f"{baseline / value:6.1f}x faster" if measure == "random read" else ""
        print(f"{measure:32} {backend:18} {value:10.1f}  {unit:10} {ratio}")


if __name__ == "__main__":
    main()
