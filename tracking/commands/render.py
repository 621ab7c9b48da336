"""``trackroom render``: draw a MOTChallenge track file onto its video as a browser-playable WebM."""

from __future__ import annotations

import argparse
import sys

import numpy as np


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "render",
        help="draw tracks onto the video (WebM)",
        description="Draw the tracks of a MOTChallenge file (frame,id,x,y,w,h,conf,...; 1-based frames) onto the "
        "video and write a WebM that browsers play.",
    )
    p.add_argument("video")
    p.add_argument("tracks", help="MOTChallenge text file")
    p.add_argument("out", help="output .webm")
    p.add_argument("--fps", type=float, default=None, help="frame rate of the output (default: the video's)")
    p.add_argument("--trail", type=int, default=15, help="frames of trail behind each box (0 = none)")
    p.add_argument("--start", type=int, default=0, help="first 0-based frame to render")
    p.add_argument("--stop", type=int, default=None, help="render up to this 0-based frame (exclusive)")
    p.add_argument("--encoder", default="pyav", choices=["pyav", "opencv"])
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from ..motchallenge import read_mot
    from ..render import RenderResult, iter_render_tracks
    from ..types import TrackedObject
    from ..video import open_video

    tracks = {
        frame: [
            TrackedObject(track_id=r.track_id, xyxy=np.array(r.xyxy, np.float32), conf=r.conf, cls=r.cls) for r in rows
        ]
        for frame, rows in read_mot(args.tracks).items()
    }
    with open_video(args.video) as source:
        gen = iter_render_tracks(
            source, tracks, args.out, fps=args.fps, trail=args.trail, start=args.start, stop=args.stop, encoder=args.encoder
        )
        result: RenderResult | None = None
        with tqdm(unit="frame", desc="render", file=sys.stderr) as bar:
            while True:
                try:
                    done, total = next(gen)
                except StopIteration as finished:
                    result = finished.value
                    break
                bar.total = total
                bar.update(1)
    print(f"wrote {result.frames} frames ({result.width}x{result.height}, {result.encoder}) to {result.path}", file=sys.stderr)
    return 0
