"""``trackroom eval GT TRACKS [--seq-length N]``: score a MOTChallenge result file with TrackEval."""

from __future__ import annotations

import argparse
import json

from ..errors import TrackroomError

_TABLE = [  # (key, label, kind)
    ("HOTA", "HOTA", "pct"),
    ("DetA", "DetA", "pct"),
    ("AssA", "AssA", "pct"),
    ("MOTA", "MOTA", "pct"),
    ("IDF1", "IDF1", "pct"),
    ("IDSW", "IDSW", "int"),
    ("FP", "FP", "int"),
    ("FN", "FN", "int"),
    ("IDs", "IDs", "int"),
    ("GT_IDs", "GT IDs", "int"),
]


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "eval",
        help="score tracking results against MOTChallenge ground truth (HOTA, MOTA, IDF1)",
        description="Compute HOTA (DetA, AssA), CLEAR MOTA and ID switches, and IDF1 with TrackEval. Both files "
        "are MOTChallenge text (frame,id,x,y,w,h,conf,...; 1-based frames). Ground-truth rows whose 7th "
        "value is 0 are ignored; a 9-column ground truth carries class and visibility (MOT16/17/20), "
        "otherwise every box is a pedestrian (MOT15).",
    )
    p.add_argument("gt", help="ground-truth file (gt.txt)")
    p.add_argument("tracks", help="tracking result file")
    p.add_argument("--seq-length", type=int, help="number of frames in the sequence (default: last frame in the files)")
    p.add_argument("--json", action="store_true", help="print every metric as JSON instead of the table")
    p.set_defaults(func=run)


def format_table(metrics: dict) -> str:
    header = " | ".join(label for _, label, _ in _TABLE)
    cells = []
    for key, label, kind in _TABLE:
        value = metrics[key]
        text = f"{100 * value:.1f}" if kind == "pct" else str(int(value))
        cells.append(text.rjust(len(label)))
    return f"{header}\n{' | '.join(cells)}"


def run(args: argparse.Namespace) -> int:
    from ..metrics import evaluate_mot

    if args.seq_length is not None and args.seq_length <= 0:
        raise TrackroomError(f"--seq-length must be a positive number of frames, not {args.seq_length}.")
    metrics = evaluate_mot(args.gt, args.tracks, seq_length=args.seq_length)
    print(json.dumps(metrics, indent=2) if args.json else format_table(metrics))
    return 0
