"""Import/export on real ground truth and on a large video.

1. PETS09-S2L1 ``gt.txt`` (4,650 boxes, 19 people) through the app's services on a throwaway database:
   import as tracks, score against itself (TrackEval), export in every format, import each export into
   a fresh video and export again (must be byte-identical), and compare the MOT export's first seven
   columns with the original file.
2. Export speed and memory on ``--tracks`` x ``--frames`` stored box figures (default 100,000): the
   streaming export (chunked database reads, formats written piece by piece) against the plain way
   (every row as a model instance, the whole file built as one string), in the same process.

    .venv/bin/python benchmarks/export_speed.py [--gt ../shared/benchmarks/pets09-s2l1/gt/gt.txt]
        [--tracks 20] [--frames 5000]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "trackroom.settings")
DEFAULT_GT = ROOT.parent / "shared" / "benchmarks" / "pets09-s2l1" / "gt" / "gt.txt"


def measure(fn):
    start = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - start, None


def peak_memory(fn) -> int:
    """Peak Python allocation of one run (tracemalloc slows the run down, so it is not timed)."""
    tracemalloc.start()
    fn()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gt", type=Path, default=DEFAULT_GT)
    parser.add_argument("--tracks", type=int, default=20)
    parser.add_argument("--frames", type=int, default=5000)
    args = parser.parse_args()
    os.environ.setdefault("TRACKROOM_DATA_DIR", tempfile.mkdtemp(prefix="trackroom-export-bench-"))

    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command

    from labeling.models import Figure, LabelClass, Membership, Project, Role, ShapeKind, Track, Video
    from labeling.selectors_exchange import score_video
    from labeling.services.exchange import export_video, import_annotations
    from tracking.formats import FORMATS

    call_command("migrate", verbosity=0)
    user = get_user_model().objects.create(username="bench")
    project = Project.objects.create(name="bench")
    Membership.objects.create(user=user, project=project, role=Role.OWNER)
    LabelClass.objects.create(project=project, name="person", shape=ShapeKind.BOX)

    def video(name="PETS09-S2L1.avi", frames=795):
        return Video.objects.create(project=project, name=name, file=f"videos/{name}", fps=7.0, frame_count=frames,
                                    width=768, height=576, codec="MP43", size=1, checksum="0" * 64)  # fmt: skip

    def export(v, fmt) -> bytes:
        return b"".join(export_video(v, fmt)[2])

    ok = True
    if args.gt.is_file():
        original = args.gt.read_bytes()
        v = video()
        result, seconds, _ = measure(lambda: import_annotations(video=v, data=original, format_name="mot", user=user))
        print(f"## PETS09-S2L1 gt.txt: {len(result.tracks)} tracks, {result.figures} figures imported in {seconds:.2f} s")
        scores, seconds, _ = measure(lambda: score_video(v, {"source": "imported"}, {"source": "imported"}))
        print(f"score against itself: HOTA {scores['hota']:.3f}  MOTA {scores['mota']:.3f}  IDF1 {scores['idf1']:.3f}  "
              f"ID switches {scores['id_switches']}  ({seconds:.2f} s)\n")  # fmt: skip
        ok &= scores["hota"] == scores["mota"] == scores["idf1"] == 1.0
        print("| format | export size | export | re-import | export again | identical |")
        print("|---|---|---|---|---|---|")
        for fmt in FORMATS:
            first, t_export, _ = measure(lambda: export(v, fmt))
            copy = video()
            _, t_import, _ = measure(lambda: import_annotations(video=copy, data=first, format_name=fmt, user=user))
            again, t_again, _ = measure(lambda: export(copy, fmt))
            same = again == first and export(copy, "mot") == export(v, "mot")
            ok &= same
            print(f"| {fmt} | {len(first) / 1024:.0f} KiB | {t_export * 1000:.0f} ms | {t_import * 1000:.0f} ms | "
                  f"{t_again * 1000:.0f} ms | {'yes' if same else 'NO'} |")  # fmt: skip
        mine = {tuple(line.split(",")[:7]) for line in export(v, "mot").decode().splitlines()}
        theirs = {tuple(line.split(",")[:7]) for line in original.decode().splitlines() if line.strip()}
        print(f"\nMOT export vs the original gt.txt, columns 1-7 (frame, id, box, flag): "
              f"{len(theirs - mine)} of {len(theirs)} rows differ")  # fmt: skip
        ok &= mine == theirs
    else:
        print(f"(no {args.gt}: PETS09 round trip skipped)")

    n = args.tracks * args.frames
    big = video("big.avi", args.frames)
    label = LabelClass.objects.get(project=project)
    tracks = Track.objects.bulk_create(Track(video=big, label=label, number=i + 1) for i in range(args.tracks))
    Figure.objects.bulk_create(
        (Figure(track=t, video=big, frame=f, x1=10.5 + f % 300, y1=20.25, x2=60.5 + f % 300, y2=140.75,
                data={"x1": 10.5 + f % 300, "y1": 20.25, "x2": 60.5 + f % 300, "y2": 140.75}, confidence=0.87)
         for t in tracks for f in range(args.frames)), batch_size=5000,
    )  # fmt: skip

    def plain() -> bytes:
        rows = Figure.objects.filter(video=big).select_related("track").order_by("frame", "track__number")
        text = "".join(
            f"{r.frame + 1},{r.track.number},{r.x1},{r.y1},{r.x2 - r.x1},{r.y2 - r.y1},{r.confidence},1,1\n" for r in rows
        )
        return text.encode()

    print(f"\n## Export of {n:,} box figures ({args.tracks} tracks x {args.frames} frames), SQLite, best of 2\n")
    print("| way | format | time | peak Python memory | MB/s |")
    print("|---|---|---|---|---|")
    base = min((measure(plain) for _ in range(2)), key=lambda m: m[1])
    print(f"| plain: model instances, one string | mot | {base[1]:.2f} s | {peak_memory(plain) / 1e6:.0f} MB | "
          f"{len(base[0]) / 1e6 / base[1]:.1f} |", flush=True)  # fmt: skip
    for fmt in FORMATS:
        def streamed():
            size = 0
            for piece in export_video(big, fmt)[2]:
                size += len(piece)
            return size

        best = min((measure(streamed) for _ in range(2)), key=lambda m: m[1])
        ratio = f" ({base[1] / best[1]:.2f}x the plain way's speed)" if fmt == "mot" else ""
        peak = peak_memory(streamed)
        print(f"| Trackroom streaming{ratio} | {fmt} | {best[1]:.2f} s | {peak / 1e6:.1f} MB | {best[0] / 1e6 / best[1]:.1f} |",
              flush=True)  # fmt: skip
    print("\nresult:", "OK" if ok else "FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
