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
}

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
    tracker = create_tracker(p["tracker"], fps=video.fps, **(p.get("tracker_params") or {}))
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


def _figure_object(f: Figure, number: int, shape: str) -> TrackedObject:
    keypoints = None
    if shape == ShapeKind.POINTS and f.data.get("points"):
        keypoints = np.array([[x, y, 1.0 if v > 0 else 0.0] for x, y, v in f.data["points"]], np.float32)
    mask = rle_to_mask(f.data["rle"]) if shape == ShapeKind.MASK and f.data.get("rle") else None
    return TrackedObject(track_id=number, xyxy=np.array([f.x1, f.y1, f.x2, f.y2], np.float32),
                         conf=float(f.confidence if f.confidence is not None else 1.0), cls=-1,
                         mask=mask, keypoints=keypoints)  # fmt: skip


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
        by_frame.setdefault(f.frame, []).append(_figure_object(f, f.track.number, f.track.label.shape))
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
    url = settings.MEDIA_URL if settings.MEDIA_URL.startswith("/") else "/" + settings.MEDIA_URL
    run.finish({"url": f"{url}renders/{name}", "frames": result.frames, "encoder": result.encoder,
                "width": result.width, "height": result.height})  # fmt: skip


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

ACTORS = {JobKind.TRACK: track, JobKind.AUTO_TRACK: auto_track, JobKind.TRACK_FRAME: track_frame, JobKind.RENDER: render}
