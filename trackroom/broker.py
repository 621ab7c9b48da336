"""Dramatiq broker set-up, chosen by the environment like the channel layer.

* ``REDIS_URL`` set (production): a RedisBroker. Jobs run in separate worker processes, any number on
  any hosts: ``manage.py worker [--processes N] [--threads M] [--queues jobs] [--device cuda:0]`` or
  ``dramatiq labeling.jobs.entry``.
* ``REDIS_URL`` unset (the embedded default): a StubBroker (in memory) plus one in-process
  ``dramatiq.Worker`` with 2 threads, started once per server process by ``start_embedded_worker()``
  (called from trackroom/asgi.py, i.e. by daphne / ``scripts/run``), never by other management commands
  or the test runner. Jobs interrupted by a restart are failed ("interrupted by a restart") and queued
  ones are sent again at that start.

``setup_broker()`` runs from ``LabelingConfig.ready()`` so the actors (labeling/jobs/actors.py) bind to
this broker whichever process imports them.
"""

from __future__ import annotations

import logging
import os
import threading

import dramatiq
from dramatiq.brokers.stub import StubBroker

logger = logging.getLogger("trackroom.jobs")

# Idle polling of the Redis queues, in ms: the upper bound a free worker waits before it sees a new job.
POLL_MS = int(os.environ.get("TRACKROOM_WORKER_POLL_MS", "50"))
# Prefix of every Redis key Trackroom itself writes (broker queues, worker heartbeats, presence), so
# two installations (or test runs) can share one Redis.
REDIS_PREFIX = os.environ.get("TRACKROOM_REDIS_PREFIX", "trackroom")

_lock = threading.Lock()
_broker: dramatiq.Broker | None = None
_embedded_worker: dramatiq.Worker | None = None


def redis_url() -> str:
    from django.conf import settings

    return getattr(settings, "REDIS_URL", "") or ""


def is_embedded() -> bool:
    """True when jobs run inside the web process (no REDIS_URL)."""
    return not redis_url()


def setup_broker() -> dramatiq.Broker:
    """Create and install the process's broker once (idempotent)."""
    global _broker
    with _lock:
        if _broker is not None:
            return _broker
        url = redis_url()
        if url:
            from dramatiq.brokers.redis import RedisBroker

            broker = RedisBroker(url=url, namespace=REDIS_PREFIX)
        else:
            broker = StubBroker()
        from labeling.jobs.middleware import DjangoConnections, JobOutcome

        # Our middleware first in the list, so its after_process_message runs after dramatiq's own.
        broker.add_middleware(DjangoConnections())
        broker.add_middleware(JobOutcome())
        dramatiq.set_broker(broker)
        _broker = broker
        return broker


def get_broker() -> dramatiq.Broker:
    return _broker or setup_broker()


_booted = False


def boot_worker_process() -> None:
    """Tell the middleware this process runs actors (starts TimeLimit's watchdog thread). The dramatiq
    CLI does this itself; ``manage.py worker`` and the embedded worker call this once."""
    global _booted
    with _lock:
        if _booted:
            return
        _booted = True
    get_broker().emit_after("process_boot")


def start_embedded_worker(threads: int = 2) -> dramatiq.Worker | None:
    """Start the in-process worker of the embedded default, once per process; no-op with Redis.

    Before it takes work, jobs left "running" by a previous server process are failed and queued ones
    are sent again (a StubBroker forgets its messages when the process ends)."""
    global _embedded_worker
    if not is_embedded() or os.environ.get("TRACKROOM_EMBEDDED_WORKER", "1") == "0":
        return None
    with _lock:
        if _embedded_worker is not None:
            return _embedded_worker
    broker = get_broker()
    boot_worker_process()
    from labeling.jobs import liveness
    from labeling.services import job_runs

    liveness.start(interval_s=None)  # no heartbeat thread: one process owns every job here
    try:
        job_runs.recover_after_restart(requeue_queued=True)
    except Exception:  # the database may not be migrated yet; jobs can't exist then either
        logger.warning("Could not recover interrupted jobs at start-up", exc_info=True)
    worker = dramatiq.Worker(broker, worker_threads=threads, worker_timeout=POLL_MS)
    worker.start()
    with _lock:
        _embedded_worker = worker
    logger.info("Embedded job worker started (%d threads, in-memory broker)", threads)
    return worker


class EmbeddedWorkerStarter:
    """ASGI wrapper: on the server's first connection (any protocol), start the embedded worker in a
    thread (it touches the database, which must not happen on the event loop)."""

    def __init__(self, app):
        self.app = app
        self._started = False

    async def __call__(self, scope, receive, send):
        if not self._started:
            self._started = True
            if is_embedded():
                threading.Thread(target=start_embedded_worker, name="trackroom-embedded-start", daemon=True).start()
        return await self.app(scope, receive, send)


def stop_embedded_worker() -> None:
    global _embedded_worker
    with _lock:
        worker, _embedded_worker = _embedded_worker, None
    if worker is not None:
        worker.stop()
