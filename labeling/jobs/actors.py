"""The Dramatiq actors. Each receives a Job id; the Job row (created by labeling/services/job_runs.py)
holds the parameters. Retries are off (``max_retries=0``): a failed job is reported, not silently re-run.

Queue: "jobs" for all of them (``manage.py worker --queues jobs``). The detector runs on the worker's
``--device`` (TRACKROOM_DEVICE; default: the GPU when there is one).
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import dramatiq
import numpy as np
from django.conf import settings
from django.db import transaction
from django.db.models import Q

from labeling import realtime
from labeling.models import Figure, FigureSource, Job, JobKind, JobStatus, LabelClass, ShapeKind, Track
from tracking.types import TrackedObject

from .runner import JobRun, run_job
from .writers import MultiTrackWriter, SingleTrackWriter, figure_shape, rle_to_mask

QUEUE = "jobs"
HOUR_MS = 3600 * 1000
TIME_LIMITS_MS = {
    JobKind.TRACK: int(float(os.environ.get("TRACKROOM_TRACK_TIME_LIMIT_S", 6 * 3600)) * 1000),
    JobKind.AUTO_TRACK: int(float(os.environ.get("TRACKROOM_AUTO_TRACK_TIME_LIMIT_S", 1800)) * 1000),
    JobKind.TRACK_FRAME: int(float(os.environ.get("TRACKROOM_TRACK_FRAME_TIME_LIMIT_S", 3 * 3600)) * 1000),
    JobKind.RENDER: int(float(os.environ.get("TRACKROOM_RENDER_TIME_LIMIT_S", 2 * 3600)) * 1000),
    JobKind.REID_TRAIN: int(float(os.environ.get("TRACKROOM_REID_TRAIN_TIME_LIMIT_S", 12 * 3600)) * 1000),
}
MAX_PUSHED_LOSSES = 1000  # points of the live loss curve carried by each job.progress event

_local = threading.local()  # per worker thread: loaded detectors (a model is not shared between threads)


def worker_device() -> str:
    return os.environ.get("TRACKROOM_DEVICE", "auto")


def _detector(spec: str, **params):
    from tracking.detectors import create_detector

    cache = getattr(_local, "detectors", None)
    if cache is None:
        cache = _local.detectors = {}
    key = (spec, repr(sorted(params.items())))
    if key not in cache:
        cache.clear()  # keep one model per thread: memory, not speed, is the limit on a GPU
        if not spec.startswith("mot-det:"):
            params = {**params, "device": worker_device()}
        cache[key] = create_detector(spec, **params)
    return cache[key]


def _video_path(video) -> str:
    from labeling.services.videos import video_file_path

    return video_file_path(video)


def _remove_figures(run: JobRun, query) -> list[int]:
    """Delete the figures matched by ``query`` in one transaction and tell the clients."""
    with transaction.atomic():
        ids = list(query.values_list("id", flat=True))
        if ids:
            Figure.objects.filter(pk__in=ids).delete()
    if ids:
        realtime.publish(run.job.video_id, {"type": "figures.removed", "video": run.job.video_id, "job": run.job_id, "ids": ids})
    return ids


# ------------------------------------------------------------------------------------------- track


def track_body(run: JobRun) -> None:
    from tracking.pipeline import track_video
    from tracking.mot import create_tracker

    job, p = run.job, run.job.params
    video = job.video
    start, stop = int(p["start"]), int(p["stop"])
    labels = {lc.pk: lc for lc in LabelClass.objects.filter(pk__in=p["labels"].values())}
    labels_by_class = {int(cid): labels[lid] for cid, lid in p["labels"].items() if lid in labels}
    detector_params = {"classes": p["classes"], "conf": p.get("conf"), "imgsz": p.get("imgsz")}
    detector = _detector(p["detector"], **detector_params)
    tracker_params = dict(p.get("tracker_params") or {})
    if p.get("reid_model"):  # the "reid" tracker: its appearance network runs on the worker's device
        from tracking.detectors import resolve_device

        tracker_params.update(reid_model=p["reid_model"], device=resolve_device(worker_device()))
    tracker = create_tracker(p["tracker"], fps=video.fps, **tracker_params)
    path = _video_path(video)
    run.set_total(stop - start)

    # Re-running Track on a range replaces that range's earlier detector output (never manual figures
    # or keyframes, never other machine sources), then detector tracks left empty go too.
    removed = _remove_figures(
        run,
        Figure.objects.filter(video=video, frame__gte=start, frame__lt=stop, source=FigureSource.DETECTOR, is_keyframe=False),
    )
    emptied = list(Track.objects.filter(video=video, source=FigureSource.DETECTOR, figures__isnull=True))
    for track in emptied:
        realtime.publish_track_change("deleted", track)
    Track.objects.filter(pk__in=[t.pk for t in emptied]).delete()

    writer = MultiTrackWriter(job, labels_by_class)
    run.consume(track_video(path, detector, tracker, start=start, stop=stop, cancel=run.token), writer)
    run.finish({"tracks": len(writer.tracks), "skipped_protected": writer.skipped, "replaced": len(removed),
                "device": getattr(detector, "device", "cpu")})  # fmt: skip


# -------------------------------------------------------------------------------------- auto-track


def _protected_frames_q() -> Q:
    return Q(source__in=[FigureSource.MANUAL, FigureSource.IMPORTED]) | Q(is_keyframe=True)


def auto_track_segment(run: JobRun, track: Track, frame: int, direction: str, tracker, stop_frame, source,
                       frames_offset: int = 0) -> dict:  # fmt: skip
    """Follow ``track`` from its figure on ``frame`` in one direction up to (not including) its next
    protected figure. Returns what happened."""
    from tracking.sot import track_single_object

    video = track.video
    figure = Figure.objects.get(track=track, frame=frame)
    last = video.frame_count - 1 if direction == "forward" else 0
    if stop_frame is not None:
        last = min(last, stop_frame) if direction == "forward" else max(last, stop_frame)
    protected = Figure.objects.filter(track=track).filter(_protected_frames_q())
    if direction == "forward":
        nxt = protected.filter(frame__gt=frame).order_by("frame").values_list("frame", flat=True).first()
        if nxt is not None:
            last = min(last, nxt - 1)
    else:
        nxt = protected.filter(frame__lt=frame).order_by("-frame").values_list("frame", flat=True).first()
        if nxt is not None:
            last = max(last, nxt + 1)
    if (direction == "forward" and last <= frame) or (direction == "backward" and last >= frame):
        return {"direction": direction, "frames": 0, "stopped": "keyframe" if nxt is not None else "end"}
    kind, shape = figure_shape(figure, track.label, video.width, video.height)
    writer = SingleTrackWriter(run.job, track, frame)
    results = track_single_object(
        source, frame, shape, kind=kind, direction=direction, stop_frame=last, tracker=tracker, cancel=run.token
    )
    seen = run.consume(results, writer, frames_offset=frames_offset)
    total = abs(last - frame) + 1
    lost = seen < total and not run.cancelled
    if not run.cancelled:
        # This edit's result replaces older machine figures of the track in the segment it covered.
        lo, hi = (frame + 1, last) if direction == "forward" else (last, frame - 1)
        _remove_figures(
            run,
            Figure.objects.filter(track=track, frame__gte=lo, frame__lte=hi, source__in=FigureSource.machine(),
                                  is_keyframe=False).exclude(job=run.job),  # fmt: skip
        )
    stopped = "cancelled" if run.cancelled else "lost" if lost else ("keyframe" if nxt is not None and last == (nxt - 1 if direction == "forward" else nxt + 1) else "end")
    return {"direction": direction, "frames": len(writer.written_frames), "last_frame": last, "stopped": stopped}


def _directions(direction: str) -> list[str]:
    return ["forward", "backward"] if direction == "both" else [direction]


def _segment_total(track: Track, frame: int, direction: str, stop_frame) -> int:
    n = track.video.frame_count
    return (n - frame) if direction == "forward" else (frame + 1)


def _wait_for_superseded(run: JobRun, track_id: int, timeout_s: float = 10.0) -> None:
    """A new auto-track cancelled the older ones of its track when it was queued; let them stop (they
    do at their next frame) before writing, so an old run's last batch never lands after the new one's."""
    deadline = time.monotonic() + timeout_s
    older = Job.objects.filter(kind=JobKind.AUTO_TRACK, status=JobStatus.RUNNING, params__track=track_id, pk__lt=run.job_id)
    while older.exists() and time.monotonic() < deadline and not run.cancelled:
        time.sleep(0.02)


def auto_track_body(run: JobRun) -> None:
    from tracking.video import open_video

    p = run.job.params
    _wait_for_superseded(run, int(p["track"]))
    track = Track.objects.select_related("label", "video").get(pk=p["track"])
    frame = int(p["frame"])
    directions = _directions(p["direction"])
    run.set_total(sum(_segment_total(track, frame, d, p.get("stop_frame")) for d in directions))
    parts = []
    with open_video(_video_path(track.video)) as source:
        offset = 0
        for d in directions:
            if run.cancelled:
                break
            parts.append(auto_track_segment(run, track, frame, d, p.get("tracker"), p.get("stop_frame"), source, offset))
            offset = run.frames_done
    run.finish({"track": track.pk, "segments": parts, "frames": sum(s["frames"] for s in parts)})


def track_frame_body(run: JobRun) -> None:
    from tracking.video import open_video

    p = run.job.params
    frame = int(p["frame"])
    tracks = list(Track.objects.select_related("label", "video").filter(pk__in=p["tracks"], figures__frame=frame).distinct())
    directions = _directions(p["direction"])
    run.set_total(sum(_segment_total(t, frame, d, None) for t in tracks for d in directions))
    parts = []
    with open_video(_video_path(run.job.video)) as source:
        for track in tracks:
            for d in directions:
                if run.cancelled:
                    break
                part = auto_track_segment(run, track, frame, d, p.get("tracker"), None, source, run.frames_done)
                parts.append({"track": track.pk, **part})
    run.finish({"segments": parts, "tracks": len(tracks)})


# ------------------------------------------------------------------------------------------ render


def _figure_object(f: Figure, number: int, label: LabelClass):
    """A stored figure as the renderer draws it: its label's shape (polygons as polygons, masks from their
    RLE, points with the label's skeleton edges), the track number as ID and the label name as caption."""
    from tracking.render import DrawnObject

    shape = label.shape
    keypoints = polygon = mask = None
    if shape == ShapeKind.POINTS and f.data.get("points"):
        keypoints = np.array([[x, y, 1.0 if v > 0 else 0.0] for x, y, v in f.data["points"]], np.float32)
    elif shape == ShapeKind.MASK and f.data.get("rle"):
        mask = rle_to_mask(f.data["rle"])
    elif shape == ShapeKind.POLYGON and len(f.data.get("points") or []) >= 3:
        polygon = np.array([p[:2] for p in f.data["points"]], np.float32)
    edges = (label.skeleton or {}).get("edges") if shape == ShapeKind.POINTS else None
    drawn_as = shape if (keypoints is not None or mask is not None or polygon is not None) else ShapeKind.BOX
    return DrawnObject(track_id=number, xyxy=np.array([f.x1, f.y1, f.x2, f.y2], np.float32),
                       conf=float(f.confidence if f.confidence is not None else 1.0), cls=-1, mask=mask,
                       keypoints=keypoints, shape=str(drawn_as), polygon=polygon,
                       edges=[tuple(e) for e in edges] if edges else None, caption=label.name)  # fmt: skip


def render_body(run: JobRun) -> None:
    from tracking.errors import Cancelled
    from tracking.render import iter_render_tracks
    from tracking.video import open_video

    job, p = run.job, run.job.params
    video = job.video
    start, stop = int(p["start"]), int(p["stop"])
    by_frame: dict[int, list[TrackedObject]] = {}
    figures = Figure.objects.filter(video=video, frame__gte=start, frame__lt=stop, outside=False).select_related("track__label")
    for f in figures.iterator(chunk_size=2000):
        by_frame.setdefault(f.frame, []).append(_figure_object(f, f.track.number, f.track.label))
    out_dir = Path(settings.MEDIA_ROOT) / "renders"
    out_dir.mkdir(parents=True, exist_ok=True)
    name = f"video-{video.pk}-job-{job.pk}.webm"
    run.set_total(stop - start)
    with open_video(_video_path(video)) as source:
        gen = iter_render_tracks(source, by_frame, out_dir / name, fps=video.fps, trail=int(p.get("trail", 15)),
                                 start=start, stop=stop, cancel=run.token)  # fmt: skip
        result = None
        while True:
            try:
                next(gen)
            except StopIteration as end:
                result = end.value
                break
            run.add_progress(1)
    if result is None:
        raise Cancelled("The render was cancelled; no file was written.")
    # Served with its Content-Type and byte ranges (seeking in a <video>) by labeling/api/reid_views.py.
    run.finish({"url": f"/api/jobs/{job.pk}/file/", "file": f"renders/{name}", "frames": result.frames,
                "encoder": result.encoder, "width": result.width, "height": result.height,
                "size": (out_dir / name).stat().st_size})  # fmt: skip


# ------------------------------------------------------------------------------------- reid training


def thinned(points: list, limit: int = MAX_PUSHED_LOSSES) -> list:
    """At most ``limit`` evenly spread points of a curve, always with its first and last."""
    if len(points) <= limit:
        return list(points)
    step = (len(points) - 1) / (limit - 1)
    return [points[round(i * step)] for i in range(limit)]


def reid_train_body(run: JobRun) -> None:
    """Train a self-supervised ReID model over the job's videos (tracking.reid.train) and store it on
    its ReidModel row. The loss curve grows in job.result["losses"] with every progress push; on any
    failure or cancel the partial file is removed and the model marked failed."""
    from labeling.models import Video
    from labeling.services import reid as reid_services
    from tracking.detectors import resolve_device
    from tracking.errors import Cancelled
    from tracking.reid.train import ReidTrainParams, TrainingVideo, train_reid

    job, p = run.job, run.job.params
    model = reid_services.reid_model_for_job(job)
    steps = int(p["steps"])
    run.set_total(steps)
    run.report(0, {"model": model.pk, "losses": []}, force=True)
    out_dir = Path(settings.MEDIA_ROOT) / "reid" / str(model.project_id)
    out_dir.mkdir(parents=True, exist_ok=True)
    partial = out_dir / f".model-{model.pk}-job-{job.pk}.partial.pt"
    losses: list[list[float]] = []

    def progress(info: dict) -> None:
        step = int(info.get("step", 0))
        loss = info.get("loss")
        if loss is not None and (not losses or step > losses[-1][0]):
            losses.append([step, round(float(loss), 6)])
        if run.report(min(step, steps), {"losses": thinned(losses), "model": model.pk}):
            reid_services.reid_training_progress(model, losses)

    written = None
    try:
        videos = []
        for video_id in p["videos"]:
            video = Video.objects.get(pk=video_id)
            detections = reid_services.training_detections(video, p["detections"][str(video_id)])
            videos.append(TrainingVideo(path=Path(_video_path(video)), detections=detections, fps=video.fps))
        extra = {key: p[key] for key in ("batch", "lr") if p.get(key) is not None}
        params = ReidTrainParams(steps=steps, device=resolve_device(worker_device()), **extra)
        result = train_reid(videos, partial, params, progress=progress, cancel=run.token)
        written = Path(result.path)
        if run.cancelled:
            raise Cancelled("The training was cancelled; no model was stored.")
        curve = [[int(s), round(float(v), 6)] for s, v in result.losses] or losses
        # What it learned from, by video (the engine's entries name server paths; keep ids and names).
        data = []
        for video_id, entry in zip(p["videos"], result.data or []):
            data.append({"video": video_id, **{k: entry[k] for k in ("frames", "detections") if k in entry}})
        model = reid_services.reid_training_finished(
            model=model, weights=written, losses=curve, metrics=_jsonable(dict(result.metrics or {})),
            seconds=float(result.seconds), params={"training": _jsonable(result.params.to_dict()), "training_data": data},
        )  # fmt: skip
    except BaseException:
        reid_services.reid_training_failed(model_id=model.pk, losses=losses, partial=partial)
        if written is not None:
            written.unlink(missing_ok=True)
        raise
    run.frames_done = steps
    run.finish({"model": model.pk, "losses": thinned(model.losses), "metrics": model.metrics,
                "seconds": model.seconds, "device": params.device})  # fmt: skip


def _jsonable(value):
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, np.generic):
        return value.item()
    return str(value)


# ------------------------------------------------------------------------------------------ actors


def _actor(kind: str, body):
    limit = TIME_LIMITS_MS[kind]

    def perform(job_id: int) -> None:
        run_job(job_id, body, time_limit_s=limit / 1000)

    perform.__name__ = f"{kind}_job"
    return dramatiq.actor(perform, actor_name=f"trackroom.{kind}", queue_name=QUEUE, max_retries=0, time_limit=limit)


track = _actor(JobKind.TRACK, track_body)
auto_track = _actor(JobKind.AUTO_TRACK, auto_track_body)
track_frame = _actor(JobKind.TRACK_FRAME, track_frame_body)
render = _actor(JobKind.RENDER, render_body)
reid_train = _actor(JobKind.REID_TRAIN, reid_train_body)

ACTORS = {JobKind.TRACK: track, JobKind.AUTO_TRACK: auto_track, JobKind.TRACK_FRAME: track_frame, JobKind.RENDER: render,
          JobKind.REID_TRAIN: reid_train}  # fmt: skip
