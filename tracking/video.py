"""Frame sources: decode a video file frame-exactly, seek to frame N, iterate a range.

Interface (every backend):
    src = open_video(path, backend="auto")   # raises VideoError with a readable message
    src.info                                  # VideoInfo (exact frame_count)
    src.read(n)                               # BGR uint8 (H, W, 3) of frame n (0-based)
    for index, frame in src.frames(start, stop, step): ...
    src.close()                               # also a context manager

MINIMAL VERSION — the video helper replaces this with the full implementation
(PyAV backend, exact counts when metadata lies, read-ahead thread).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np

from .errors import UnknownNameError, VideoError
from .types import VideoInfo


class FrameSource(ABC):
    name: str = ""
    info: VideoInfo

    @abstractmethod
    def read(self, index: int) -> np.ndarray: ...

    @abstractmethod
    def frames(self, start: int = 0, stop: int | None = None, step: int = 1) -> Iterator[tuple[int, np.ndarray]]: ...

    def close(self) -> None:
        pass

    def __enter__(self) -> "FrameSource":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __len__(self) -> int:
        return self.info.frame_count


class OpenCVFrameSource(FrameSource):
    name = "opencv"

    def __init__(self, path: str | Path):
        self.path = str(path)
        if not Path(self.path).is_file():
            raise VideoError(f"Video file not found: {self.path}")
        self._cap = cv2.VideoCapture(self.path)
        if not self._cap.isOpened():
            raise VideoError(f"Could not open {Path(self.path).name} as a video.")
        fourcc = int(self._cap.get(cv2.CAP_PROP_FOURCC))
        codec = "".join(chr((fourcc >> (8 * i)) & 0xFF) for i in range(4)).strip("\x00 ")
        count = 0
        while self._cap.grab():
            count += 1
        if count == 0:
            raise VideoError(f"{Path(self.path).name} has no decodable frames.")
        self.info = VideoInfo(
            path=self.path,
            fps=float(self._cap.get(cv2.CAP_PROP_FPS) or 0.0),
            frame_count=count,
            width=int(self._cap.get(cv2.CAP_PROP_FRAME_WIDTH)),
            height=int(self._cap.get(cv2.CAP_PROP_FRAME_HEIGHT)),
            codec=codec,
            size=Path(self.path).stat().st_size,
        )
        self._cap.set(cv2.CAP_PROP_POS_FRAMES, 0)
        self._next = 0

    def read(self, index: int) -> np.ndarray:
        if not 0 <= index < self.info.frame_count:
            raise IndexError(f"frame {index} is outside 0..{self.info.frame_count - 1}")
        if index != self._next:
            # Exact seek: restart from 0 and grab forward (slow but always right).
            self._cap.set(cv2.CAP_PROP_POS_FRAMES, 0)
            for _ in range(index):
                self._cap.grab()
        ok, frame = self._cap.read()
        if not ok:
            raise VideoError(f"Could not decode frame {index} of {Path(self.path).name}.")
        self._next = index + 1
        return frame

    def frames(self, start: int = 0, stop: int | None = None, step: int = 1):
        stop = self.info.frame_count if stop is None else min(stop, self.info.frame_count)
        for index in range(start, stop, step):
            yield index, self.read(index)

    def close(self) -> None:
        self._cap.release()


FRAME_SOURCES: dict[str, type[FrameSource]] = {"opencv": OpenCVFrameSource}


def open_video(path: str | Path, backend: str = "auto") -> FrameSource:
    if backend == "auto":
        backend = "opencv"
    if backend not in FRAME_SOURCES:
        raise UnknownNameError("frame source", backend, list(FRAME_SOURCES))
    return FRAME_SOURCES[backend](path)
