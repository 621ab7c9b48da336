"""manage.py worker: run Trackroom's job actors against the Redis broker (REDIS_URL).

    manage.py worker                               1 process, 1 thread, queue "jobs", device auto
    manage.py worker --processes 2 --threads 1     two processes (e.g. two jobs at once on a CPU box)
    manage.py worker --device cuda:1               this worker's jobs run on the second GPU

Start any number, on any hosts that reach the same Redis and database. One job per GPU: give each
GPU its own worker with --threads 1 (the compose file runs one container per GPU). The stock CLI works
too: ``dramatiq labeling.jobs.entry``.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading

from django.core.management.base import BaseCommand, CommandError


def _warm_up() -> None:
    """Import the engine's heavy libraries now, not when the first job arrives (seconds each)."""
    try:
        from tracking.runtime import configure_offline

        configure_offline()
        import boxmot  # noqa: F401
        import ultralytics  # noqa: F401
    except Exception:  # noqa: BLE001 - the job will report the real error
        pass


class Command(BaseCommand):
    help = "Run job workers (Track, Auto-Track, render) against the Redis broker named by REDIS_URL."

    def add_arguments(self, parser):
        parser.add_argument("--processes", type=int, default=1, help="worker processes (default 1)")
        parser.add_argument("--threads", type=int, default=1, help="jobs at once per process (default 1)")
        parser.add_argument("--queues", nargs="+", default=["jobs"], help="queues to take jobs from (default: jobs)")
        parser.add_argument(
            "--device", default=os.environ.get("TRACKROOM_DEVICE", "auto"),
            help="where detectors run: auto (GPU when present), cpu, cuda:N (default: auto)",
        )  # fmt: skip

    def handle(self, *args, processes, threads, queues, device, **options):
        from trackroom.broker import is_embedded

        if is_embedded():
            raise CommandError(
                "manage.py worker needs REDIS_URL (e.g. redis://localhost:6379/0). Without it, the web server "
                "(scripts/run) runs jobs itself."
            )
        if processes < 1 or threads < 1:
            raise CommandError("--processes and --threads must be at least 1.")
        device = self._check_device(device)
        if processes > 1:
            return self._supervise(processes, threads, queues, device)
        self._run(threads, queues, device)

    def _check_device(self, device: str) -> str:
        from tracking.detectors import resolve_device
        from tracking.errors import TrackroomError

        try:
            resolve_device(device)
        except TrackroomError as error:
            raise CommandError(str(error)) from None
        return device

    def _run(self, threads: int, queues: list[str], device: str) -> None:
        import dramatiq

        from labeling.jobs import liveness
        from labeling.services.job_runs import fail_jobs_of_dead_workers
        from trackroom.broker import POLL_MS, boot_worker_process, get_broker

        os.environ["TRACKROOM_DEVICE"] = device
        broker = get_broker()
        boot_worker_process()
        liveness.start()
        failed = fail_jobs_of_dead_workers()
        if failed:
            self.stderr.write(f"Failed {len(failed)} job(s) whose worker had died: {failed}")
        worker = dramatiq.Worker(broker, queues=set(queues), worker_threads=threads, worker_timeout=POLL_MS)
        # Dramatiq prefetches 2 messages per thread; jobs last seconds to hours, so a prefetched job
        # would wait behind a busy worker while another sits idle. Take only what can start now.
        worker.queue_prefetch = threads
        stop = threading.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: stop.set())
        worker.start()
        threading.Thread(target=_warm_up, name="trackroom-warm-up", daemon=True).start()
        self.stdout.write(
            f"Trackroom worker {liveness.worker_id()} ready (queues: {', '.join(queues)}, threads: {threads}, "
            f"device: {device})"
        )
        self.stdout.flush()
        stop.wait()
        self.stdout.write("Stopping: finishing the jobs in hand…")
        worker.stop()
        liveness.stop()

    def _supervise(self, processes: int, threads: int, queues: list[str], device: str) -> None:
        command = [sys.executable, sys.argv[0], "worker", "--processes", "1", "--threads", str(threads),
                   "--device", device, "--queues", *queues]  # fmt: skip
        children = [subprocess.Popen(command) for _ in range(processes)]

        def forward(sig, _frame):
            for child in children:
                if child.poll() is None:
                    child.send_signal(sig)

        signal.signal(signal.SIGINT, forward)
        signal.signal(signal.SIGTERM, forward)
        codes = [child.wait() for child in children]
        if any(codes):
            raise CommandError(f"A worker process exited with {max(codes)}.")
