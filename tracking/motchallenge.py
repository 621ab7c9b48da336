"""MOTChallenge text files: ``frame, id, x, y, w, h, conf, X, Y, Z`` with 1-based frames.

Inside Trackroom frames are 0-based, so readers subtract one and writers add one.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import TrackroomError
from .types import Detections


class MotFormatError(TrackroomError):
    pass


@dataclass(frozen=True)
class MotRow:
    frame: int  # 0-based
    track_id: int  # -1 for detections
    x: float
    y: float
    w: float
    h: float
    conf: float = 1.0
    cls: int = -1  # MOT gt column 8 (class) when present, else -1
    visibility: float = 1.0

    @property
    def xyxy(self) -> tuple[float, float, float, float]:
        return (self.x, self.y, self.x + self.w, self.y + self.h)


def read_mot(path: str | Path) -> dict[int, list[MotRow]]:
    """Rows grouped by 0-based frame. Raises MotFormatError naming the bad line."""
    path = Path(path)
    if not path.is_file():
        raise MotFormatError(f"MOTChallenge file not found: {path}")
    frames: dict[int, list[MotRow]] = defaultdict(list)
    with path.open() as fh:
        for lineno, line in enumerate(fh, 1):
            line = line.strip()
            if not line:
                continue
            parts = line.split(",")
            if len(parts) < 6:
                raise MotFormatError(f"{path.name} line {lineno}: expected at least 6 comma-separated values")
            try:
                values = [float(p) for p in parts]
            except ValueError:
                raise MotFormatError(f"{path.name} line {lineno}: not a number in '{line}'") from None
            frame = int(values[0])
            if frame < 1:
                raise MotFormatError(f"{path.name} line {lineno}: frame numbers start at 1")
            if values[4] <= 0 or values[5] <= 0:
                raise MotFormatError(f"{path.name} line {lineno}: box width and height must be positive")
            frames[frame - 1].append(
                MotRow(
                    frame=frame - 1,
                    track_id=int(values[1]),
                    x=values[2],
                    y=values[3],
                    w=values[4],
                    h=values[5],
                    conf=values[6] if len(values) > 6 else 1.0,
                    cls=int(values[7]) if len(values) > 7 and values[7] >= 0 and len(parts) == 9 else -1,
                    visibility=values[8] if len(values) > 8 and len(parts) == 9 else 1.0,
                )
            )
    return dict(frames)


def write_mot(path: str | Path, rows: Iterable[MotRow]) -> int:
    """Write rows (0-based frames) as a MOTChallenge result file; returns the number of rows."""
    count = 0
    path = Path(path)
    tmp = path.with_suffix(path.suffix + ".part")
    with tmp.open("w") as fh:
        for r in sorted(rows, key=lambda r: (r.frame, r.track_id)):
            fh.write(f"{r.frame + 1},{r.track_id},{r.x:.2f},{r.y:.2f},{r.w:.2f},{r.h:.2f},{r.conf:.4f},-1,-1,-1\n")
            count += 1
    tmp.replace(path)  # never leave a half-written result file
    return count


def detections_by_frame(path: str | Path, min_conf: float = 0.0) -> dict[int, Detections]:
    """A MOT ``det.txt`` as Detections per 0-based frame (class 0 = the sequence's object class)."""
    out: dict[int, Detections] = {}
    for frame, rows in read_mot(path).items():
        rows = [r for r in rows if r.conf >= min_conf]
        if not rows:
            continue
        out[frame] = Detections(
            xyxy=np.array([r.xyxy for r in rows], np.float32),
            conf=np.clip(np.array([r.conf for r in rows], np.float32), 0.0, 1.0),
            cls=np.zeros(len(rows), np.int32),
        )
    return out
