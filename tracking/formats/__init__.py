"""Annotation file formats, each a module with the same small interface, chosen by name:

    fmt = get_format("mot" | "cvat" | "yolo" | "coco")
    fmt.read(data: bytes, meta: VideoMeta | None, require_ids=True) -> list[Shape]   # FormatError on bad rows
    fmt.write(meta, shapes) -> iterator of (file name, iterator of text pieces)    # streaming
    fmt.order      "frame" | "track": how the writer wants shapes sorted
    fmt.multi_file True when the export is several files (YOLO: a zip)
    fmt.extension, fmt.content_type

``export_bytes(fmt, meta, shapes)`` streams one download (a zip for multi-file formats).
No Django here."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from types import ModuleType

from ..errors import UnknownNameError
from . import coco, cvat, mot, yolo
from .base import FormatError, LabelSpec, RowError, Shape, VideoMeta
from .zipstream import zip_stream

FORMATS: dict[str, ModuleType] = {"mot": mot, "cvat": cvat, "yolo": yolo, "coco": coco}


def get_format(name: str) -> ModuleType:
    try:
        return FORMATS[name]
    except KeyError:
        raise UnknownNameError("format", str(name), list(FORMATS)) from None


def sort_for(fmt: ModuleType, shapes: Iterable[Shape]) -> list[Shape]:
    key = (lambda s: (s.frame, s.track)) if fmt.order == "frame" else (lambda s: (s.track, s.frame))
    return sorted(shapes, key=key)


def export_bytes(fmt: ModuleType, meta: VideoMeta, shapes: Iterable[Shape]) -> Iterator[bytes]:
    """The export as bytes, piece by piece: a zip when the format writes several files."""
    entries = fmt.write(meta, shapes)
    if fmt.multi_file:
        yield from zip_stream(entries)
        return
    for _name, pieces in entries:
        for piece in pieces:
            yield piece.encode()


def download_name(fmt: ModuleType, stem: str) -> str:
    return f"{stem}.{fmt.extension}"


__all__ = [
    "FORMATS", "FormatError", "LabelSpec", "RowError", "Shape", "VideoMeta", "download_name", "export_bytes",
    "get_format", "sort_for", "zip_stream",
]  # fmt: skip
