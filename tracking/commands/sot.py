"""``trackroom sot``: follow one box through a video and write MOTChallenge rows (id 1)."""

from __future__ import annotations

import argparse
import sys

from ..errors import TrackroomError


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "sot",
        help="single-object tracking from one box",
        description="Track one object from a box on one frame; writes MOTChallenge rows (1-based frames, id 1, "
        "conf = tracking confidence).",
    )
    p.add_argument("video")
    p.add_argument("--frame", type=int, required=True, help="0-based frame the box is drawn on")
    p.add_argument("--box", required=True, help="x,y,w,h in pixels (top-left corner and size)")
    p.add_argument("--tracker", default="mil", help="csrt, kcf, mil (weight-free) or vit, nano, dasiamrpn (ONNX)")
    p.add_argument("--backward", action="store_true", help="track towards the start of the video")
    p.add_argument("--until", type=int, default=None, help="last 0-based frame to track (inclusive)")
    p.add_argument("--out", required=True, help="MOTChallenge text file to write")
    p.add_argument("--keep-going", action="store_true", help="do not stop at the first lost frame; try to re-acquire")
    p.add_argument("--raw", action="store_true", help="bare OpenCV tracker, without Trackroom's loss/re-acquisition")
    p.add_argument("--model", help="ONNX file (vit, dasiamrpn)")
    p.add_argument("--backbone", help="ONNX backbone (nano)")
    p.add_argument("--neckhead", help="ONNX neck/head (nano)")
    p.add_argument("--kernel-cls1", help="ONNX kernel_cls1 (dasiamrpn)")
    p.add_argument("--kernel-r1", help="ONNX kernel_r1 (dasiamrpn)")
    p.set_defaults(func=run)


class BoxSyntaxError(TrackroomError):
    pass


def parse_box(text: str) -> tuple[float, float, float, float]:
    """'x,y,w,h' -> xyxy."""
    parts = text.replace(" ", "").split(",")
    try:
        x, y, w, h = (float(v) for v in parts)
    except ValueError:
        raise BoxSyntaxError(f"--box must be four numbers x,y,w,h (e.g. 258,219,33,89), not '{text}'.") from None
    if w <= 0 or h <= 0:
        raise BoxSyntaxError(f"--box width and height must be positive, got w={w:g}, h={h:g}.")
    return x, y, x + w, y + h


def run(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from ..motchallenge import MotRow, write_mot
    from ..sot import track_single_object
    from ..video import open_video

    box = parse_box(args.box)
    params = {k: getattr(args, k) for k in ("model", "backbone", "neckhead", "kernel_cls1", "kernel_r1") if getattr(args, k)}
    rows: list[MotRow] = []
    lost_at = None
    with open_video(args.video) as source:
        results = track_single_object(
            source, args.frame, box, direction="backward" if args.backward else "forward", stop_frame=args.until,
            tracker=args.tracker, stop_on_loss=not args.keep_going, guard=not args.raw, **params,
        )
        bar = None
        for result in results:
            if bar is None:
                bar = tqdm(total=result.total, unit="frame", desc=f"sot {args.tracker}", file=sys.stderr)
            bar.update(1)
            if result.lost and lost_at is None:
                lost_at = result.frame_index
            for obj in result.objects:
                x1, y1, x2, y2 = (float(v) for v in obj.xyxy)
                rows.append(MotRow(frame=result.frame_index, track_id=1, x=x1, y=y1, w=x2 - x1, h=y2 - y1, conf=obj.conf))
        if bar is not None:
            bar.close()
    count = write_mot(args.out, rows)
    msg = f"wrote {count} rows to {args.out}"
    if lost_at is not None:
        msg += f"; object lost at frame {lost_at}"
    print(msg, file=sys.stderr)
    return 0
