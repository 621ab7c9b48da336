"""Jobs in one process: the embedded default's in-memory broker with a real dramatiq Worker thread, the
real engine (public detections / OpenCV single-object trackers) on a real synthetic clip, the real
database. The same code runs in worker processes with Redis (tests/web/test_jobs_e2e.py)."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from labeling.jobs import actors
from labeling.jobs.runner import JobRun
from labeling.models import (
    Figure, FigureSource, Job, JobKind, JobStatus, LabelClass, Membership, Project, Role, ShapeKind, Track, Video,
)  # fmt: skip
from labeling.services import job_runs
from tests.conftest import make_moving_boxes_clip
from trackroom.broker import get_broker

pytestmark = pytest.mark.django_db(transaction=True)


# ------------------------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def long_clip(tmp_path_factory):
    """75 frames of the synthetic clip (the session fixture has 40): long enough to cancel mid-job."""
    return make_moving_boxes_clip(tmp_path_factory.mktemp("clips") / "long.avi", frames=75, width=400, height=300)


def write_mot_detections(clip, path: Path, frames: int | None = None) -> Path:
    """The clip's exact boxes as a MOTChallenge det.txt (1-based frames): public detections."""
    lines = []
    for f, boxes in sorted(clip.gt.items()):
        if frames is not None and f >= frames:
            break
        for _oid, x1, y1, x2, y2 in boxes:
            lines.append(f"{f + 1},-1,{x1:.1f},{y1:.1f},{x2 - x1:.1f},{y2 - y1:.1f},0.95,-1,-1,-1")
    path.write_text("\n".join(lines) + "\n")
    return path


class Setup:
    def __init__(self, media: Path, clip, name: str = "clip.avi"):
        User = get_user_model()
        self.owner = User.objects.create(username="owner")
        self.viewer = User.objects.create(username="viewer")
        self.outsider = User.objects.create(username="outsider")
        self.project = Project.objects.create(name="P", created_by=self.owner)
        Membership.objects.create(user=self.owner, project=self.project, role=Role.OWNER)
        Membership.objects.create(user=self.viewer, project=self.project, role=Role.VIEWER)
        self.label = LabelClass.objects.create(project=self.project, name="person", shape=ShapeKind.BOX)
        target = media / "videos" / str(self.project.pk) / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(clip.path, target)
        self.video = Video.objects.create(
            project=self.project, name=name, file=f"videos/{self.project.pk}/{name}", fps=clip.fps,
            frame_count=clip.frame_count, width=clip.width, height=clip.height, codec="MJPG",
            size=target.stat().st_size, checksum="0" * 64,
        )  # fmt: skip
        self.clip = clip
        dets_dir = media / "dets"
        dets_dir.mkdir(exist_ok=True)
        self.dets = write_mot_detections(clip, dets_dir / f"{name}.txt")
        self.model = f"mot-det:dets/{name}.txt"

    def client(self, user=None) -> APIClient:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user or self.owner).key}")
        return client


@pytest.fixture
def world(media, moving_boxes_clip):
    return Setup(media, moving_boxes_clip)


@pytest.fixture
def long_world(media, long_clip):
    return Setup(media, long_clip, "long.avi")


def wait_for(predicate, timeout=30.0, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def wait_finished(job: Job, timeout=60.0) -> Job:
    def done():
        job.refresh_from_db()
        return job.status in JobStatus.finished()

    wait_for(done, timeout, f"job {job.pk} to finish")
    return job


def box(x1, y1, x2, y2):
    return {"x1": float(x1), "y1": float(y1), "x2": float(x2), "y2": float(y2)}


def add_figure(track, frame, b, source=FigureSource.MANUAL, keyframe=True, job=None):
    return Figure.objects.create(
        track=track, video_id=track.video_id, frame=frame, x1=b["x1"], y1=b["y1"], x2=b["x2"], y2=b["y2"],
        data=b, source=source, is_keyframe=keyframe, job=job,
    )  # fmt: skip


def assert_follows_from(frames, first: int, last: int, at_least: int = 8) -> None:
    """Auto-track output: consecutive frames from ``first`` (it may stop early when the engine reports
    the object lost, never skip a frame or pass ``last``)."""
    frames = sorted(frames)
    assert frames and frames[0] == first and frames[-1] <= last, frames
    assert frames == list(range(first, frames[-1] + 1)), frames
    assert len(frames) >= at_least, frames


def gt_box(clip, frame, oid):
    for o, x1, y1, x2, y2 in clip.gt[frame]:
        if o == oid:
            return box(x1, y1, x2, y2)
    raise KeyError(oid)


# ------------------------------------------------------------------------------------------- track


def test_track_job_through_the_api_stores_one_track_per_object(world, worker):
    response = world.client().post(
        f"/api/videos/{world.video.pk}/jobs/track/",
        {"model": world.model, "tracker": "bytetrack", "start": 0, "stop": 30},
        format="json",
    )
    assert response.status_code == 201, response.content
    job = wait_finished(Job.objects.get(pk=response.json()["id"]))
    assert job.status == JobStatus.DONE, job.error
    assert job.progress == 1.0 and job.frames_done == 30 and job.frames_total == 30
    timings = job.result["timings"]
    assert timings["frames"] == 30 and timings["batches"] >= 1 and timings["fps"] > 0
    tracks = list(Track.objects.filter(video=world.video))
    assert len(tracks) == 2 and all(t.source == FigureSource.DETECTOR and t.label == world.label for t in tracks)
    figures = Figure.objects.filter(video=world.video)
    # Two objects on every frame of 0..29 (bytetrack reports a track from its first frame on).
    frames_per_track = sorted(figures.filter(track=t).count() for t in tracks)
    assert frames_per_track[0] >= 28 and frames_per_track[1] >= 28
    assert figures.filter(frame__gte=30).count() == 0
    # Each track follows one ground-truth object: its boxes match that object's boxes exactly.
    for t in tracks:
        f = figures.filter(track=t).order_by("frame").last()
        candidates = [gt_box(world.clip, f.frame, oid) for oid in (1, 2)]
        assert any(abs(f.x1 - c["x1"]) < 1.5 and abs(f.y2 - c["y2"]) < 1.5 for c in candidates)


def test_rerunning_track_replaces_only_its_range_machine_output(world, worker):
    video = world.video
    manual_track = Track.objects.create(video=video, label=world.label, number=50)
    manual = add_figure(manual_track, 5, box(1, 1, 20, 20))
    sot_track = Track.objects.create(video=video, label=world.label, number=51, source=FigureSource.SOT)
    sot_figure = add_figure(sot_track, 6, box(2, 2, 22, 22), source=FigureSource.SOT, keyframe=False)

    first = job_runs.start_track_job(video=video, model=world.model, tracker="bytetrack", start=0, stop=20)
    assert wait_finished(first).status == JobStatus.DONE, first.error
    outside_range = set(Figure.objects.filter(job=first, frame__gte=10).values_list("id", flat=True))
    assert outside_range

    second = job_runs.start_track_job(video=video, model=world.model, tracker="bytetrack", start=0, stop=10)
    assert wait_finished(second).status == JobStatus.DONE, second.error
    assert second.result["replaced"] == Figure.objects.filter(job=second).count()
    # The range 0..9 now holds only the second run's detector figures ...
    in_range = Figure.objects.filter(video=video, frame__lt=10, source=FigureSource.DETECTOR)
    assert in_range.exists() and set(in_range.values_list("job", flat=True)) == {second.pk}
    # ... the first run's figures outside the range, the manual and the single-object figures are untouched.
    assert set(Figure.objects.filter(job=first).values_list("id", flat=True)) == outside_range
    assert Figure.objects.filter(pk=manual.pk, source=FigureSource.MANUAL).exists()
    assert Figure.objects.filter(pk=sot_figure.pk, source=FigureSource.SOT).exists()


def test_cancel_stops_a_running_job_between_frames(long_world, worker):
    video = long_world.video
    track = Track.objects.create(video=video, label=long_world.label, number=1)
    add_figure(track, 0, gt_box(long_world.clip, 0, 1))
    job = job_runs.start_auto_track_job(track=track, frame=0, tracker="csrt")
    wait_for(lambda: Figure.objects.filter(job=job).count() >= 5, 30, "the first auto-tracked figures")
    job_runs.cancel_job(job=Job.objects.get(pk=job.pk))
    job = wait_finished(job)
    assert job.status == JobStatus.CANCELLED
    stored = Figure.objects.filter(job=job).count()
    assert 5 <= stored < video.frame_count - 1
    assert job.frames_done < job.frames_total
    time.sleep(0.3)
    assert Figure.objects.filter(job=job).count() == stored  # nothing more after it ended


# -------------------------------------------------------------------------------------- auto-track


def test_auto_track_follows_the_object_and_stops_before_the_next_manual_keyframe(world, worker):
    clip, video = world.clip, world.video
    track = Track.objects.create(video=video, label=world.label, number=1)
    add_figure(track, 5, gt_box(clip, 5, 1))
    later = add_figure(track, 15, box(100, 100, 140, 170))  # a person's keyframe, deliberately elsewhere
    stale = add_figure(track, 20, box(0, 0, 10, 10), source=FigureSource.SOT, keyframe=False)

    job = wait_finished(job_runs.start_auto_track_job(track=track, frame=5, direction="forward", tracker="csrt"))
    assert job.status == JobStatus.DONE, job.error
    frames = sorted(Figure.objects.filter(job=job).values_list("frame", flat=True))
    assert frames == list(range(6, 15))  # up to, not into, the keyframe at 15
    later.refresh_from_db()
    assert (later.x1, later.source, later.is_keyframe) == (100.0, FigureSource.MANUAL, True)
    assert Figure.objects.filter(pk=stale.pk).exists()  # beyond the keyframe: not this run's segment
    for f in Figure.objects.filter(job=job):
        truth = gt_box(clip, f.frame, 1)
        assert abs(f.x1 - truth["x1"]) < 6 and abs(f.y1 - truth["y1"]) < 6, (f.frame, f.x1, truth)
    assert job.result["segments"][0]["stopped"] == "keyframe"


def test_a_new_auto_track_of_the_same_track_cancels_the_one_in_flight(long_world, worker):
    video = long_world.video
    track = Track.objects.create(video=video, label=long_world.label, number=1)
    add_figure(track, 0, gt_box(long_world.clip, 0, 1))
    first = job_runs.start_auto_track_job(track=track, frame=0, tracker="csrt")
    wait_for(lambda: Figure.objects.filter(job=first).exists(), 30, "the first run to write")
    add_figure(track, 10, gt_box(long_world.clip, 10, 1))  # the person corrects frame 10
    second = job_runs.start_auto_track_job(track=track, frame=10, tracker="csrt", stop_frame=40)
    first = wait_finished(first)
    assert first.status == JobStatus.CANCELLED
    second = wait_finished(second)
    assert second.status == JobStatus.DONE, second.error
    assert_follows_from(Figure.objects.filter(job=second).values_list("frame", flat=True), 11, 40, at_least=3)
    # The cancelled run's figures in the new run's segment are gone (replaced or cleared), none is newer.
    assert not Figure.objects.filter(job=first, frame__gte=11, frame__lte=40).exists()


def test_auto_track_on_edit_follows_the_setting_and_debounces(world, worker):
    from labeling.services.job_runs import maybe_auto_track_after_edit

    track = Track.objects.create(video=world.video, label=world.label, number=1)
    figure = add_figure(track, 3, gt_box(world.clip, 3, 1))
    maybe_auto_track_after_edit(figure, world.owner)  # setting off (default): nothing
    assert not Job.objects.filter(kind=JobKind.AUTO_TRACK).exists()

    world.project.settings = {"auto_track": True, "auto_track_tracker": "csrt"}  # CSRT: deterministic
    world.project.save()
    maybe_auto_track_after_edit(figure, world.owner)
    maybe_auto_track_after_edit(figure, world.owner)  # a second edit right after the first
    jobs = list(Job.objects.filter(kind=JobKind.AUTO_TRACK).order_by("id"))
    assert len(jobs) == 2 and all(j.params["trigger"] == "edit" for j in jobs)
    last = wait_finished(jobs[1])
    assert wait_finished(jobs[0]).status == JobStatus.CANCELLED  # superseded by the newer edit
    assert last.status == JobStatus.DONE, last.error
    assert_follows_from(Figure.objects.filter(job=last).values_list("frame", flat=True), 4, world.video.frame_count - 1)

    Membership.objects.filter(user=world.owner).update(settings={"auto_track": False})  # the user opts out
    maybe_auto_track_after_edit(figure, world.owner)
    assert Job.objects.filter(kind=JobKind.AUTO_TRACK).count() == 2


def test_track_frame_and_render_jobs(world, worker, media):
    clip, video = world.clip, world.video
    for number, oid in ((1, 1), (2, 2)):
        track = Track.objects.create(video=video, label=world.label, number=number)
        add_figure(track, 0, gt_box(clip, 0, oid))
    job = wait_finished(job_runs.start_track_frame_job(video=video, frame=0, tracker="csrt"))  # MIL is random
    assert job.status == JobStatus.DONE, job.error
    for track in Track.objects.filter(video=video):
        assert_follows_from(Figure.objects.filter(job=job, track=track).values_list("frame", flat=True), 1, 39)

    render = wait_finished(job_runs.start_render_job(video=video, start=0, stop=20))
    assert render.status == JobStatus.DONE, render.error
    url = render.result["url"]
    assert url == f"/api/jobs/{render.pk}/file/"
    path = media / render.result["file"]
    assert path.suffix == ".webm"
    assert path.is_file() and render.result["frames"] == 20


# ------------------------------------------------------------------------------------------ failures


def test_bad_parameters_are_a_400_before_anything_is_queued(world):
    client = world.client()
    url = f"/api/videos/{world.video.pk}/jobs/track/"
    cases = [
        ({"model": "nonexistent.pt"}, "Unknown model"),
        ({"model": "/etc/passwd"}, "Unknown model"),
        ({"tracker": "nosuchtracker"}, "nosuchtracker"),
        ({"tracker": "bytetrack", "tracker_params": {"no_such_param": 1}}, "no_such_param"),
        ({"start": 0, "stop": world.video.frame_count + 1}, "stop frame"),
        ({"start": -1}, "start frame"),
        ({"start": world.video.frame_count}, "start frame"),
        ({"classes": ["giraffe"]}, "giraffe"),
        ({"unexpected": 1}, "Unknown field"),
    ]
    broker = get_broker()
    broker.flush_all()
    for body, words in cases:
        response = client.post(url, body, format="json")
        assert response.status_code == 400, (body, response.content)
        assert words in response.json()["detail"], (body, response.json())
    LabelClass.objects.filter(pk=world.label.pk).update(name="walker")  # no label matches "person" now
    response = client.post(url, {}, format="json")
    assert response.status_code == 400 and "No label of this project" in response.json()["detail"]
    response = client.post(f"/api/tracks/{Track.objects.create(video=world.video, label=world.label, number=9).pk}/auto-track/",
                           {"frame": 3}, format="json")  # fmt: skip
    assert response.status_code == 400 and "no figure on frame 3" in response.json()["detail"]
    assert not Job.objects.exists()
    assert all(q.qsize() == 0 for q in broker.queues.values())
    # Roles: a viewer may not start jobs, an outsider does not see the video.
    assert world.client(world.viewer).post(url, {}, format="json").status_code == 403
    assert world.client(world.outsider).post(url, {}, format="json").status_code == 404


def test_a_crash_and_the_time_limit_end_the_job_failed_with_a_message(world, worker):
    crashing = Job.objects.create(project=world.project, video=world.video, kind=JobKind.TRACK, params={})
    actors.track.send(crashing.pk)
    crashing = wait_finished(crashing)
    assert crashing.status == JobStatus.FAILED
    assert crashing.error.startswith("The job crashed (KeyError") and crashing.finished_at

    missing = job_runs.start_track_job(video=world.video, model=world.model, tracker="bytetrack", stop=10)
    Path(world.video.file.path).unlink()
    missing = wait_finished(missing)
    assert missing.status == JobStatus.FAILED and "missing on the server" in missing.error


def test_time_limit_fails_the_job_with_a_sentence(long_world, worker):
    track = Track.objects.create(video=long_world.video, label=long_world.label, number=1)
    add_figure(track, 0, gt_box(long_world.clip, 0, 1))
    # The job row as start_auto_track_job makes it, sent with a 0.3 s time limit.
    job = Job.objects.create(project=long_world.project, video=long_world.video, kind=JobKind.AUTO_TRACK,
                             params={"track": track.pk, "frame": 0, "direction": "forward", "tracker": "csrt",
                                     "stop_frame": None})  # fmt: skip
    actors.auto_track.send_with_options(args=(job.pk,), time_limit=300)
    job = wait_finished(job, 30)
    assert job.status == JobStatus.FAILED
    assert "longer than its time limit" in job.error


def test_restart_fails_interrupted_jobs_and_requeues_queued_ones(world):
    broker = get_broker()
    broker.flush_all()
    running = Job.objects.create(project=world.project, video=world.video, kind=JobKind.TRACK, status=JobStatus.RUNNING,
                                 worker="old-host:1:dead", frames_done=7, frames_total=30)  # fmt: skip
    queued = Job.objects.create(project=world.project, video=world.video, kind=JobKind.RENDER, params={"start": 0})
    outcome = job_runs.recover_after_restart(requeue_queued=True)
    running.refresh_from_db()
    assert running.status == JobStatus.FAILED and "interrupted by a restart" in running.error
    assert "7 of 30" in running.error
    assert outcome == {"failed": [running.pk], "requeued": [queued.pk]}
    messages = broker.queues["jobs"]
    assert messages.qsize() == 1
    assert Job.objects.get(pk=queued.pk).status == JobStatus.QUEUED
    broker.flush_all()


def test_jobrun_claims_only_queued_jobs(world):
    job = Job.objects.create(project=world.project, video=world.video, kind=JobKind.TRACK, status=JobStatus.CANCELLED)
    ran = []
    from labeling.jobs.runner import run_job

    run_job(job.pk, lambda run: ran.append(run))
    assert ran == [] and Job.objects.get(pk=job.pk).status == JobStatus.CANCELLED
    queued = Job.objects.create(project=world.project, video=world.video, kind=JobKind.TRACK)
    with JobRun(queued.pk) as run:
        assert Job.objects.get(pk=queued.pk).status == JobStatus.RUNNING and run.job.worker
    assert Job.objects.get(pk=queued.pk).status == JobStatus.DONE


def test_worker_command_needs_redis(settings):
    from django.core.management import CommandError, call_command

    settings.REDIS_URL = ""
    with pytest.raises(CommandError, match="needs REDIS_URL"):
        call_command("worker")


def test_the_middleware_fails_a_job_whose_actor_raised_outside_its_run(world):
    """The safety net for exceptions that escape a JobRun (e.g. the time limit firing between steps)."""
    from dramatiq import Message
    from dramatiq.middleware import TimeLimitExceeded

    from labeling.jobs.middleware import JobOutcome

    job = Job.objects.create(project=world.project, video=world.video, kind=JobKind.TRACK, status=JobStatus.RUNNING)
    message = Message(queue_name="jobs", actor_name="trackroom.track", args=(job.pk,), kwargs={}, options={})
    JobOutcome().after_process_message(get_broker(), message, exception=TimeLimitExceeded())
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED and job.finished_at
    assert job.error == "The job took longer than its time limit of 360 minutes and was stopped; try a shorter frame range."
    JobOutcome().after_process_message(get_broker(), message, exception=RuntimeError("late"))
    job.refresh_from_db()
    assert "time limit" in job.error  # an ended job keeps its first outcome


def test_editing_a_box_through_the_api_re_tracks_it_and_pushes_the_edit(world, worker):
    """The whole 'fix a box, it re-tracks itself' loop through the public API: PATCH with auto-track on."""
    from rest_framework.test import APIClient

    from labeling import realtime

    pushed = []
    original_publish = realtime.publish
    realtime.publish = lambda video_id, event: pushed.append(event) or original_publish(video_id, event)
    try:
        world.project.settings = {"auto_track": True, "auto_track_tracker": "csrt"}
        world.project.save()
        track = Track.objects.create(video=world.video, label=world.label, number=1)
        figure = add_figure(track, 3, gt_box(world.clip, 3, 1))
        client = APIClient()
        client.force_authenticate(world.owner)
        moved = gt_box(world.clip, 3, 1)
        r = client.patch(f"/api/figures/{figure.pk}/", {"data": moved, "version": figure.version}, format="json")
        assert r.status_code == 200, r.content
        wait_for(lambda: Job.objects.filter(kind=JobKind.AUTO_TRACK).exists(), what="an auto-track job")
        job = wait_finished(Job.objects.get(kind=JobKind.AUTO_TRACK))
        assert job.status == JobStatus.DONE, job.error
        assert job.params["trigger"] == "edit" and job.params["tracker"] == "csrt"
        assert_follows_from(Figure.objects.filter(job=job).values_list("frame", flat=True), 4, world.video.frame_count - 1)
        assert Figure.objects.get(pk=figure.pk).source == FigureSource.MANUAL  # the edited frame stays the person's
        assert any(e.get("type") == "figure.updated" for e in pushed), [e.get("type") for e in pushed]
        assert any(e.get("type") == "figures.batch" for e in pushed), [e.get("type") for e in pushed]
    finally:
        realtime.publish = original_publish
