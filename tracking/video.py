"""Frame sources: decode a video file frame-exactly, seek to frame N, iterate a range.

Interface (every backend):
    src = open_video(path, backend="auto")   # raises VideoError with a readable message
    src.info                                  # VideoInfo (exact frame_count)
    src.read(n)                               # BGR uint8 (H, W, 3) of frame n (0-based)
    for index, frame in src.frames(start, stop, step, prefetch=0): ...
    src.close()                               # also a context manager

    info = probe_video(path, VideoLimits(...))  # full validation of an upload (decodes every frame)

Backends, chosen by name:
* ``pyav``   — one demux pass (no decoding) builds an index of every frame's pts and of the
  keyframes; seeking to N jumps to the last keyframe at or before N and decodes forward, matching
  frames by pts. When a codec may hold packets that give no picture (MPEG-4 part 2 "packed
  bitstream", VP8 alt-ref frames, unknown codecs) the index is built by decoding once instead.
* ``opencv`` — one ``grab()`` pass counts frames and records each frame's pts; seeks use OpenCV's
  own frame seek and are checked against the recorded pts (a wrong landing falls back to decoding
  forward from frame 0, and the source stops trusting OpenCV seeks for that file).
* ``auto``   — PyAV whenever it can open the file (exact pts seeking, cheaper count, faster BGR
  conversion: see benchmarks/video_decoding.py), OpenCV otherwise.

Indexes are cached per process, keyed by (path, size, mtime), so re-opening a file is cheap.
A source is not thread-safe: use one per thread (``frames(prefetch=...)`` decodes on its own
thread, and the consumer must then not call ``read()`` until the iterator is closed).
"""

from __future__ import annotations

import os
import queue
import threading
from abc import ABC, abstractmethod
from collections import OrderedDict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import cv2
from av.video.reformatter import VideoReformatter
import numpy as np

from .errors import Cancelled, UnknownNameError, VideoError
from .types import CancelToken, VideoInfo

FALLBACK_FPS = 25.0  # used when neither the container nor the timestamps give a believable rate
MAX_FPS = 1000.0

# Codecs where one non-empty packet is exactly one picture, so a demux pass counts frames exactly.
# Not here on purpose: mpeg4 (DivX/Xvid packed B-frames put "not coded" placeholder packets in
# AVI), vp8 (alt-ref frames that are never shown) and anything unknown — those are decoded once.
ONE_PICTURE_PER_PACKET = {
    "h264", "hevc", "av1", "vp9", "msmpeg4v1", "msmpeg4v2", "msmpeg4", "wmv1", "wmv2", "h263",
    "h263p", "flv1", "mpeg1video", "mpeg2video", "theora", "prores", "dnxhd", "mjpeg", "rawvideo",
    "ffv1", "png", "qtrle", "huffyuv", "ffvhuff", "utvideo", "cinepak", "dvvideo", "svq1", "svq3",
}


def _sane_fps(value) -> float | None:
    try:
        fps = float(value) if value is not None else None
    except (TypeError, ZeroDivisionError, ValueError):
        return None
    return fps if fps is not None and 0 < fps <= MAX_FPS else None


def _file_key(path: str) -> tuple:
    st = os.stat(path)
    return (os.path.realpath(path), st.st_size, st.st_mtime_ns)


def _check_file(path: str) -> None:
    p = Path(path)
    if not p.is_file():
        raise VideoError(f"Video file not found: {path}")
    if p.stat().st_size == 0:
        raise VideoError(f"{p.name} is empty (0 bytes), not a video.")


class _LRU:
    def __init__(self, size: int = 64):
        self._data: OrderedDict = OrderedDict()
        self._size = size
        self._lock = threading.Lock()

    def get(self, key):
        with self._lock:
            if key in self._data:
                self._data.move_to_end(key)
                return self._data[key]
        return None

    def put(self, key, value) -> None:
        with self._lock:
            self._data[key] = value
            self._data.move_to_end(key)
            while len(self._data) > self._size:
                self._data.popitem(last=False)


_INDEX_CACHE = _LRU()


# ------------------------------------------------------------------------------------------------
class FrameSource(ABC):
    name: str = ""
    info: VideoInfo

    @abstractmethod
    def read(self, index: int) -> np.ndarray:
        """BGR uint8 (H, W, 3) of frame ``index``; sequential calls never re-seek."""

    @abstractmethod
    def _iter_frames(self, indices: range) -> Iterator[tuple[int, np.ndarray]]: ...

    def frames(
        self,
        start: int = 0,
        stop: int | None = None,
        step: int = 1,
        prefetch: int = 0,
        cancel: CancelToken | None = None,
    ) -> Iterator[tuple[int, np.ndarray]]:
        """(index, frame) for start..stop-1 every ``step`` frames, decoded in one forward pass
        (a seek only where a keyframe lies between two wanted frames, i.e. for large steps).

        ``prefetch=k`` decodes up to k frames ahead on a background thread (see ``read_ahead``).
        """
        if step < 1:
            raise ValueError("step must be 1 or more")
        count = self.info.frame_count
        start = max(0, start)
        stop = count if stop is None else min(stop, count)
        iterator = self._iter_frames(range(start, stop, step))
        if prefetch > 0:
            return read_ahead(iterator, prefetch, cancel)
        if cancel is not None:
            return _cancellable(iterator, cancel)
        return iterator

    def _check_index(self, index: int) -> None:
        if not 0 <= index < self.info.frame_count:
            raise IndexError(
                f"Frame {index} does not exist: {Path(self.info.path).name} has frames 0 to "
                f"{self.info.frame_count - 1}."
            )

    def close(self) -> None:
        pass

    def __enter__(self) -> "FrameSource":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __len__(self) -> int:
        return self.info.frame_count


def _cancellable(iterator: Iterator, cancel: CancelToken) -> Iterator:
    for item in iterator:
        if cancel.cancelled:
            raise Cancelled("Cancelled.")
        yield item


# ------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _PyAVIndex:
    """Display-order pts of every frame, and pts of every keyframe (both sorted)."""

    pts: np.ndarray  # int64 (frame_count,)
    keyframe_pts: np.ndarray  # int64 (k,), always starts at pts[0]
    counted_by: str  # "packets" or "decoding"
    by_count: bool = False  # no usable timestamps: frame identity is its position from the start


def _open_container(path: str):
    try:
        container = av.open(path, metadata_errors="ignore")
    except av.error.FFmpegError as exc:
        raise VideoError(
            f"{Path(path).name} is not a video file Trackroom can read (the format was not recognised)."
        ) from exc
    if not container.streams.video:
        what = "only audio" if container.streams.audio else "no video track"
        container.close()
        raise VideoError(f"{Path(path).name} contains {what}; Trackroom needs a video track.")
    stream = container.streams.video[0]
    codec_name = _codec_name(stream)
    if stream.codec_context is None or codec_name in {"", "none"} or not stream.codec_context.codec.is_decoder:
        container.close()
        raise VideoError(
            f"{Path(path).name} uses a video codec that Trackroom cannot decode. "
            "Convert it to H.264 or MJPEG first, e.g. ffmpeg -i in.ext -c:v libx264 out.mp4."
        )
    return container, stream


def _codec_name(stream) -> str:
    try:
        return stream.codec_context.name if stream.codec_context is not None else ""
    except Exception:  # PyAV raises on codecs it has no descriptor for
        return ""


def _frame_pts(frame) -> int | None:
    return frame.pts if frame.pts is not None else frame.dts


def _build_pyav_index(path: str) -> _PyAVIndex:
    container, stream = _open_container(path)
    stream.thread_type = "AUTO"
    try:
        by_count = False
        packet_pts: list[int] = []
        keyframes: list[int] = []
        for packet in container.demux(stream):
            if packet.size == 0:
                continue
            packet_pts.append(packet.pts)
            if packet.is_keyframe and packet.pts is not None:
                keyframes.append(packet.pts)
        trusted = (
            (stream.codec_context.codec.intra_only or _codec_name(stream) in ONE_PICTURE_PER_PACKET)
            and packet_pts
            and None not in packet_pts
            and len(set(packet_pts)) == len(packet_pts)
        )
        if trusted:
            # Streams cut mid-GOP (e.g. from a broadcast) start with packets that decode to nothing;
            # then packets over-count. The first decoded picture must be the earliest packet.
            container.seek(0)
            first = next(iter(container.decode(stream)), None)
            trusted = first is not None and _frame_pts(first) == min(packet_pts)
        if trusted:
            pts = np.array(sorted(packet_pts), np.int64)
            counted_by = "packets"
        else:
            container.seek(0)
            decoded = []
            keyframes = []  # packet flags/timestamps are not trusted here; the decoder's are
            try:
                for frame in container.decode(stream):
                    decoded.append(_frame_pts(frame))
                    if frame.key_frame and decoded[-1] is not None:
                        keyframes.append(decoded[-1])
            except av.error.FFmpegError as exc:
                raise VideoError(f"{Path(path).name} could not be decoded after frame {len(decoded)}: {exc}") from exc
            by_count = None in decoded or len(set(decoded)) != len(decoded)
            if by_count:
                # No usable timestamps: frames can still be read, but only by counting from 0.
                decoded = list(range(len(decoded)))
                keyframes = []
            pts = np.array(sorted(decoded), np.int64)
            counted_by = "decoding"
    finally:
        container.close()
    if len(pts) == 0:
        raise VideoError(f"{Path(path).name} has no decodable frames.")
    kf = np.array(sorted({int(k) for k in keyframes if k >= pts[0]} | {int(pts[0])}), np.int64)
    return _PyAVIndex(pts=pts, keyframe_pts=kf, counted_by=counted_by, by_count=by_count)


class PyAVFrameSource(FrameSource):
    name = "pyav"

    def __init__(self, path: str | Path):
        self.path = str(path)
        _check_file(self.path)
        key = ("pyav", *_file_key(self.path))
        index = _INDEX_CACHE.get(key)
        if index is None:
            index = _build_pyav_index(self.path)
            _INDEX_CACHE.put(key, index)
        self.index: _PyAVIndex = index
        self._container, self._stream = _open_container(self.path)
        self._stream.thread_type = "AUTO"
        cc = self._stream.codec_context
        count = len(index.pts)
        self.info = VideoInfo(
            path=self.path,
            fps=_pyav_fps(self._stream, index),
            frame_count=count,
            width=int(cc.width),
            height=int(cc.height),
            codec=_codec_name(self._stream),
            size=Path(self.path).stat().st_size,
        )
        self._reformatter = VideoReformatter()
        self._decoder: Iterator | None = None
        self._next = 0  # index of the frame the decoder yields next (valid while _decoder is set)
        self.seeks = 0  # how many container seeks were done (tests check sequential reads do none)
        self.decoded = 0  # how many frames the decoder produced (tests check seeks start near N)

    # -- positioning --------------------------------------------------------------------------
    def _seek_to(self, index: int, back: int = 0) -> bool:
        """Position the decoder on the last keyframe at or before ``index`` (``back`` keyframes
        earlier when a previous landing overshot). Returns False when already at the file start."""
        target = self.index.pts[index]
        k = int(np.searchsorted(self.index.keyframe_pts, target, side="right")) - 1 - back
        key_pts = int(self.index.keyframe_pts[max(k, 0)])
        if k <= 0 or key_pts == self.index.pts[0]:
            # Start of file: valid for every container. Beyond this there is nothing to retry.
            self._container.seek(0)
            k = 0
        else:
            # Containers that index by decode time (AVI with B-frames) may land a little later
            # than asked; _frame_at notices the overshoot and retries one keyframe earlier.
            self._container.seek(key_pts, stream=self._stream, backward=True, any_frame=False)
        self.seeks += 1
        self._decoder = self._container.decode(self._stream)
        self._next = int(np.searchsorted(self.index.pts, key_pts)) if k else 0
        return k > 0

    def _needs_seek(self, index: int) -> bool:
        if self._decoder is None or index < self._next:
            return True
        # Decode forward unless a keyframe lies between here and the target (then seeking is cheaper).
        kf = self.index.keyframe_pts
        here, there = self.index.pts[self._next], self.index.pts[index]
        return int(np.searchsorted(kf, there, side="right")) > int(np.searchsorted(kf, here, side="right"))

    def _frame_at(self, index: int):
        """The decoded av.VideoFrame of ``index`` (no colour conversion yet)."""
        self._check_index(index)
        can_retry = True
        if self._needs_seek(index):
            can_retry = self._seek_to(index)
        target = int(self.index.pts[index])
        back = 0
        while True:
            try:
                for frame in self._decoder:
                    self.decoded += 1
                    # Without usable timestamps (by_count) frames are identified by counting.
                    pts = int(self.index.pts[self._next]) if self.index.by_count else _frame_pts(frame)
                    if pts is None or pts < target:
                        if pts is not None:
                            self._next = int(np.searchsorted(self.index.pts, pts)) + 1
                        continue
                    if pts == target:
                        self._next = index + 1
                        return frame
                    break  # landed after the target: the seek was not exact
            except av.error.FFmpegError as exc:
                self._decoder = None
                raise VideoError(f"Could not decode frame {index} of {Path(self.path).name}: {exc}") from exc
            if not can_retry:
                self._decoder = None
                raise VideoError(f"Could not decode frame {index} of {Path(self.path).name}.")
            back += 1
            can_retry = self._seek_to(index, back)

    # -- public -------------------------------------------------------------------------------
    def _bgr(self, frame) -> np.ndarray:
        # One reformatter per source keeps FFmpeg's scaler context between frames; frame.to_ndarray()
        # builds a new one every call, which costs more than decoding (benchmarks/video_decoding.py).
        return self._reformatter.reformat(frame, format="bgr24").to_ndarray()

    def read(self, index: int) -> np.ndarray:
        return self._bgr(self._frame_at(index))

    def _iter_frames(self, indices: range):
        for index in indices:
            yield index, self._bgr(self._frame_at(index))

    def close(self) -> None:
        self._decoder = None
        self._container.close()


def _pyav_fps(stream, index: _PyAVIndex) -> float:
    for candidate in (stream.average_rate, stream.guessed_rate, stream.base_rate):
        fps = _sane_fps(candidate)
        if fps:
            return fps
    if len(index.pts) > 1 and stream.time_base:
        span = float((int(index.pts[-1]) - int(index.pts[0])) * Fraction(stream.time_base))
        fps = _sane_fps((len(index.pts) - 1) / span) if span > 0 else None
        if fps:
            return fps
    return FALLBACK_FPS


# ------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _OpenCVIndex:
    pts: np.ndarray  # CAP_PROP_PTS of every frame, in decoding order
    fps: float


class OpenCVFrameSource(FrameSource):
    name = "opencv"
    FORWARD_WINDOW = 64  # targets this close ahead are reached by grab() instead of a seek

    def __init__(self, path: str | Path):
        self.path = str(path)
        _check_file(self.path)
        self._cap = self._open()
        fourcc = int(self._cap.get(cv2.CAP_PROP_FOURCC))
        codec = "".join(chr((fourcc >> (8 * i)) & 0xFF) for i in range(4)).strip("\x00 ")
        key = ("opencv", *_file_key(self.path))
        index = _INDEX_CACHE.get(key)
        if index is None:
            pts = []
            while self._cap.grab():
                pts.append(self._cap.get(cv2.CAP_PROP_PTS))
            if not pts:
                raise VideoError(f"{Path(self.path).name} has no decodable frames.")
            fps = _sane_fps(self._cap.get(cv2.CAP_PROP_FPS)) or FALLBACK_FPS
            index = _OpenCVIndex(np.array(pts, np.float64), fps)
            _INDEX_CACHE.put(key, index)
            self._cap.release()
            self._cap = self._open()
        self.index = index
        self.info = VideoInfo(
            path=self.path,
            fps=index.fps,
            frame_count=len(index.pts),
            width=int(self._cap.get(cv2.CAP_PROP_FRAME_WIDTH)),
            height=int(self._cap.get(cv2.CAP_PROP_FRAME_HEIGHT)),
            codec=codec,
            size=Path(self.path).stat().st_size,
        )
        self._next = 0
        # OpenCV's seek is frame-exact for constant-rate files; a pts check proves it each time.
        self._trust_seek = len(set(index.pts.tolist())) == len(index.pts)
        self.seeks = 0

    def _open(self):
        cap = cv2.VideoCapture(self.path, cv2.CAP_FFMPEG)
        if not cap.isOpened():
            raise VideoError(f"{Path(self.path).name} is not a video file Trackroom can read.")
        return cap

    def _position(self, index: int) -> None:
        """Make the next grab()/read() return frame ``index``."""
        if self._next <= index <= self._next + self.FORWARD_WINDOW:
            pass
        elif self._trust_seek:
            self._cap.set(cv2.CAP_PROP_POS_FRAMES, index)
            self.seeks += 1
            self._next = index
            return
        else:
            if index < self._next:
                self._cap.release()
                self._cap = self._open()
                self.seeks += 1
                self._next = 0
        while self._next < index:
            if not self._cap.grab():
                raise VideoError(f"Could not decode frame {self._next} of {Path(self.path).name}.")
            self._next += 1

    def _retrieve(self, index: int) -> np.ndarray:
        seeked = self.seeks
        self._position(index)
        ok, frame = self._cap.read()
        if ok and self.seeks != seeked and self._trust_seek:
            if self._cap.get(cv2.CAP_PROP_PTS) != self.index.pts[index]:
                # OpenCV landed on the wrong frame: never trust its seek for this file again.
                self._trust_seek = False
                self._next = 1 << 62
                self._position(index)
                ok, frame = self._cap.read()
        if not ok:
            raise VideoError(f"Could not decode frame {index} of {Path(self.path).name}.")
        self._next = index + 1
        return frame

    def read(self, index: int) -> np.ndarray:
        self._check_index(index)
        return self._retrieve(index)

    def _iter_frames(self, indices: range):
        for index in indices:
            yield index, self._retrieve(index)

    def close(self) -> None:
        self._cap.release()


# ------------------------------------------------------------------------------------------------
FRAME_SOURCES: dict[str, type[FrameSource]] = {"pyav": PyAVFrameSource, "opencv": OpenCVFrameSource}


def open_video(path: str | Path, backend: str = "auto") -> FrameSource:
    """Open ``path`` with the named backend ("auto", "pyav", "opencv")."""
    if backend == "auto":
        try:
            return PyAVFrameSource(path)
        except VideoError as pyav_error:
            try:
                return OpenCVFrameSource(path)
            except VideoError:
                raise pyav_error from None
    if backend not in FRAME_SOURCES:
        raise UnknownNameError("frame source", backend, [*FRAME_SOURCES, "auto"])
    return FRAME_SOURCES[backend](path)


# ------------------------------------------------------------------------------------------------
class _Done:
    pass


class _Failed:
    def __init__(self, exc: BaseException):
        self.exc = exc


class ReadAhead(Iterator):
    """Iterate ``source`` on a background thread, at most ``depth`` items ahead of the consumer.

    Decoding (which releases the GIL in FFmpeg) then overlaps the consumer's work. An exception
    in the producer is raised in the consumer at the point it happened; ``close()`` (or leaving a
    ``with`` block, or setting ``cancel``) stops the producer promptly.
    """

    def __init__(self, source: Iterable, depth: int = 8, cancel: CancelToken | None = None):
        if depth < 1:
            raise ValueError("depth must be 1 or more")
        self._queue: queue.Queue = queue.Queue(maxsize=depth)
        self._stop = threading.Event()
        self._cancel = cancel
        self._finished = False
        self._thread = threading.Thread(target=self._produce, args=(iter(source),), name="read-ahead", daemon=True)
        self._thread.start()

    def _put(self, item) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.05)
                return True
            except queue.Full:
                if self._cancel is not None and self._cancel.cancelled:
                    return False
        return False

    def _produce(self, iterator: Iterator) -> None:
        try:
            for item in iterator:
                if self._stop.is_set() or (self._cancel is not None and self._cancel.cancelled):
                    return
                if not self._put(item):
                    return
            self._put(_Done())
        except BaseException as exc:  # handed to the consumer, raised there
            self._put(_Failed(exc))
        finally:
            close = getattr(iterator, "close", None)
            if close is not None:
                close()

    def __next__(self):
        if self._finished:
            raise StopIteration
        while True:
            if self._cancel is not None and self._cancel.cancelled:
                self.close()
                raise Cancelled("Cancelled.")
            try:
                item = self._queue.get(timeout=0.05)
                break
            except queue.Empty:
                if not self._thread.is_alive() and self._queue.empty():
                    self._finished = True
                    raise StopIteration from None
        if isinstance(item, _Done):
            self._finished = True
            self._thread.join()
            raise StopIteration
        if isinstance(item, _Failed):
            self.close()
            raise item.exc
        return item

    def close(self) -> None:
        self._finished = True
        self._stop.set()
        while True:  # unblock a producer waiting on a full queue
            try:
                self._queue.get_nowait()
            except queue.Empty:
                break
        if self._thread is not threading.current_thread():
            self._thread.join(timeout=5)

    def __enter__(self) -> "ReadAhead":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __del__(self) -> None:
        self._stop.set()


def read_ahead(source: Iterable, depth: int = 8, cancel: CancelToken | None = None) -> ReadAhead:
    return ReadAhead(source, depth, cancel)


# ------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class VideoLimits:
    max_side: int = 8192
    max_pixels: int = 8192 * 8192
    max_frames: int | None = None


def probe_video(path: str | Path, limits: VideoLimits | None = None) -> VideoInfo:
    """Validate an uploaded file fully and describe it, or raise VideoError saying what is wrong.

    Every frame is decoded once (no colour conversion), so the count is exact and damaged or
    truncated files are refused: a decoder error, a packet the demuxer flags as cut short, or
    fewer frames than the container header promises all count as truncation.
    """
    limits = limits or VideoLimits()
    path = str(path)
    name = Path(path).name
    _check_file(path)
    container, stream = _open_container(path)
    try:
        cc = stream.codec_context
        width, height = int(cc.width or 0), int(cc.height or 0)
        if width <= 0 or height <= 0:
            raise VideoError(f"{name} does not say how large its pictures are; it is not a usable video.")
        if max(width, height) > limits.max_side or width * height > limits.max_pixels:
            raise VideoError(
                f"{name} is {width}x{height} pixels; Trackroom accepts at most {limits.max_side} pixels per side "
                f"and {limits.max_pixels:,} pixels per frame."
            )
        promised = int(stream.frames or 0)
        stream.thread_type = "AUTO"
        count, corrupt, first_pts, last_pts = 0, False, None, None
        try:
            for packet in container.demux(stream):
                corrupt = corrupt or packet.is_corrupt
                for frame in packet.decode():
                    count += 1
                    pts = _frame_pts(frame)
                    if pts is not None:
                        first_pts = pts if first_pts is None else min(first_pts, pts)
                        last_pts = pts if last_pts is None else max(last_pts, pts)
                    if limits.max_frames and count > limits.max_frames:
                        raise VideoError(
                            f"{name} has more than {limits.max_frames:,} frames, the most Trackroom accepts."
                        )
        except av.error.FFmpegError as exc:
            raise VideoError(
                f"{name} is damaged or truncated: decoding stopped with an error after {count} frames ({exc.strerror})."
            ) from exc
        if count == 0:
            raise VideoError(f"{name} contains a video track with no frames.")
        if corrupt or (promised and count < promised):
            detail = f"its header promises {promised} frames but only {count} could be decoded" if promised else (
                f"its last packet is cut short after {count} frames"
            )
            raise VideoError(f"{name} looks truncated: {detail}. Upload the complete file.")
        fps = None
        for candidate in (stream.average_rate, stream.guessed_rate, stream.base_rate):
            fps = _sane_fps(candidate)
            if fps:
                break
        if not fps and count > 1 and first_pts is not None and last_pts > first_pts and stream.time_base:
            fps = _sane_fps((count - 1) / float((last_pts - first_pts) * Fraction(stream.time_base)))
        return VideoInfo(
            path=path,
            fps=fps or FALLBACK_FPS,
            frame_count=count,
            width=width,
            height=height,
            codec=_codec_name(stream),
            size=Path(path).stat().st_size,
        )
    finally:
        container.close()
