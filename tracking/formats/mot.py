"""MOTChallenge text: one box per line, ``frame, id, x, y, w, h, conf, class, visibility`` (frames
1-based). Trackroom writes the 9-column ground-truth layout of MOT16 and later: ``conf`` is the
figure's confidence (1 when a person drew it; 0 marks a box to ignore when scoring), ``class`` the
1-based position of the label in the project's label list, ``visibility`` 0..1.

Reading accepts 6 to 10 columns: 7+ adds the confidence; 8 or 9 columns add the class (and the
visibility); 10 columns is the MOT15 / ``det.txt`` layout whose last three are world coordinates
(ignored). Outside figures are not written (MOT has no such row)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from .base import BOX, ErrorList, Shape, VideoMeta, box_shape, chunked, finite, num, whole, xywh

name = "mot"
extension = "txt"
content_type = "text/plain; charset=utf-8"
order = "frame"  # the writer wants shapes sorted by (frame, track)
multi_file = False


def write_rows(meta: VideoMeta, shapes: Iterable[Shape]) -> Iterator[str]:
    index = {label.name: i + 1 for i, label in enumerate(meta.labels)}
    for s in shapes:
        if s.outside:
            continue
        x, y, w, h = xywh(s.bbox)
        conf = 1.0 if s.confidence is None else s.confidence
        cls = index.get(s.label, -1) if s.label is not None else (s.cls if s.cls is not None else -1)
        yield (
            f"{s.frame + 1},{s.track},{num(x)},{num(y)},{num(w)},{num(h)},{num(conf, 6)},{cls},"
            f"{num(s.visibility, 4)}\n"
        )


def write(meta: VideoMeta, shapes: Iterable[Shape], filename: str = "gt.txt") -> Iterator[tuple[str, Iterator[str]]]:
    yield filename, chunked(write_rows(meta, shapes))


def read(data: bytes, meta: VideoMeta | None = None, *, require_ids: bool = True) -> list[Shape]:
    """Every row as a box Shape (0-based frames). Raises FormatError listing each bad line."""
    errors = ErrorList()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        errors.add(line, "the file is not UTF-8 text; is this really a MOTChallenge .txt file?")
        errors.raise_if_any()
    shapes: list[Shape] = []
    seen: dict[tuple[int, int], int] = {}
    for lineno, raw in enumerate(text.splitlines(), 1):
        if errors.full:
            break
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        parts = [p.strip() for p in line.split(",")]
        if not 6 <= len(parts) <= 10:
            errors.add(
                lineno,
                f"expected 6 to 10 comma-separated values (frame, id, x, y, w, h, conf, ...), found {len(parts)}.",
            )
            continue
        try:
            frame = whole(parts[0], "the frame number")
            track = whole(parts[1], "the track ID")
            x, y, w, h = (finite(parts[i], what) for i, what in zip(range(2, 6), ("x", "y", "width", "height")))
            conf = finite(parts[6], "the confidence") if len(parts) >= 7 else 1.0
            cls = whole(parts[7], "the class") if len(parts) in (8, 9) else None
            vis = finite(parts[8], "the visibility") if len(parts) == 9 else 1.0
        except ValueError as exc:
            errors.add(lineno, f"{exc}.")
            continue
        if frame < 1:
            errors.add(lineno, f"frame {frame}: MOTChallenge frames start at 1.")
            continue
        if meta is not None and frame > meta.frame_count:
            errors.add(lineno, f"frame {frame} is past the end of the video, which has {meta.frame_count} frames.")
            continue
        if w <= 0 or h <= 0:
            errors.add(lineno, f"the box is {num(w)} x {num(h)}; width and height must be positive.")
            continue
        if not 0 <= vis <= 1 and vis != -1:
            errors.add(lineno, f"visibility {parts[8]} must be between 0 and 1.")
            continue
        if require_ids:
            if track < 1:
                errors.add(lineno, f"track ID {track}: tracks need IDs from 1 (is this a detection file?).")
                continue
            key = (frame, track)
            if key in seen:
                errors.add(lineno, f"track {track} already has a box on frame {frame} (line {seen[key]}).")
                continue
            seen[key] = lineno
        shapes.append(
            box_shape(
                frame - 1, track if require_ids else -1, x, y, w, h,
                cls=cls if cls is not None and cls >= 0 else None,
                confidence=conf, visibility=1.0 if vis == -1 else vis, line=lineno,
            )
        )  # fmt: skip
    errors.raise_if_any()
    return shapes


def write_detections(shapes: Iterable[Shape]) -> Iterator[str]:
    """MOTChallenge ``det.txt`` rows (ID -1, world columns -1), the layout ``mot-det:`` detectors read."""
    for s in shapes:
        x, y, w, h = xywh(s.bbox)
        conf = 1.0 if s.confidence is None else s.confidence
        yield f"{s.frame + 1},-1,{num(x)},{num(y)},{num(w)},{num(h)},{num(conf, 6)},-1,-1,-1\n"


__all__ = ["BOX", "read", "write", "write_rows", "write_detections"]
