"""Publishing to the per-video channel groups that labeling/consumers.py relays to browsers.

Anything that changes what a video's viewers see calls one of these after its transaction commits:

    publish(video_id, {"type": "figures.batch", ...})          # raw event (jobs)
    publish_figure_change("created" | "updated" | "deleted", figure)   # services, on commit
    publish_track_change("created" | "updated" | "deleted", track)

Delivery is in order per publishing thread: each call waits (a few ms at most) until the channel layer
took the event. Events are plain JSON types so both the in-memory and the Redis (msgpack) layer carry them.

Which event loop sends: channel layers are asyncio code. With the Redis layer a background loop thread
in this process does it. The in-memory layer (embedded default) lives on the server's own loop (the one
running the WebSocket consumers), so events are handed to that loop; a process that never served a
socket has no in-memory listeners and drops the event.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from concurrent.futures import TimeoutError as FutureTimeout

from channels.layers import InMemoryChannelLayer, get_channel_layer
from django.db import transaction

logger = logging.getLogger("trackroom.realtime")

SEND_TIMEOUT_S = 5.0
_lock = threading.Lock()
_server_loop: asyncio.AbstractEventLoop | None = None
_own_loop: asyncio.AbstractEventLoop | None = None


def video_group(video_id: int) -> str:
    return f"video.{int(video_id)}"


def bind_server_loop(loop: asyncio.AbstractEventLoop) -> None:
    """Called by the consumer on connect: the loop the in-memory layer's listeners live on."""
    global _server_loop
    _server_loop = loop


def _background_loop() -> asyncio.AbstractEventLoop:
    global _own_loop
    with _lock:
        if _own_loop is None or _own_loop.is_closed():
            loop = asyncio.new_event_loop()
            threading.Thread(target=loop.run_forever, name="trackroom-publish", daemon=True).start()
            _own_loop = loop
        return _own_loop


def _iso(value) -> str | None:
    return value.isoformat() if value is not None else None


def figure_event_dict(f) -> dict:
    """A figure exactly as the REST API shows it."""
    from labeling.api.serializers import figure_to_dict  # late: the API layer imports services

    return figure_to_dict(f)


def track_event_dict(t) -> dict:
    return {
        "id": t.pk,
        "video": t.video_id,
        "label": t.label_id,
        "number": t.number,
        "attributes": t.attributes,
        "source": t.source,
        "job": t.job_id,
        "version": t.version,
        "created_by": t.created_by_id,
        "created_at": _iso(t.created_at),
        "updated_at": _iso(t.updated_at),
    }


def job_event_dict(job) -> dict:
    return {
        "id": job.pk,
        "project": job.project_id,
        "video": job.video_id,
        "kind": job.kind,
        "status": job.status,
        "progress": job.progress,
        "frames_done": job.frames_done,
        "frames_total": job.frames_total,
        "error": job.error,
        "result": job.result,
        "cancel_requested": job.cancel_requested,
    }


def publish(video_id: int, event: dict) -> bool:
    """Send ``event`` to everyone watching the video. Returns False when it could not be delivered
    (logged; a lost push never fails the write that caused it — clients also re-read on reconnect)."""
    layer = get_channel_layer()
    if layer is None:
        return False
    message = {"type": "push", "event": event}
    coro_factory = lambda: layer.group_send(video_group(video_id), message)  # noqa: E731
    if isinstance(layer, InMemoryChannelLayer):
        loop = _server_loop
        if loop is None or loop.is_closed():
            return False  # nobody in this process ever subscribed
    else:
        loop = _background_loop()
    try:
        running = asyncio.get_running_loop()
    except RuntimeError:
        running = None
    if running is loop:  # called from async code on that very loop: don't block it
        loop.create_task(coro_factory())
        return True
    try:
        asyncio.run_coroutine_threadsafe(coro_factory(), loop).result(timeout=SEND_TIMEOUT_S)
        return True
    except (FutureTimeout, Exception):  # noqa: BLE001 - a push failure must not fail the caller
        logger.warning("Could not publish %s to video %s", event.get("type"), video_id, exc_info=True)
        return False


def publish_on_commit(video_id: int, event_factory) -> None:
    """Publish after the current transaction commits (at once outside a transaction).
    ``event_factory()`` builds the event at that moment, so it sees the committed rows."""
    transaction.on_commit(lambda: publish(video_id, event_factory()))


def publish_figure_change(action: str, figure, *, user=None) -> None:
    """``figure.created`` / ``figure.updated`` / ``figure.deleted`` to the figure's video, after commit.

    Call it inside the write's transaction; for "deleted" call it BEFORE ``figure.delete()`` (Django
    clears the pk on delete; the id, track and frame are captured now)."""
    if action not in ("created", "updated", "deleted"):
        raise ValueError(f"unknown figure action {action!r}")
    snapshot = (
        {"id": figure.pk, "track": figure.track_id, "video": figure.video_id, "frame": figure.frame}
        if action == "deleted"
        else None
    )
    by = getattr(user, "pk", None) if getattr(user, "is_authenticated", False) else None

    def event() -> dict:
        body = snapshot if snapshot is not None else figure_event_dict(figure)
        return {"type": f"figure.{action}", "figure": body, "by": by}

    publish_on_commit(figure.video_id, event)


def publish_figures_change(action: str, figures, *, user=None) -> None:
    """One ``figure.<action>`` event per figure (bulk writes), after commit."""
    for figure in figures:
        publish_figure_change(action, figure, user=user)


def publish_track_change(action: str, track, *, user=None) -> None:
    """``track.created`` / ``track.updated`` / ``track.deleted`` to the track's video, after commit.
    For "deleted" call it BEFORE ``track.delete()``."""
    if action not in ("created", "updated", "deleted"):
        raise ValueError(f"unknown track action {action!r}")
    snapshot = {"id": track.pk, "video": track.video_id, "number": track.number} if action == "deleted" else None
    by = getattr(user, "pk", None) if getattr(user, "is_authenticated", False) else None

    def event() -> dict:
        return {"type": f"track.{action}", "track": snapshot or track_event_dict(track), "by": by}

    publish_on_commit(track.video_id, event)


def publish_job(job, kind: str | None = None) -> None:
    """``job.progress`` / ``job.done`` / ``job.failed`` / ``job.cancelled`` / ``job.queued``."""
    if job.video_id is None:
        return
    name = kind or ("progress" if job.status == "running" else job.status)
    publish(job.video_id, {"type": f"job.{name}", "job": job_event_dict(job)})
