"""What every annotation format reads and writes: shapes (one object on one frame) plus the video's
size and label list. No Django here; the web app converts its rows to and from these."""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from ..errors import TrackroomError

BOX, MASK, POLYGON, POINTS = "box", "mask", "polygon", "points"
KINDS = (BOX, MASK, POLYGON, POINTS)
MAX_ERRORS = 100  # a broken file lists this many problems, then stops


@dataclass(frozen=True)
class LabelSpec:
    name: str
    shape: str = BOX
    color: str = "#ff6b00"
    keypoints: tuple[str, ...] = ()


@dataclass
class VideoMeta:
    name: str
    width: int
    height: int
    frame_count: int
    fps: float = 0.0
    labels: list[LabelSpec] = field(default_factory=list)

    def label_index(self, name: str) -> int:
        """0-based position of a label in the list (class ids in MOT are this + 1, in YOLO this)."""
        for i, label in enumerate(self.labels):
            if label.name == name:
                return i
        raise KeyError(name)


@dataclass
class Shape:
    """One object on one frame. ``data`` is Trackroom's geometry for ``kind`` (see labeling.models
    Figure); ``bbox`` (x1, y1, x2, y2) is always set. On reading, ``label`` is the label name when the
    file names it, else ``cls`` is the file's class id; ``line`` says where the shape was read."""

    frame: int  # 0-based
    track: int  # the track's number (the file's track ID); -1 for detections
    kind: str
    bbox: tuple[float, float, float, float]
    data: dict
    label: str | None = None
    cls: int | None = None
    confidence: float | None = None
    outside: bool = False
    keyframe: bool = True
    visibility: float = 1.0
    line: int | None = None
    where: str | None = None


@dataclass(frozen=True)
class RowError:
    line: int | None
    message: str
    where: str | None = None  # e.g. "labels/frame_000012.txt line 3" or "annotations[7]"

    def text(self) -> str:
        if self.where:
            return f"{self.where}: {self.message}"
        return f"Line {self.line}: {self.message}" if self.line is not None else self.message

    def as_dict(self) -> dict:
        out = {"line": self.line, "message": self.message}
        if self.where:
            out["where"] = self.where
        return out


class FormatError(TrackroomError):
    """A file that does not read as the format; ``errors`` lists every bad row found (up to 100).
    ``str()`` is the first problem plus how many more there are."""

    def __init__(self, errors: list[RowError]):
        self.errors = list(errors)
        first = self.errors[0].text()
        more = len(self.errors) - 1
        suffix = f" ({more} more problem{'s' if more != 1 else ''} listed; nothing was imported)" if more else ""
        super().__init__(first + suffix)


class ErrorList:
    """Collects row errors while reading; raises FormatError when asked and there are any."""

    def __init__(self) -> None:
        self.errors: list[RowError] = []

    def add(self, line: int | None, message: str, where: str | None = None) -> None:
        if len(self.errors) < MAX_ERRORS:
            self.errors.append(RowError(line, message, where))

    @property
    def full(self) -> bool:
        return len(self.errors) >= MAX_ERRORS

    def raise_if_any(self) -> None:
        if self.errors:
            raise FormatError(self.errors)


def num(value: float, places: int = 4) -> str:
    """A number as short text with at most ``places`` decimals: 499.0 → "499", 31.029999 → "31.03".
    Rounding to a fixed number of places is what makes export → import → export byte-identical."""
    text = f"{value:.{places}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def finite(text: str, what: str) -> float:
    try:
        value = float(text)
    except (TypeError, ValueError):
        raise ValueError(f"{what} is not a number: {text!r}") from None
    if not math.isfinite(value):
        raise ValueError(f"{what} must be a finite number, got {text!r}")
    return value


def whole(text: str, what: str) -> int:
    value = finite(text, what)
    if value != int(value):
        raise ValueError(f"{what} must be a whole number, got {text!r}")
    return int(value)


def box_shape(frame: int, track: int, x: float, y: float, w: float, h: float, **extra) -> Shape:
    x1, y1, x2, y2 = x, y, x + w, y + h
    return Shape(frame, track, BOX, (x1, y1, x2, y2), {"x1": x1, "y1": y1, "x2": x2, "y2": y2}, **extra)


def bbox_of_points(points: list) -> tuple[float, float, float, float]:
    shown = [p for p in points if len(p) < 3 or p[2] > 0] or points
    xs, ys = [p[0] for p in shown], [p[1] for p in shown]
    return (min(xs), min(ys), max(xs), max(ys))


def xywh(bbox) -> tuple[float, float, float, float]:
    x1, y1, x2, y2 = bbox
    return x1, y1, x2 - x1, y2 - y1


def chunked(parts: Iterable[str], size: int = 1 << 16) -> Iterator[str]:
    """Join many small strings into pieces of about ``size`` characters (streaming writers)."""
    buf: list[str] = []
    length = 0
    for part in parts:
        buf.append(part)
        length += len(part)
        if length >= size:
            yield "".join(buf)
            buf, length = [], 0
    if buf:
        yield "".join(buf)
