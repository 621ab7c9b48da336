"""YOLO txt, one file per frame, with a track-ID column: a zip holding ``classes.txt`` (one label
name per line; the line's 0-based position is the class id) and ``labels/frame_000123.txt`` (frame
123, 0-based) with rows ``class cx cy w h track_id``, coordinates normalised to the frame size;
a figure whose confidence is not 1 gets it before the ID (``class cx cy w h conf track_id``, the
Ultralytics tracking layout). Only frames with objects get a file; on reading, the frame is the last
number in each file's name. Every shape is written as its box (YOLO txt carries no masks)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from itertools import groupby
from pathlib import PurePosixPath

from .base import ErrorList, Shape, VideoMeta, box_shape, finite, num, whole
from .zipstream import is_zip, read_zip

name = "yolo"
extension = "zip"
content_type = "application/zip"
order = "frame"
multi_file = True

CLASSES_FILE = "classes.txt"
_NAMES_FILES = {"classes.txt", "obj.names", "classes.names"}
_DIGITS = re.compile(r"(\d+)(?!.*\d)")
MAX_UNPACKED = 2 << 30


def _rows(meta: VideoMeta, shapes: list[Shape]) -> Iterator[str]:
    index = {label.name: i for i, label in enumerate(meta.labels)}
    for s in shapes:
        if s.outside:
            continue
        x1, y1, x2, y2 = s.bbox
        cx, cy = (x1 + x2) / 2 / meta.width, (y1 + y2) / 2 / meta.height
        w, h = (x2 - x1) / meta.width, (y2 - y1) / meta.height
        cls = index.get(s.label, 0) if s.label is not None else (s.cls or 0)
        # A confidence other than 1 goes in Ultralytics' column before the ID.
        conf = "" if s.confidence is None or s.confidence == 1 else f" {num(s.confidence, 6)}"
        yield f"{cls} {num(cx, 8)} {num(cy, 8)} {num(w, 8)} {num(h, 8)}{conf} {s.track}\n"


def write(meta: VideoMeta, shapes: Iterable[Shape]) -> Iterator[tuple[str, Iterable[str]]]:
    yield CLASSES_FILE, ["".join(f"{label.name}\n" for label in meta.labels)]
    for frame, group in groupby(shapes, key=lambda s: s.frame):
        rows = list(_rows(meta, list(group)))
        if rows:
            yield f"labels/frame_{frame:06d}.txt", ["".join(rows)]


def read(data: bytes, meta: VideoMeta | None = None, *, require_ids: bool = True) -> list[Shape]:
    errors = ErrorList()
    if meta is None:
        errors.add(None, "YOLO coordinates are fractions of the frame size; the video's size is needed to read them.")
        errors.raise_if_any()
    if not is_zip(data):
        errors.add(None, "a YOLO import is a .zip of per-frame .txt files (labels/frame_000000.txt, ...) and classes.txt.")
        errors.raise_if_any()
    try:
        files = read_zip(data, MAX_UNPACKED)
    except Exception as exc:  # noqa: BLE001 - any unreadable archive is the user's file problem
        errors.add(None, f"the zip cannot be read ({exc}).")
        errors.raise_if_any()
    names: list[str] | None = None
    for path, content in files.items():
        if PurePosixPath(path).name in _NAMES_FILES:
            names = [n.strip() for n in content.decode("utf-8", "replace").splitlines() if n.strip()]
    shapes: list[Shape] = []
    seen: dict[tuple[int, int], str] = {}
    for path in sorted(files):
        base = PurePosixPath(path).name
        if base in _NAMES_FILES or not base.endswith(".txt"):
            continue
        match = _DIGITS.search(PurePosixPath(path).stem)
        if match is None:
            errors.add(None, "the file name has no frame number (expected e.g. frame_000123.txt).", path)
            continue
        frame = int(match.group(1))
        if frame >= meta.frame_count:
            errors.add(None, f"frame {frame} is past the end of the video (frames 0..{meta.frame_count - 1}).", path)
            continue
        for lineno, raw in enumerate(files[path].decode("utf-8", "replace").splitlines(), 1):
            where = f"{path} line {lineno}"
            if errors.full:
                break
            parts = raw.split()
            if not parts:
                continue
            if len(parts) not in (5, 6, 7) or (require_ids and len(parts) == 5):
                need = "class cx cy w h track_id" if require_ids else "class cx cy w h [track_id]"
                errors.add(lineno, f"expected '{need}', found {len(parts)} values.", where)
                continue
            try:
                cls = whole(parts[0], "the class")
                cx, cy, w, h = (finite(p, what) for p, what in zip(parts[1:5], ("cx", "cy", "w", "h")))
                conf = finite(parts[5], "the confidence") if len(parts) == 7 else None
                track = whole(parts[-1], "the track ID") if len(parts) > 5 else -1
            except ValueError as exc:
                errors.add(lineno, f"{exc}.", where)
                continue
            if w <= 0 or h <= 0:
                errors.add(lineno, "the box's width and height must be positive.", where)
                continue
            if max(abs(cx), abs(cy), w, h) > 2:
                errors.add(lineno, "coordinates must be fractions of the frame size (0..1), not pixels.", where)
                continue
            if names is not None and not 0 <= cls < len(names):
                errors.add(lineno, f"class {cls} is not in classes.txt ({len(names)} names).", where)
                continue
            if require_ids:
                if track < 1:
                    errors.add(lineno, f"track ID {track}: tracks need IDs from 1.", where)
                    continue
                if (frame, track) in seen:
                    errors.add(lineno, f"track {track} is on frame {frame} twice.", where)
                    continue
                seen[(frame, track)] = where
            x, y = (cx - w / 2) * meta.width, (cy - h / 2) * meta.height
            shapes.append(
                box_shape(
                    frame, track if require_ids else -1, x, y, w * meta.width, h * meta.height,
                    label=names[cls] if names is not None else None, cls=None if names is not None else cls,
                    confidence=conf, line=lineno, where=where,
                )
            )  # fmt: skip
    errors.raise_if_any()
    shapes.sort(key=lambda s: (s.frame, s.track))
    return shapes
