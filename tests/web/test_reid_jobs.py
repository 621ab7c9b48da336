"""Issue 6's "Done when" at API level, with the real parts: a new user uploads a short clip of real
footage (the first frames of PETS09), runs Track with the bundled default detector, trains a ReID model
from that video with one request (few steps), sees the loss curve recorded and falling, tracks again with
the learned model, renders the result and gets a WebM that PyAV decodes with the right frame count,
served with byte ranges as a <video> asks for them. Also: the live loss curve on the video's WebSocket,
cancel and failure leave no half model.

Jobs run on a real dramatiq Worker (the embedded default's in-memory broker) in this process."""

from __future__ import annotations

import asyncio
import shutil
import time
from pathlib import Path

import av
import cv2
import numpy as np
import pytest
from asgiref.sync import sync_to_async
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from labeling.models import (
    Figure, FigureSource, Job, JobStatus, LabelClass, Membership, Project, ReidModel, ReidStatus, Role,
    ShapeKind, Track, Video,
)  # fmt: skip
from labeling.services import job_runs
from labeling.services import reid as reid_services
from tests.conftest import make_moving_boxes_clip

pytestmark = pytest.mark.django_db(transaction=True)

CLIP_FRAMES = 20
# Where three people walk during PETS09's first seconds, at full resolution: the detector then runs at
# its smallest size (640) instead of 1152 for the whole frame, which keeps this test fast on a CPU.
CROP_X, CROP_Y, CROP_W, CROP_H = 232, 120, 384, 288


# ------------------------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def pets_clip(pets09_video, tmp_path_factory) -> Path:
    """The first CLIP_FRAMES frames of PETS09 (its true 7 fps), cropped, as a small MJPG AVI."""
    path = tmp_path_factory.mktemp("reid-clip") / "pets09-start.avi"
    cap = cv2.VideoCapture(str(pets09_video))
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 7.0, (CROP_W, CROP_H))
    for _ in range(CLIP_FRAMES):
        ok, frame = cap.read()
        assert ok
        writer.write(np.ascontiguousarray(frame[CROP_Y : CROP_Y + CROP_H, CROP_X : CROP_X + CROP_W]))
    writer.release()
    cap.release()
    return path


def client_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def wait_finished(job_id: int, timeout: float = 120.0) -> Job:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = Job.objects.get(pk=job_id)
        if job.status in JobStatus.finished():
            return job
        time.sleep(0.05)
    raise AssertionError(f"job {job_id} did not finish in {timeout} s")


def ok(response, status=201) -> dict:
    assert response.status_code == status, response.content[:500]
    return response.json()


# --------------------------------------------------------------------------------------- done when


def test_track_train_track_again_render_and_play(media, worker, pets_clip):
    user = get_user_model().objects.create(username="newcomer")
    api = client_for(user)
    project = ok(api.post("/api/projects/", {"name": "Campus"}, format="json"))
    ok(api.post(f"/api/projects/{project['id']}/labels/", {"name": "person", "shape": "box"}, format="json"))
    upload = SimpleUploadedFile("pets09-start.avi", pets_clip.read_bytes())
    video = ok(api.post(f"/api/projects/{project['id']}/videos/", {"file": upload}, format="multipart"))
    assert video["frame_count"] == CLIP_FRAMES
    ok(api.patch(f"/api/videos/{video['id']}/", {"fps": 7.0}, format="json"), 200)  # PETS09 runs at 7 fps

    # 1. Track with the bundled default detector.
    first = ok(api.post(f"/api/videos/{video['id']}/jobs/track/", {"model": "default"}, format="json"))
    first = wait_finished(first["id"])
    assert first.status == JobStatus.DONE, first.error
    detections = Figure.objects.filter(video_id=video["id"], source=FigureSource.DETECTOR)
    assert detections.values("frame").distinct().count() >= CLIP_FRAMES // 2 and detections.count() >= 2 * CLIP_FRAMES

    # 2. Train a ReID model from that video: one request.
    body = {"videos": [video["id"]], "steps": 12, "batch": 2, "name": "campus walkers"}
    training = ok(api.post(f"/api/projects/{project['id']}/reid-models/train/", body, format="json"))
    assert training["kind"] == "reid_train" and training["frames_total"] == 12
    training = wait_finished(training["id"])
    assert training.status == JobStatus.DONE, training.error
    model = ReidModel.objects.get(pk=training.result["model"])
    assert model.status == ReidStatus.READY and model.job_id == training.pk
    losses = training.result["losses"]
    assert len(losses) >= 2 and [s for s, _ in losses] == sorted({s for s, _ in losses})
    assert losses[-1][1] < losses[0][1], losses  # the loss fell over the run
    assert model.losses[0][0] == 1 and model.losses[-1][0] == 12 and model.seconds > 0
    assert model.params["training"]["steps"] == 12 and model.params["training"]["batch"] == 2
    assert model.params["training_data"][0]["video"] == video["id"]
    assert model.params["training_data"][0]["detections"] > 0 and "val_feasible_top1" in model.metrics
    listed = ok(api.get(f"/api/projects/{project['id']}/reid-models/"), 200)
    assert [(m["id"], m["status"]) for m in listed] == [(model.pk, "ready")]
    weights = api.get(listed[0]["download_url"])
    assert weights.status_code == 200 and b"".join(weights.streaming_content) == Path(model.file.path).read_bytes()
    assert not [p for p in Path(media).rglob("*partial*")]

    # 3. Track again with the learned model (replacing the first run's detector output).
    body = {"model": "default", "tracker": "reid", "tracker_params": {"reid_model": model.pk}}
    second = wait_finished(ok(api.post(f"/api/videos/{video['id']}/jobs/track/", body, format="json"))["id"])
    assert second.status == JobStatus.DONE, second.error
    assert second.params["reid_model_id"] == model.pk
    tracks = Track.objects.filter(video_id=video["id"], source=FigureSource.DETECTOR)
    assert tracks.count() >= 2 and set(tracks.values_list("job_id", flat=True)) == {second.pk}
    assert Figure.objects.filter(job=second).count() >= 2 * CLIP_FRAMES

    # 4. Render, and play what a browser gets.
    render = ok(api.post(f"/api/videos/{video['id']}/jobs/render/", {"trail": 10}, format="json"))
    render = wait_finished(render["id"])
    assert render.status == JobStatus.DONE, render.error
    url = render.result["url"]
    assert url == f"/api/jobs/{render.pk}/file/"
    whole = api.get(url)
    assert whole.status_code == 200 and whole["Content-Type"] == "video/webm"
    data = b"".join(whole.streaming_content)
    assert data[:4] == b"\x1a\x45\xdf\xa3" and len(data) == render.result["size"]
    head = api.get(url, HTTP_RANGE="bytes=0-1023")
    assert head.status_code == 206 and b"".join(head.streaming_content) == data[:1024]
    played = media / "played.webm"
    played.write_bytes(data)
    with av.open(str(played)) as container:
        stream = container.streams.video[0]
        assert stream.codec_context.name in ("vp9", "libvpx-vp9")
        frames = [frame.to_ndarray(format="bgr24") for frame in container.decode(stream)]
    assert len(frames) == CLIP_FRAMES and frames[0].shape == (CROP_H, CROP_W, 3)


# ------------------------------------------------------------------------------ live curve, cancel


class BoxesWorld:
    """A project with the synthetic clip and a detector track made by a real Track job on its exact
    boxes (public detections), so training has something to learn from in a few seconds."""

    def __init__(self, media: Path, clip):
        User = get_user_model()
        self.owner = User.objects.create(username="owner")
        self.project = Project.objects.create(name="P", created_by=self.owner)
        Membership.objects.create(user=self.owner, project=self.project, role=Role.OWNER)
        LabelClass.objects.create(project=self.project, name="person", shape=ShapeKind.BOX)
        target = media / "videos" / "boxes.avi"
        target.parent.mkdir(parents=True)
        shutil.copyfile(clip.path, target)
        self.video = Video.objects.create(
            project=self.project, name="boxes.avi", file="videos/boxes.avi", fps=clip.fps,
            frame_count=clip.frame_count, width=clip.width, height=clip.height, codec="MJPG",
            size=target.stat().st_size, checksum="0" * 64,
        )  # fmt: skip
        lines = [
            f"{f + 1},-1,{x1:.1f},{y1:.1f},{x2 - x1:.1f},{y2 - y1:.1f},0.95,-1,-1,-1"
            for f, boxes in sorted(clip.gt.items()) for _oid, x1, y1, x2, y2 in boxes
        ]  # fmt: skip
        (media / "dets.txt").write_text("\n".join(lines) + "\n")
        job = job_runs.start_track_job(video=self.video, model="mot-det:dets.txt", tracker="bytetrack")
        assert wait_finished(job.pk).status == JobStatus.DONE


@pytest.fixture
def boxes_world(media, worker, tmp_path):
    return BoxesWorld(media, make_moving_boxes_clip(tmp_path / "boxes.avi", frames=40))


def test_the_loss_curve_is_pushed_live_on_the_videos_socket(boxes_world):
    from trackroom.asgi import websocket_urlpatterns

    w = boxes_world

    async def scenario():
        socket = WebsocketCommunicator(URLRouter(websocket_urlpatterns), f"/ws/videos/{w.video.pk}/")
        socket.scope["user"] = w.owner
        assert (await socket.connect())[0]
        start = sync_to_async(reid_services.start_reid_train_job)
        job = await start(project=w.project, user=w.owner, videos=[w.video.pk], steps=12, batch=2)
        progress, deadline = [], asyncio.get_running_loop().time() + 150
        while True:
            message = await socket.receive_json_from(timeout=max(0.1, deadline - asyncio.get_running_loop().time()))
            if message["type"].startswith("job.") and message["job"]["id"] == job.pk:
                if message["type"] == "job.progress":
                    progress.append(message["job"])
                elif message["type"] in ("job.done", "job.failed", "job.cancelled"):
                    await socket.disconnect()
                    return job, message, progress

    job, final, progress = asyncio.run(scenario())
    assert final["type"] == "job.done", final
    curves = [p["result"]["losses"] for p in progress if p["result"].get("losses")]
    assert curves, progress  # the curve arrived while training ran, not only at the end
    assert all(p["result"]["model"] == final["job"]["result"]["model"] for p in progress if p["result"])
    assert any(0 < p["frames_done"] < 12 for p in progress)  # steps as frames: a moving progress bar
    assert len(final["job"]["result"]["losses"]) >= 2 and final["job"]["progress"] == 1.0
    assert ReidModel.objects.get(job_id=job.pk).status == ReidStatus.READY


def test_cancel_and_failure_leave_no_half_model(boxes_world, media):
    w = boxes_world
    job = reid_services.start_reid_train_job(project=w.project, user=w.owner, videos=[w.video.pk], steps=5000)
    deadline = time.monotonic() + 60
    while Job.objects.get(pk=job.pk).frames_done < 2:  # training started: steps are counted
        assert time.monotonic() < deadline, Job.objects.get(pk=job.pk).status
        time.sleep(0.05)
    job_runs.cancel_job(job=Job.objects.get(pk=job.pk))
    job = wait_finished(job.pk)
    assert job.status == JobStatus.CANCELLED
    model = ReidModel.objects.get(job=job)
    assert model.status == ReidStatus.FAILED and not model.file and len(model.losses) >= 1
    assert not list((media / "reid").rglob("*.pt")) and not list((media / "reid").rglob(".*"))

    # The video's file disappears before the worker reads it: the job fails with a sentence, no file.
    job = reid_services.start_reid_train_job(project=w.project, user=w.owner, videos=[w.video.pk], steps=5)
    Path(w.video.file.path).unlink()
    job = wait_finished(job.pk)
    assert job.status == JobStatus.FAILED and "missing on the server" in job.error
    model = ReidModel.objects.get(job=job)
    assert model.status == ReidStatus.FAILED and not model.file
    assert not list((media / "reid").rglob("*.pt"))
    response = client_for(w.owner).get(f"/api/reid-models/{model.pk}/download/")
    assert response.status_code == 409
