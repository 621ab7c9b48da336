"""Dramatiq middleware for Trackroom's job actors.

* DjangoConnections: worker threads are long-lived; drop stale/broken database connections around each
  message, as Django does around each request.
* JobOutcome: the safety net. Whatever escapes an actor (a crash before the job's JobRun took over, the
  time limit firing at an odd moment) ends the job failed with a sentence for a person; a job is never
  left queued/running by a failed message. Retries are off for user jobs (``max_retries=0`` on every
  actor): a job is re-run by the user, not silently.
"""

from __future__ import annotations

import logging

from django.db import close_old_connections, connections
from dramatiq.middleware import Middleware, TimeLimitExceeded

logger = logging.getLogger("trackroom.jobs")


class DjangoConnections(Middleware):
    def before_process_message(self, broker, message):
        close_old_connections()

    def after_process_message(self, broker, message, *, result=None, exception=None):
        # Jobs are long and rare next to requests: give the connection back rather than hold it idle.
        connections.close_all()

    after_skip_message = after_process_message


def failure_message(exc: BaseException, time_limit_s: float | None = None) -> str:
    """The sentence a person sees for a job that raised ``exc``."""
    from tracking.errors import TrackroomError

    if isinstance(exc, TimeLimitExceeded):
        limit = f" of {time_limit_s / 60:g} minutes" if time_limit_s else ""
        return f"The job took longer than its time limit{limit} and was stopped; try a shorter frame range."
    if isinstance(exc, TrackroomError):
        return str(exc)
    text = str(exc).strip().splitlines()[0][:300] if str(exc).strip() else ""
    return f"The job crashed ({type(exc).__name__}{': ' + text if text else ''}). It was stopped; details are in the worker log."


class JobOutcome(Middleware):
    def after_process_message(self, broker, message, *, result=None, exception=None):
        if exception is None or not message.args:
            return
        from labeling.services.job_runs import fail_job

        try:
            actor = broker.get_actor(message.actor_name)
            limit_ms = message.options.get("time_limit") or actor.options.get("time_limit")
            fail_job(int(message.args[0]), failure_message(exception, limit_ms / 1000 if limit_ms else None))
        except Exception:  # noqa: BLE001 - never let the safety net raise inside the worker
            logger.exception("Could not mark job %s failed", message.args[0])
        finally:
            close_old_connections()
