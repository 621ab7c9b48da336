"""Job writes that the API needs. Running jobs is the worker's business; here a person may only ask
for one to stop."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.utils import timezone

from labeling.models import Job, JobStatus


def request_cancel(*, job: Job) -> Job:
    """Ask a job to stop. A queued job is cancelled at once (no worker holds it yet); a running
    one gets ``cancel_requested`` and its worker stops at the next frame. Both steps are
    conditional updates so they cannot race the worker's own status changes."""
    now = timezone.now()
    if Job.objects.filter(pk=job.pk, status=JobStatus.QUEUED).update(
        status=JobStatus.CANCELLED, cancel_requested=True, finished_at=now
    ):
        job.refresh_from_db()
        return job
    if Job.objects.filter(pk=job.pk, status=JobStatus.RUNNING).update(cancel_requested=True):
        job.refresh_from_db()
        return job
    job.refresh_from_db()
    raise ValidationError(f"This job has already finished ({job.status}); there is nothing to cancel.")
