"""``trackroom convert IN --from mot --to cvat -o OUT``: convert annotations between MOTChallenge txt,
CVAT for video 1.1 XML, YOLO txt per frame (zip) and COCO-style video JSON, keeping track IDs."""

from __future__ import annotations

import argparse
import os
import re
import sys
from pathlib import Path

from ..errors import TrackroomError
from ..formats import FORMATS, LabelSpec, VideoMeta, export_bytes, get_format, sort_for


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "convert",
        help="convert annotations between mot, cvat, yolo and coco, keeping track IDs",
        description="Read an annotation file and write it in another format. Track IDs are kept. YOLO "
        "coordinates are fractions of the frame size and masks need the frame size: give --video-size "
        "(CVAT and COCO files carry it). --frames is the video's frame count (default: the last frame "
        "seen + 1); CVAT ends a track early with an outside shape only when it knows the count.",
    )
    p.add_argument("input", help="input file (a .zip for yolo)")
    p.add_argument("--from", dest="src", required=True, choices=sorted(FORMATS), help="input format")
    p.add_argument("--to", dest="dst", required=True, choices=sorted(FORMATS), help="output format")
    p.add_argument("-o", "--out", required=True, help="output file ('-' for standard output)")
    p.add_argument("--video-size", help="WIDTHxHEIGHT of the video, e.g. 768x576")
    p.add_argument("--frames", type=int, help="number of frames of the video")
    p.add_argument("--fps", type=float, default=0.0, help="frame rate written to COCO's video entry")
    p.add_argument("--labels", help="label names in class-id order, e.g. person,car (MOT/YOLO class ids → names)")
    p.add_argument("--detections", action="store_true", help="the input has no track IDs (e.g. det.txt)")
    p.set_defaults(func=run)


def _size_from_file(data: bytes, fmt: str) -> tuple[int, int, int] | None:
    text = data[:1 << 20].decode("utf-8", "replace")
    if fmt == "cvat":
        w = re.search(r"<original_size>\s*<width>(\d+)</width>\s*<height>(\d+)</height>", text)
        n = re.search(r"<task>.*?<size>(\d+)</size>", text, re.S)
        if w:
            return int(w[1]), int(w[2]), int(n[1]) if n else 0
    if fmt == "coco":
        m = re.search(r'"videos"\s*:\s*\[\s*\{[^}]*"width"\s*:\s*(\d+)\s*,\s*"height"\s*:\s*(\d+)\s*,\s*"length"\s*:\s*(\d+)', text)
        if m:
            return int(m[1]), int(m[2]), int(m[3])
    return None


def run(args: argparse.Namespace) -> int:
    path = Path(args.input)
    if not path.is_file():
        raise TrackroomError(f"Input file not found: {path}")
    data = path.read_bytes()
    width = height = frames = 0
    found = _size_from_file(data, args.src)
    if found:
        width, height, frames = found
    if args.video_size:
        m = re.fullmatch(r"(\d+)x(\d+)", args.video_size)
        if not m:
            raise TrackroomError(f"--video-size {args.video_size!r} must look like 768x576.")
        width, height = int(m[1]), int(m[2])
    if args.frames:
        frames = args.frames
    needs_size = args.src == "yolo" or args.dst == "yolo"
    if needs_size and not (width and height):
        raise TrackroomError("YOLO coordinates are fractions of the frame: give --video-size WIDTHxHEIGHT.")
    names = [n.strip() for n in args.labels.split(",")] if args.labels else []
    read_meta = VideoMeta(path.stem, width, height, frames or 10**9, args.fps) if (width or frames) else None
    if read_meta is not None and not width:
        read_meta.width = read_meta.height = 10**6  # unknown size: no bounds to check against
    shapes = get_format(args.src).read(data, read_meta, require_ids=not args.detections)
    for s in shapes:  # class ids → names
        if s.label is None:
            if s.cls is not None and names:
                index = s.cls - 1 if args.src == "mot" else s.cls
                s.label = names[index] if 0 <= index < len(names) else f"class{s.cls}"
            else:
                s.label = names[0] if names else "object"
    order: list[str] = list(names)
    kinds: dict[str, str] = {}
    for s in shapes:
        if s.label not in order:
            order.append(s.label)
        kinds.setdefault(s.label, s.kind)
    if not frames:
        frames = max((s.frame + 1 for s in shapes), default=0)
    meta = VideoMeta(path.stem, width, height, frames, args.fps, [LabelSpec(n, kinds.get(n, "box")) for n in order])
    fmt = get_format(args.dst)
    pieces = export_bytes(fmt, meta, sort_for(fmt, shapes))
    if args.out == "-":
        for piece in pieces:
            sys.stdout.buffer.write(piece)
    else:
        out = Path(args.out)
        tmp = out.with_name(out.name + ".part")
        with tmp.open("wb") as fh:
            for piece in pieces:
                fh.write(piece)
        os.replace(tmp, out)  # never leave a half-written file
        print(f"{len(shapes)} shapes, {len({s.track for s in shapes})} tracks → {out}", file=sys.stderr)
    return 0
