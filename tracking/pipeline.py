"""Detect-and-track a video as a generator of per-frame results, with the stages overlapped.

    for result in track_video("clip.mp4", detector, tracker, start=0, stop=None, cancel=token):
        ...  # result: FrameResult(frame_index, objects, done, total)

Three worker threads joined by small bounded queues, so decoding frame n+k, running the detector on a
batch and associating the previous batch all happen at once (torch, OpenCV/PyAV and numpy release the
GIL for their heavy work):

    decode ──frames──▶ detect (batched) ──detections──▶ associate (tracker.update) ──results──▶ consumer

The consumer (a job, the CLI) gets each FrameResult as soon as it exists. An exception in any stage
reaches the consumer with its own type and message; cancelling (CancelToken, or closing the generator)
stops every thread before the generator returns — nothing keeps running in the background.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from pathlib import Path


from .errors import Cancelled, TrackroomError
from .types import CancelToken, Detections, FrameResult, TrackedObject
from .video import FrameSource, open_video

_DONE = object()  # end-of-stream marker passed down the queues
_POLL_S = 0.05  # how often a blocked stage looks at the stop flag


class _Failure:
    """An exception travelling down the queues to the consumer."""

    def __init__(self, exc: BaseException):
        self.exc = exc


class _Stopped(Exception):
    """Internal: the pipeline is shutting down; a stage leaves its loop."""


class _Stage(threading.Thread):
    def __init__(self, name: str, body, stop: threading.Event, out: queue.Queue):
        super().__init__(name=f"trackroom-{name}", daemon=True)
        self._body, self._halt, self._out = body, stop, out

    def run(self) -> None:
        try:
            self._body()
            _put(self._out, _DONE, self._halt)
        except _Stopped:
            pass
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer, which re-raises it
            try:
                _put(self._out, _Failure(exc), self._halt)
            except _Stopped:
                pass


def _put(q: queue.Queue, item, stop: threading.Event) -> None:
    while True:
        if stop.is_set():
            raise _Stopped
        try:
            q.put(item, timeout=_POLL_S)
            return
        except queue.Full:
            continue


def _get(q: queue.Queue, stop: threading.Event):
    while True:
        if stop.is_set():
            raise _Stopped
        try:
            return q.get(timeout=_POLL_S)
        except queue.Empty:
            continue


def attach_detections(objects: list[TrackedObject], dets: Detections) -> list[TrackedObject]:
    """Give tracked objects the mask / keypoints of the detection they came from (tracker's det_index)."""
    if dets.masks is None and dets.keypoints is None:
        return objects
    for obj in objects:
        i = obj.det_index
        if 0 <= i < len(dets):
            if obj.mask is None and dets.masks is not None:
                obj.mask = dets.masks[i]
            if obj.keypoints is None and dets.keypoints is not None:
                obj.keypoints = dets.keypoints[i]
    return objects


def track_video(
    source: str | Path | FrameSource,
    detector,
    tracker,
    start: int = 0,
    stop: int | None = None,
    batch: int | None = None,
    cancel: CancelToken | None = None,
    queue_size: int | None = None,
) -> Iterator[FrameResult]:
    """Yield one FrameResult per frame in [start, stop) as soon as it is tracked.

    ``source`` is a path (opened and closed here) or an open FrameSource (left open). ``batch`` is how
    many frames the detector gets at once (default: the detector's own ``batch``, else 4).
    Raises Cancelled when ``cancel`` is set; every stage thread has stopped by the time it propagates.
    """
    own_source = not isinstance(source, FrameSource)
    src = open_video(source) if own_source else source
    try:
        count = src.info.frame_count
        start = max(0, int(start))
        stop = count if stop is None else min(int(stop), count)
        if start >= stop:
            raise TrackroomError(f"Empty frame range {start}..{stop} (the video has {count} frames).")
        total = stop - start
        batch = max(1, int(batch or getattr(detector, "batch", 0) or 4))
        size = queue_size or 2 * batch + 2
        yield from _run(src, detector, tracker, start, stop, total, batch, size, cancel)
    finally:
        if own_source:
            src.close()


def _run(src, detector, tracker, start, stop, total, batch, size, cancel) -> Iterator[FrameResult]:
    halt = threading.Event()  # set on cancel / close / error: every stage leaves at its next poll
    frames_q: queue.Queue = queue.Queue(maxsize=size)
    dets_q: queue.Queue = queue.Queue(maxsize=size)
    results_q: queue.Queue = queue.Queue(maxsize=size)

    def cancelled() -> bool:
        return cancel is not None and cancel.cancelled

    def decode() -> None:
        for index, frame in src.frames(start, stop):
            if cancelled():
                return
            _put(frames_q, (index, frame), halt)

    def detect() -> None:
        ended = False
        while not ended:
            pending = []
            while len(pending) < batch:
                item = _get(frames_q, halt)
                if isinstance(item, _Failure):
                    _put(dets_q, item, halt)
                    raise _Stopped
                if item is _DONE:
                    ended = True
                    break
                pending.append(item)
            if not pending or cancelled():
                return
            dets = detector([f for _, f in pending], [i for i, _ in pending])
            if len(dets) != len(pending):
                raise TrackroomError(f"The detector returned {len(dets)} results for {len(pending)} frames.")
            for (index, frame), d in zip(pending, dets):
                _put(dets_q, (index, frame, d), halt)

    def associate() -> None:
        done = 0
        while True:
            item = _get(dets_q, halt)
            if item is _DONE:
                return
            if isinstance(item, _Failure):
                _put(results_q, item, halt)
                raise _Stopped
            if cancelled():
                return
            index, frame, dets = item
            objects = attach_detections(tracker.update(dets, frame), dets)
            done += 1
            _put(results_q, FrameResult(frame_index=index, objects=objects, done=done, total=total), halt)

    stages = [
        _Stage("decode", decode, halt, frames_q),
        _Stage("detect", detect, halt, dets_q),
        _Stage("associate", associate, halt, results_q),
    ]
    for stage in stages:
        stage.start()
    try:
        while True:
            if cancelled():
                raise Cancelled("Tracking was cancelled.")
            try:
                item = results_q.get(timeout=_POLL_S)
            except queue.Empty:
                if not any(s.is_alive() for s in stages) and results_q.empty():
                    if cancelled():
                        raise Cancelled("Tracking was cancelled.") from None
                    raise TrackroomError("The tracking pipeline stopped without finishing.") from None
                continue
            if item is _DONE:
                if cancelled():  # a stage saw the token first and ended early
                    raise Cancelled("Tracking was cancelled.")
                return
            if isinstance(item, _Failure):
                raise item.exc
            yield item
    finally:
        halt.set()  # also reached by generator.close() (GeneratorExit at the yield)
        for stage in stages:
            stage.join(timeout=30)
