"""The job runner: one ``JobRun`` per executing job.

    with JobRun(job_id) as run:                    # claims the queued Job row (queued → running)
        run.consume(engine_results, writer)         # batches → one transaction each → push after commit
        run.finish({"tracks": 3})                  # → done (also reached by leaving the block normally)

What it guarantees:

* status: queued → running → done | failed | cancelled, every change a conditional UPDATE so a
  cancel, the dead-worker reaper or a second delivery of the same message cannot race it; a job that is
  not "queued" when a worker picks it up is left alone (cancelled before it started, or redelivered).
* batches: engine FrameResults are buffered and written every ``BATCH_FRAMES`` frames or ``BATCH_S``
  seconds, every frame when the engine is slower than that, and every frame until the first figure is
  stored (so the first figure appears as soon as it exists). Each batch — its
  figures, new tracks and the job's progress — is ONE transaction; a worker killed mid-batch leaves
  nothing of that batch. After the commit the batch is published to the video's channel group as
  ``figures.batch`` with a sequence number.
* cancel: ``Job.cancel_requested`` is polled every ``CANCEL_POLL_S`` by a small watcher thread and
  turned into the engine's CancelToken, so the engine stops between frames even while the loop here
  waits for it; in-process cancels set the token directly (``cancel_local``).
* errors: the exception's message becomes ``Job.error`` (tracking errors as they are, anything else as
  "The job crashed (…)"), the time limit as a sentence naming the limit. Nothing is re-raised to
  dramatiq, so no retry happens and the message is acknowledged.
* timings in ``Job.result["timings"]``: queued_s, run_s, loop_s (first frame asked → last written),
  engine_s, write_s, publish_s, frames, fps.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db import close_old_connections, connection, transaction
from django.utils import timezone

from labeling import realtime
from labeling.models import Job, JobStatus
from tracking.errors import Cancelled
from tracking.types import CancelToken, FrameResult

from .liveness import worker_id
from .middleware import failure_message

logger = logging.getLogger("trackroom.jobs")

BATCH_FRAMES = int(os.environ.get("TRACKROOM_BATCH_FRAMES", "10"))
BATCH_S = float(os.environ.get("TRACKROOM_BATCH_S", "0.1"))
CANCEL_POLL_S = 0.1
PROGRESS_PUSH_S = 0.25

_tokens: dict[int, CancelToken] = {}
_tokens_lock = threading.Lock()


def cancel_local(job_id: int) -> bool:
    """Cancel a job running in this process at once (True when it runs here)."""
    with _tokens_lock:
        token = _tokens.get(job_id)
    if token is None:
        return False
    token.cancel()
    return True


class JobSkipped(Exception):
    """The job was not queued any more when a worker got its message (cancelled, or a redelivery)."""


@dataclass
class Written:
    """What a writer stored for one batch: published as ``figures.batch``."""

    figures: list = field(default_factory=list)  # Figure rows
    tracks: list = field(default_factory=list)  # Track rows created in this batch


class BatchWriter:
    """Stores a batch of FrameResults for a job. Called inside the batch's transaction."""

    def write(self, results: list[FrameResult]) -> Written:  # pragma: no cover - interface
        raise NotImplementedError


class JobRun:
    def __init__(self, job_id: int, *, time_limit_s: float | None = None):
        self.job_id = int(job_id)
        self.time_limit_s = time_limit_s
        self.token = CancelToken()
        self.job: Job | None = None
        self.seq = 0
        self.frames_total = 0
        self.frames_done = 0
        self.result: dict = {}
        self.timings = {"engine_s": 0.0, "write_s": 0.0, "publish_s": 0.0, "loop_s": 0.0, "frames": 0}
        self._finished = False
        self._last_progress_push = 0.0
        self._watch_stop = threading.Event()
        self._t0 = time.monotonic()

    # -- lifecycle --------------------------------------------------------------------------------

    def __enter__(self) -> "JobRun":
        now = timezone.now()
        claimed = Job.objects.filter(pk=self.job_id, status=JobStatus.QUEUED, cancel_requested=False).update(
            status=JobStatus.RUNNING, started_at=now, worker=worker_id()[:200]
        )
        if not claimed:
            raise JobSkipped(self.job_id)
        self.job = Job.objects.select_related("video", "project").get(pk=self.job_id)
        with _tokens_lock:
            _tokens[self.job_id] = self.token
        threading.Thread(target=self._watch_cancel, name=f"trackroom-cancel-{self.job_id}", daemon=True).start()
        realtime.publish_job(self.job)
        return self

    def __exit__(self, exc_type, exc, tb) -> bool:
        self._watch_stop.set()
        with _tokens_lock:
            _tokens.pop(self.job_id, None)
        try:
            if exc is None:
                if not self._finished:
                    if self.token.cancelled:
                        self._end(JobStatus.CANCELLED, "")
                    else:
                        self.finish()
            elif isinstance(exc, Cancelled) or (self.token.cancelled and _is_expected(exc)):
                # After a cancel the engine may also stop with its own "stopped" error.
                self._end(JobStatus.CANCELLED, "")
            else:
                if not _is_expected(exc):
                    logger.error("Job %s failed", self.job_id, exc_info=(exc_type, exc, tb))
                self._end(JobStatus.FAILED, failure_message(exc, self.time_limit_s))
        except Exception:  # noqa: BLE001 - the outcome write itself failed (database gone): leave it to the reaper
            logger.exception("Could not record the outcome of job %s", self.job_id)
        # Swallow everything: the outcome is in the Job row; dramatiq must not retry or log it again.
        return True

    def _watch_cancel(self) -> None:
        try:
            while not self._watch_stop.wait(CANCEL_POLL_S):
                if Job.objects.filter(pk=self.job_id, cancel_requested=True).exists():
                    self.token.cancel()
                    return
        except Exception:  # noqa: BLE001
            logger.warning("Cancel watcher of job %s stopped", self.job_id, exc_info=True)
        finally:
            connection.close()

    @property
    def cancelled(self) -> bool:
        return self.token.cancelled

    # -- progress and results ----------------------------------------------------------------------

    def set_total(self, frames_total: int) -> None:
        self.frames_total = int(frames_total)
        Job.objects.filter(pk=self.job_id).update(frames_total=self.frames_total)
        self.job.frames_total = self.frames_total

    def _progress_fields(self) -> dict:
        progress = min(1.0, self.frames_done / self.frames_total) if self.frames_total else 0.0
        return {"frames_done": self.frames_done, "frames_total": self.frames_total, "progress": progress}

    def add_progress(self, frames: int) -> None:
        """Progress for work that writes no figures (e.g. render)."""
        self.frames_done += frames
        now = time.monotonic()
        if now - self._last_progress_push >= PROGRESS_PUSH_S:
            fields = self._progress_fields()
            Job.objects.filter(pk=self.job_id, status=JobStatus.RUNNING).update(**fields)
            self._push_progress(fields, now)

    def report(self, done: int, result: dict | None = None, *, force: bool = False) -> bool:
        """Progress of work counted in other units than frames of figures (training steps): ``done`` of
        the total, plus partial results merged into ``job.result`` (e.g. the loss curve so far), so every
        ``job.progress`` event carries them. Written and pushed at most every PROGRESS_PUSH_S (or at once
        with ``force``); returns True when it was."""
        self.frames_done = int(done)
        if result:
            self.result.update(result)
        now = time.monotonic()
        if not force and now - self._last_progress_push < PROGRESS_PUSH_S:
            return False
        fields = self._progress_fields()
        Job.objects.filter(pk=self.job_id, status=JobStatus.RUNNING).update(result=self.result, **fields)
        self.job.result = dict(self.result)
        self._push_progress(fields, now)
        return True

    def _push_progress(self, fields: dict, now: float) -> None:
        for key, value in fields.items():
            setattr(self.job, key, value)
        self._last_progress_push = now
        realtime.publish_job(self.job, "progress")

    def consume(self, results: Iterable[FrameResult], writer: BatchWriter, *, frames_offset: int = 0) -> int:
        """Run the engine generator to its end, writing and publishing batches. Returns frames seen.

        ``frames_offset``: frames already counted by earlier consume() calls of this job (multi-part
        jobs such as track-frame report one progress over all parts)."""
        buffer: list[FrameResult] = []
        batch_started = 0.0
        wrote_any = False
        seen = 0
        loop_start = time.monotonic()
        iterator = iter(results)
        try:
            while True:
                t = time.monotonic()
                try:
                    item = next(iterator)
                except StopIteration:
                    self.timings["engine_s"] += time.monotonic() - t
                    break
                now = time.monotonic()
                self.timings["engine_s"] += now - t
                seen += 1
                if not buffer:
                    batch_started = now
                buffer.append(item)
                # Flush: a full batch; a batch older than BATCH_S; an engine slower than a batch per
                # BATCH_S (waiting for the next frame would only delay this one); or nothing stored
                # yet (the first figures appear as soon as they exist).
                if (
                    len(buffer) >= BATCH_FRAMES
                    or now - batch_started >= BATCH_S
                    or now - t >= BATCH_S
                    or not wrote_any
                ):
                    wrote_any = self._flush(buffer, writer, frames_offset + item.done if item.total else None) or wrote_any
                    buffer = []
                if self.token.cancelled:
                    break
            if buffer:
                last = buffer[-1]
                self._flush(buffer, writer, frames_offset + last.done if last.total else None)
        finally:
            close = getattr(iterator, "close", None)
            if close is not None:
                close()  # stops the engine's threads when we leave early
            self.timings["loop_s"] += time.monotonic() - loop_start
            self.timings["frames"] += seen
        return seen

    def _flush(self, batch: list[FrameResult], writer: BatchWriter, done: int | None) -> bool:
        """Write one batch in one transaction, then publish it. True when it stored anything."""
        t = time.monotonic()
        if done is not None:
            self.frames_done = done
        fields = self._progress_fields()
        with transaction.atomic():
            written = writer.write(batch)
            Job.objects.filter(pk=self.job_id).update(**fields)
        self.timings["write_s"] += time.monotonic() - t
        t = time.monotonic()
        if written.figures or written.tracks:
            self.seq += 1
            realtime.publish(
                self.job.video_id,
                {
                    "type": "figures.batch",
                    "video": self.job.video_id,
                    "job": self.job_id,
                    "kind": self.job.kind,
                    "seq": self.seq,
                    "frames": [batch[0].frame_index, batch[-1].frame_index],
                    "figures": [realtime.figure_event_dict(f) for f in written.figures],
                    "tracks": [realtime.track_event_dict(tr) for tr in written.tracks],
                    "sent_at": time.time(),  # epoch seconds at commit: clients can show their lag
                },
            )
        now = time.monotonic()
        if now - self._last_progress_push >= PROGRESS_PUSH_S:
            self._push_progress(fields, now)
        self.timings["publish_s"] += time.monotonic() - t
        return bool(written.figures or written.tracks)

    # -- outcome --------------------------------------------------------------------------------------

    def finish(self, result: dict | None = None) -> None:
        if result:
            self.result.update(result)
        self._end(JobStatus.DONE if not self.token.cancelled else JobStatus.CANCELLED, "")

    def _end(self, status: str, error: str) -> None:
        if self._finished:
            return
        self._finished = True
        now = timezone.now()
        t = self.timings
        run_s = time.monotonic() - self._t0
        timings = {
            "queued_s": round((self.job.started_at - self.job.created_at).total_seconds(), 4)
            if self.job and self.job.started_at
            else None,
            "run_s": round(run_s, 4),
            "loop_s": round(t["loop_s"], 4),
            "engine_s": round(t["engine_s"], 4),
            "write_s": round(t["write_s"], 4),
            "publish_s": round(t["publish_s"], 4),
            "frames": t["frames"],
            "fps": round(t["frames"] / t["loop_s"], 3) if t["loop_s"] > 0 else None,
            "batches": self.seq,
        }
        result = {**self.result, "timings": timings}
        fields = {"status": status, "error": error, "finished_at": now, "result": result, **self._progress_fields()}
        if status == JobStatus.DONE:
            fields["progress"] = 1.0  # done is done, even when an auto-track stopped early (object lost)
        updated = Job.objects.filter(pk=self.job_id, status=JobStatus.RUNNING).update(**fields)
        if not updated:
            return  # someone else already ended it (the dead-worker reaper); keep their word
        for key, value in fields.items():
            setattr(self.job, key, value)
        realtime.publish_job(self.job)


def _is_expected(exc: BaseException) -> bool:
    from tracking.errors import TrackroomError

    return isinstance(exc, TrackroomError)


def run_job(job_id: int, body, *, time_limit_s: float | None = None) -> None:
    """What every actor does: run ``body(run)`` inside a JobRun for ``job_id``."""
    try:
        with JobRun(job_id, time_limit_s=time_limit_s) as run:
            body(run)
    except JobSkipped:
        logger.info("Job %s is not queued any more; skipped", job_id)
    finally:
        close_old_connections()
