"""Which worker processes are alive, so a job whose worker died (SIGKILL, OOM, power loss) ends failed
instead of "running" forever.

Each process that runs jobs has an id (host:pid:random) that it writes into ``Job.worker`` when it claims a
job. With Redis, a heartbeat thread keeps ``trackroom:worker:<id>`` alive with a TTL
(TRACKROOM_WORKER_TTL_S, default 30 s) and, on the same beat, fails running jobs whose worker's key has
expired (``job_runs.fail_jobs_of_dead_workers``). In the embedded default the only live worker is this
process.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid

logger = logging.getLogger("trackroom.jobs")

TTL_S = float(os.environ.get("TRACKROOM_WORKER_TTL_S", "30"))
KEY_PREFIX = os.environ.get("TRACKROOM_REDIS_PREFIX", "trackroom") + ":worker:"

_id: tuple[int, str] | None = None
_thread: threading.Thread | None = None
_stop = threading.Event()


def worker_id() -> str:
    global _id
    pid = os.getpid()
    if _id is None or _id[0] != pid:
        _id = (pid, f"{socket.gethostname()}:{pid}:{uuid.uuid4().hex[:6]}")
    return _id[1]


def _redis():
    from django.conf import settings

    url = getattr(settings, "REDIS_URL", "")
    if not url:
        return None
    import redis

    return redis.Redis.from_url(url)


def alive(worker_ids: set[str]) -> set[str]:
    """The subset of ``worker_ids`` that are alive now."""
    client = _redis()
    if client is None:
        return {w for w in worker_ids if w == worker_id()}
    ids = sorted(worker_ids)
    if not ids:
        return set()
    with client.pipeline() as pipe:
        for w in ids:
            pipe.exists(KEY_PREFIX + w)
        found = pipe.execute()
    return {w for w, ok in zip(ids, found) if ok} | ({worker_id()} & worker_ids)


def beat() -> None:
    client = _redis()
    if client is not None:
        client.set(KEY_PREFIX + worker_id(), "1", px=int(TTL_S * 1000))


def start(interval_s: float | None = -1) -> None:
    """Register this process as a live worker. With Redis, beat every TTL/3 (or ``interval_s``) and
    reap jobs of dead workers on each beat; ``interval_s=None`` registers without a thread."""
    global _thread
    beat()
    if interval_s is None or _redis() is None or _thread is not None:
        return
    interval = TTL_S / 3 if interval_s == -1 else interval_s
    _stop.clear()

    def run() -> None:
        from django.db import close_old_connections

        from labeling.services.job_runs import fail_jobs_of_dead_workers

        while not _stop.wait(interval):
            try:
                beat()
                fail_jobs_of_dead_workers()
            except Exception:  # noqa: BLE001 - a hiccup (Redis/DB restart) must not end the heartbeat
                logger.warning("Worker heartbeat failed", exc_info=True)
            finally:
                close_old_connections()

    _thread = threading.Thread(target=run, name="trackroom-heartbeat", daemon=True)
    _thread.start()


def stop() -> None:
    global _thread
    _stop.set()
    _thread = None
    client = _redis()
    if client is not None:
        try:
            client.delete(KEY_PREFIX + worker_id())
        except Exception:  # noqa: BLE001
            pass
