"""Uploaded files (videos, models) are copied to MEDIA_ROOT/.incoming while hashed and counted, checked
there, and only then moved into their FileField: a refused upload leaves nothing behind."""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files import File
from django.db import transaction

COPY_CHUNK = 1024 * 1024


class StagedFile(File):
    """A file already on disk; FileSystemStorage moves it into place instead of copying it."""

    def temporary_file_path(self) -> str:
        return self.name


def stage_upload(src, *, prefix: str, suffix: str, limit: int, too_large: Callable[[], Exception]):
    """Copy the readable ``src`` into MEDIA_ROOT/.incoming; return (path, sha256 hex, size in bytes).
    Raises ``too_large()`` as soon as more than ``limit`` bytes arrive; never leaves a partial file."""
    incoming = Path(settings.MEDIA_ROOT) / ".incoming"
    incoming.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=prefix, suffix=suffix, dir=incoming)
    digest, size = hashlib.sha256(), 0
    try:
        with os.fdopen(fd, "wb") as out:
            while chunk := src.read(COPY_CHUNK):
                size += len(chunk)
                if size > limit:
                    raise too_large()
                digest.update(chunk)
                out.write(chunk)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return Path(tmp), digest.hexdigest(), size


def save_with_staged_file(instance, staged: Path, file_name: str):
    """Save ``instance`` with the staged upload moved into its ``file`` field, in one transaction.
    If the row or the commit fails, the stored file is removed again (the caller removes ``staged``)."""
    stored_name = None
    try:
        with transaction.atomic():
            with open(staged, "rb") as handle:
                instance.file.save(file_name, StagedFile(handle, name=str(staged)), save=False)
            stored_name = instance.file.name
            instance.save()
        return instance
    except BaseException:
        if stored_name:
            instance.file.storage.delete(stored_name)
        raise


def delete_with_file_unless_busy(model, busy_jobs, what: str) -> None:
    """Delete a row that owns an uploaded or trained file (a detector or ReID model) and then its file,
    refused with a sentence while ``busy_jobs`` (queued or running jobs that need it) is not empty. The
    file goes only once the row's deletion has committed."""
    with transaction.atomic():
        busy = list(busy_jobs.values_list("id", flat=True))
        if busy:
            ids = ", ".join(str(i) for i in busy)
            raise ValidationError(
                f"{what} '{model.name}' is in use by job{'s' if len(busy) > 1 else ''} {ids} (queued or running); "
                "cancel or wait for them, then delete it."
            )
        file_name = model.file.name
        storage = type(model)._meta.get_field("file").storage
        model.delete()
        transaction.on_commit(lambda: storage.delete(file_name) if file_name else None)
