"""Self-supervised re-identification models of a project: training them (a "reid_train" job over one
or more of the project's videos and the detector boxes found on them), tracking with them, deleting them.

A ReidModel row is created together with its training job, status "training"; the worker writes the
weights under a temporary name and the row gets its file only when training finished (status "ready").
A failed or cancelled run leaves the row "failed" with no file, so nothing half-trained is ever usable.

Detections for training come, per video, from
  * "track-job": the figures an earlier Track job stored (source detector), or
  * "detections:<id>": an imported detection set of that video (MOTChallenge det file, 1-based frames).
"""

from __future__ import annotations

import math
from collections import defaultdict
from pathlib import Path

import numpy as np
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q, QuerySet

from labeling.models import Figure, FigureSource, Job, JobKind, JobStatus, Project, ReidModel, ReidStatus, Video
from labeling.services.uploads import delete_with_file_unless_busy

TRACK_JOB = "track-job"
DETECTIONS_PREFIX = "detections:"
IMAGENET = "imagenet"
DEFAULT_STEPS = 300
MAX_STEPS = 100_000
MIN_DETECTIONS = 2  # a video needs boxes on at least two frames to pair frames t and t+k
ACTIVE = [JobStatus.QUEUED, JobStatus.RUNNING]


# ------------------------------------------------------------------------------------------- reads


def reid_models_of_project(project: Project | int) -> QuerySet[ReidModel]:
    project_id = project.pk if isinstance(project, Project) else project
    return ReidModel.objects.filter(project_id=project_id).select_related("job").prefetch_related("videos")


def reid_models_for_user(user) -> QuerySet[ReidModel]:
    from labeling.models import Membership

    if not getattr(user, "is_authenticated", False):
        return ReidModel.objects.none()
    projects = Membership.objects.filter(user=user).values("project_id")
    return ReidModel.objects.filter(project_id__in=projects).select_related("job").prefetch_related("videos")


def effective_status(model: ReidModel) -> str:
    """The status to show: a "training" row whose job ended without finishing it (its worker was killed,
    the server restarted) is failed, even before anything rewrote the row."""
    if model.status == ReidStatus.TRAINING and model.job is not None and model.job.status in (
        JobStatus.FAILED, JobStatus.CANCELLED,
    ):  # fmt: skip
        return ReidStatus.FAILED
    if model.status == ReidStatus.TRAINING and model.job_id is None:
        return ReidStatus.FAILED
    return model.status


def reid_model_path(model: ReidModel) -> Path | None:
    """The trained weights on disk, or None (still training, failed, or the file went missing)."""
    if not model.file:
        return None
    path = Path(model.file.path)
    return path if path.is_file() else None


def reid_model_download_name(model: ReidModel) -> str:
    stem = "".join(c if c.isalnum() or c in "-_." else "-" for c in model.name).strip("-.") or "reid-model"
    return f"{stem}.pt"


def jobs_using(model: ReidModel) -> QuerySet[Job]:
    """Queued or running jobs that need the model: its own training, or Track jobs tracking with it."""
    return Job.objects.filter(
        Q(pk=model.job_id) | Q(kind=JobKind.TRACK, params__reid_model_id=model.pk),
        project_id=model.project_id, status__in=ACTIVE,
    )  # fmt: skip


# ----------------------------------------------------------------------------------- detections


def _detection_set_model():
    try:
        from labeling.models import DetectionSet  # issue 7 (exchange): imported detections
    except ImportError:
        return None
    return DetectionSet


def find_detection_set(video: Video, set_id: str):
    DetectionSet = _detection_set_model()
    if DetectionSet is None:
        raise ValidationError("Imported detection sets are not available in this installation; use \"track-job\".")
    if not str(set_id).strip().isdigit():
        raise ValidationError(f"'{DETECTIONS_PREFIX}{set_id}' is not a detection set: give its id, e.g. \"detections:3\".")
    found = DetectionSet.objects.filter(pk=int(set_id), video__project_id=video.project_id).first()
    if found is None:
        raise ValidationError(f"There is no detection set {set_id} in this project.")
    if found.video_id != video.pk:
        raise ValidationError(
            f"Detection set {set_id} belongs to another video (id {found.video_id}), not to '{video.name}'."
        )
    return found


def detection_set_path(detection_set) -> Path:
    try:
        from labeling.selectors_exchange import detection_set_file
    except ImportError:
        return Path(detection_set.file.path)
    return Path(detection_set_file(detection_set))


def _track_job_frames(video: Video) -> int:
    return (
        Figure.objects.filter(video=video, source=FigureSource.DETECTOR, outside=False)
        .values("frame").distinct().count()
    )  # fmt: skip


def detections_from_figures(video: Video) -> dict[int, np.ndarray]:
    """The detector boxes of the video's Track job(s): 0-based frame → N×5 [x1, y1, x2, y2, conf]."""
    rows = (
        Figure.objects.filter(video=video, source=FigureSource.DETECTOR, outside=False)
        .order_by("frame", "id").values_list("frame", "x1", "y1", "x2", "y2", "confidence")
    )  # fmt: skip
    by_frame: dict[int, list] = defaultdict(list)
    for frame, x1, y1, x2, y2, conf in rows.iterator(chunk_size=5000):
        by_frame[frame].append((x1, y1, x2, y2, 1.0 if conf is None else conf))
    return {f: np.asarray(v, np.float32).reshape(-1, 5) for f, v in by_frame.items()}


def detections_from_file(path: Path, frame_count: int | None = None) -> dict[int, np.ndarray]:
    """A MOTChallenge det file (1-based frames) as 0-based frame → N×5 [x1, y1, x2, y2, conf]."""
    from tracking.motchallenge import read_mot

    out = {}
    for frame, rows in read_mot(path).items():
        if frame_count is not None and frame >= frame_count:
            continue
        out[frame] = np.asarray([[*r.xyxy, min(1.0, max(0.0, r.conf))] for r in rows], np.float32).reshape(-1, 5)
    return out


def training_detections(video: Video, spec: str) -> dict[int, np.ndarray]:
    """What the worker trains on for one video (``spec`` as checked by ``_detections_plan``)."""
    if spec == TRACK_JOB:
        return detections_from_figures(video)
    set_id = spec[len(DETECTIONS_PREFIX):]
    return detections_from_file(detection_set_path(find_detection_set(video, set_id)), video.frame_count)


def _detections_plan(videos: list[Video], detections) -> dict[int, str]:
    """Check the detections source of every video and say, per video id, where its boxes come from.

    ``detections``: "track-job", "detections:<set id>" (that set's video), or an object mapping video
    ids to either."""
    if detections is None:
        detections = TRACK_JOB
    if isinstance(detections, dict):
        specs = {}
        for key, value in detections.items():
            if not str(key).isdigit() or int(key) not in {v.pk for v in videos}:
                raise ValidationError(f"detections: {key!r} is not one of the videos to train on.")
            specs[int(key)] = value
        missing = [v.name for v in videos if v.pk not in specs]
        if missing:
            raise ValidationError(f"detections: say where the boxes of {', '.join(missing)} come from.")
    elif isinstance(detections, str):
        specs = {v.pk: detections for v in videos}
    else:
        raise ValidationError(
            'detections must be "track-job", "detections:<detection set id>", or an object {"<video id>": ...}.'
        )
    plan = {}
    for video in videos:
        spec = specs[video.pk]
        if not isinstance(spec, str):
            raise ValidationError(f"detections for '{video.name}' must be \"track-job\" or \"detections:<id>\".")
        spec = spec.strip()
        if spec == TRACK_JOB:
            frames = _track_job_frames(video)
            if frames < MIN_DETECTIONS:
                raise ValidationError(
                    f"Video '{video.name}' has no detections from a Track job to train on"
                    f"{f' (boxes on {frames} frame only)' if frames else ''}: run Track on it first, or import "
                    "detections and use \"detections:<id>\"."
                )
        elif spec.startswith(DETECTIONS_PREFIX):
            found = find_detection_set(video, spec[len(DETECTIONS_PREFIX):])
            spec = f"{DETECTIONS_PREFIX}{found.pk}"
            if getattr(found, "rows", None) == 0:
                raise ValidationError(f"Detection set {found.pk} of '{video.name}' holds no detections.")
        else:
            raise ValidationError(
                f"Unknown detections source {spec!r}: use \"track-job\" (boxes of an earlier Track job) or "
                "\"detections:<id>\" (an imported detection set)."
            )
        plan[video.pk] = spec
    return plan


# ------------------------------------------------------------------------------------------ train


def _videos_of_project(project: Project, videos) -> list[Video]:
    if videos is None or videos == []:
        raise ValidationError("Choose at least one video to train on (\"videos\": [ids]).")
    if not isinstance(videos, list) or any(isinstance(v, bool) or not isinstance(v, int) for v in videos):
        raise ValidationError("videos must be a list of video ids, e.g. [3, 4].")
    ids = list(dict.fromkeys(videos))
    found = {v.pk: v for v in Video.objects.filter(pk__in=ids, project=project)}
    foreign = [i for i in ids if i not in found]
    if foreign:
        raise ValidationError(
            f"Video{'s' if len(foreign) > 1 else ''} {', '.join(map(str, foreign))} "
            f"{'are' if len(foreign) > 1 else 'is'} not in this project; train on videos of project '{project.name}'."
        )
    return [found[i] for i in ids]


def _steps(steps) -> int:
    if steps is None:
        return DEFAULT_STEPS
    if isinstance(steps, bool) or not isinstance(steps, int) or not 1 <= steps <= MAX_STEPS:
        raise ValidationError(f"steps must be a whole number from 1 to {MAX_STEPS}, got {steps!r}.")
    return steps


def _optional_number(value, what: str, low: float, high: float) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or not low <= value <= high:
        raise ValidationError(f"{what} must be a number from {low:g} to {high:g}, got {value!r}.")
    return value


def start_reid_train_job(*, project: Project, user=None, videos=None, detections=TRACK_JOB, steps=None,
                         name: str | None = None, batch=None, lr=None) -> Job:  # fmt: skip
    """Check everything, then create the ReidModel (training) and its queued "reid_train" job together.

    The job's video is the first training video, so its progress (job.result["losses"], the live loss
    curve) is pushed on that video's WebSocket; /api/jobs/<id>/ has it for everyone."""
    from labeling.services.job_runs import _queue_job

    chosen = _videos_of_project(project, videos)
    plan = _detections_plan(chosen, detections)
    steps = _steps(steps)
    batch = _optional_number(batch, "batch", 1, 1024)
    lr = _optional_number(lr, "lr", 1e-7, 1.0)
    if name is not None and not isinstance(name, str):
        raise ValidationError("name must be text.")
    name = (name or "").strip()[:255] or f"ReID {', '.join(v.name for v in chosen)}"[:255]
    params = {"steps": steps, "detections": {str(k): v for k, v in plan.items()}, "videos": [v.pk for v in chosen]}
    if batch is not None:
        params["batch"] = int(batch)
    if lr is not None:
        params["lr"] = float(lr)
    with transaction.atomic():
        model = ReidModel.objects.create(
            project=project, name=name, params=params, created_by=user if getattr(user, "is_authenticated", False) else None,
        )  # fmt: skip
        model.videos.set(chosen)
        job = _queue_job(chosen[0], JobKind.REID_TRAIN, {**params, "model": model.pk, "name": name}, user,
                         frames_total=steps)  # fmt: skip
        ReidModel.objects.filter(pk=model.pk).update(job=job)
    return job


def reid_model_for_job(job: Job) -> ReidModel:
    return ReidModel.objects.get(pk=job.params["model"])


def reid_training_progress(model: ReidModel, losses: list) -> None:
    """The loss curve so far (the model list shows it while training runs)."""
    ReidModel.objects.filter(pk=model.pk, status=ReidStatus.TRAINING).update(losses=losses)


def reid_training_finished(*, model: ReidModel, weights: Path, losses: list, metrics: dict, seconds: float,
                           params: dict) -> ReidModel:  # fmt: skip
    """Move the trained weights (a file under MEDIA_ROOT) into the model's place and mark it ready, in
    one step: if the row cannot be updated, the file is removed again."""
    media = Path(settings.MEDIA_ROOT).resolve()
    final = media / "reid" / str(model.project_id) / f"model-{model.pk}.pt"
    final.parent.mkdir(parents=True, exist_ok=True)
    Path(weights).replace(final)
    try:
        with transaction.atomic():
            updated = ReidModel.objects.filter(pk=model.pk, status=ReidStatus.TRAINING).update(
                file=str(final.relative_to(media)), status=ReidStatus.READY, losses=losses, metrics=metrics,
                seconds=round(float(seconds), 3), params={**model.params, **params},
            )  # fmt: skip
            if not updated:
                raise ValidationError("The model was deleted while it was training.")
    except BaseException:
        final.unlink(missing_ok=True)
        raise
    model.refresh_from_db()
    return model


def reid_training_failed(*, model_id: int, losses: list | None = None, partial: Path | None = None) -> None:
    """The training did not finish: no file, status failed (the job's error says why)."""
    if partial is not None:
        Path(partial).unlink(missing_ok=True)
    fields = {"status": ReidStatus.FAILED}
    if losses is not None:
        fields["losses"] = losses
    ReidModel.objects.filter(pk=model_id, status=ReidStatus.TRAINING).update(**fields)


# ------------------------------------------------------------------------------------------ delete


def reid_model_delete(*, model: ReidModel) -> None:
    """Delete the model and its file; refused while its training or a Track job using it is queued/running."""
    delete_with_file_unless_busy(model, jobs_using(model), "ReID model")


# ------------------------------------------------------------------------------------ track with it


def resolve_reid_model(value, project_id: int) -> tuple[str, int | None]:
    """A Track job's ``reid_model``: "imagenet" (ImageNet MobileNetV2 features, no training) or the id of a
    ready ReID model of the same project (usable on any of its videos). Returns (what the engine gets:
    "imagenet" or the weights path, the model id or None)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        raise ValidationError(
            'The reid tracker needs "reid_model": the id of a ready ReID model of this project '
            '(GET /api/projects/<id>/reid-models/) or "imagenet".'
        )
    text = str(value).strip()
    if text.lower() == IMAGENET:
        return IMAGENET, None
    if isinstance(value, bool) or not text.isdigit():
        raise ValidationError(f'reid_model must be a ReID model id or "imagenet", got {value!r}.')
    model = ReidModel.objects.select_related("job").filter(pk=int(text), project_id=project_id).first()
    if model is None:
        raise ValidationError(f"There is no ReID model {text} in this project (GET /api/projects/<id>/reid-models/).")
    status = effective_status(model)
    if status != ReidStatus.READY:
        raise ValidationError(
            f"ReID model '{model.name}' is {'still training' if status == ReidStatus.TRAINING else 'failed'}; "
            "track with a ready model."
        )
    path = reid_model_path(model)
    if path is None:
        raise ValidationError(f"The file of ReID model '{model.name}' is missing on the server; train it again.")
    return str(path), model.pk

