"""Entry module for the stock ``dramatiq`` CLI:  dramatiq labeling.jobs.entry --processes 1 --threads 1

Sets Django up (which installs the broker from REDIS_URL and declares the actors) and registers the
process as a live worker. ``manage.py worker`` does the same with Trackroom's options (--device, …).
"""

import atexit
import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "trackroom.settings")
django.setup()

from labeling.jobs import liveness  # noqa: E402
from labeling.services.job_runs import fail_jobs_of_dead_workers  # noqa: E402
from trackroom.broker import get_broker  # noqa: E402

broker = get_broker()
liveness.start()
atexit.register(liveness.stop)  # a clean exit removes the heartbeat at once (a killed one expires)
fail_jobs_of_dead_workers()
