"""ReID models through the REST API: who may list, read, download, train and delete; what training and
tracking with a model refuse (a sentence, nothing queued); job output files with byte ranges.

Models here are rows with a small file written by the test (a real trained model is made in
tests/web/test_reid_jobs.py); nothing here runs a worker."""

from __future__ import annotations

from pathlib import Path

import pytest

from labeling.models import DetectionSet, Figure, FigureSource, Job, JobKind, JobStatus, ReidModel, ReidStatus, Track
from labeling.services import reid as reid_services

from tests.web.conftest import make_video

pytestmark = pytest.mark.django_db

PAYLOAD = b"trackroom-reid-test-weights" * 100


def ready_model(media: Path, objects, name="walkers", losses=((1, 2.0), (2, 1.5), (3, 1.2))) -> ReidModel:
    model = ReidModel.objects.create(
        project=objects.project, name=name, status=ReidStatus.READY, params={"steps": 3},
        metrics={"val_feasible_top1": 0.9}, losses=[list(p) for p in losses], seconds=1.5,
    )  # fmt: skip
    relative = f"reid/{objects.project.pk}/model-{model.pk}.pt"
    (media / relative).parent.mkdir(parents=True, exist_ok=True)
    (media / relative).write_bytes(PAYLOAD)
    model.file.name = relative
    model.save(update_fields=["file"])
    model.videos.set([objects.video])
    return model


def detector_track(video, label, frames=range(0, 6), number=90) -> Track:
    """What a Track job leaves: a detector track with boxes on consecutive frames."""
    track = Track.objects.create(video=video, label=label, number=number, source=FigureSource.DETECTOR)
    Figure.objects.bulk_create(
        Figure(track=track, video=video, frame=f, x1=10 + f, y1=20, x2=50 + f, y2=100, data={},
               source=FigureSource.DETECTOR, confidence=0.8)
        for f in frames
    )  # fmt: skip
    return track


# ------------------------------------------------------------------------------------------ reads


@pytest.mark.parametrize(
    "role,expected", [("owner", 200), ("manager", 200), ("annotator", 200), ("viewer", 200), ("outsider", 404),
                      ("anonymous", 401)],
)  # fmt: skip
def test_list_and_read_by_role(world, media, role, expected):
    model = ready_model(media, world.a)
    client = world.client(role)
    listed = client.get(f"/api/projects/{world.a.project.pk}/reid-models/")
    assert listed.status_code == expected, listed.content
    one = client.get(f"/api/reid-models/{model.pk}/")
    assert one.status_code == expected
    download = client.get(f"/api/reid-models/{model.pk}/download/")
    assert download.status_code == expected
    if expected != 200:
        assert "detail" in listed.json() and "detail" in one.json()
        return
    [item] = listed.json()
    assert item == one.json()
    assert item["id"] == model.pk and item["name"] == "walkers" and item["status"] == "ready"
    assert item["videos"] == [world.a.video.pk] and item["losses"] == [[1, 2.0], [2, 1.5], [3, 1.2]]
    assert item["metrics"] == {"val_feasible_top1": 0.9} and item["seconds"] == 1.5 and item["size"] == len(PAYLOAD)
    assert item["download_url"] == f"/api/reid-models/{model.pk}/download/"
    assert item["loss_png_url"] == f"/api/reid-models/{model.pk}/loss.png"
    assert {"params", "job", "created_at", "project"} <= set(item)
    assert b"".join(download.streaming_content) == PAYLOAD
    assert download["Content-Disposition"].startswith("attachment") and "walkers.pt" in download["Content-Disposition"]


def test_models_of_another_project_do_not_exist_for_you(world, media):
    theirs = ready_model(media, world.b, name="theirs")
    ready_model(media, world.a, name="ours")
    for role in ("owner", "viewer"):
        client = world.client(role)
        for url in (f"/api/reid-models/{theirs.pk}/", f"/api/reid-models/{theirs.pk}/download/",
                    f"/api/reid-models/{theirs.pk}/loss.png", f"/api/projects/{world.b.project.pk}/reid-models/"):  # fmt: skip
            assert client.get(url).status_code == 404, url
        assert client.delete(f"/api/reid-models/{theirs.pk}/").status_code == 404
        assert [m["name"] for m in client.get(f"/api/projects/{world.a.project.pk}/reid-models/").json()] == ["ours"]
    assert ReidModel.objects.filter(pk=theirs.pk).exists()


def test_a_model_in_training_or_failed_has_no_download(world, media):
    job = Job.objects.create(project=world.a.project, video=world.a.video, kind=JobKind.REID_TRAIN, status=JobStatus.RUNNING)
    training = ReidModel.objects.create(project=world.a.project, name="busy", job=job)
    client = world.client("viewer")
    body = client.get(f"/api/reid-models/{training.pk}/").json()
    assert body["status"] == "training" and body["download_url"] is None and body["loss_png_url"] is None
    response = client.get(f"/api/reid-models/{training.pk}/download/")
    assert response.status_code == 409 and "still training" in response.json()["detail"]
    assert client.get(f"/api/reid-models/{training.pk}/loss.png").status_code == 409
    # The worker died: the job failed without touching the row. The model shows as failed.
    Job.objects.filter(pk=job.pk).update(status=JobStatus.FAILED)
    assert client.get(f"/api/reid-models/{training.pk}/").json()["status"] == "failed"
    response = client.get(f"/api/reid-models/{training.pk}/download/")
    assert response.status_code == 409 and "failed" in response.json()["detail"]


def test_loss_curve_png(world, media):
    model = ready_model(media, world.a)
    response = world.client("viewer").get(f"/api/reid-models/{model.pk}/loss.png")
    assert response.status_code == 200, response.content[:300]
    assert response["Content-Type"] == "image/png"
    assert response.content[:8] == b"\x89PNG\r\n\x1a\n" and len(response.content) > 1000


# ----------------------------------------------------------------------------------------- delete


@pytest.mark.parametrize("role,expected", [("viewer", 403), ("annotator", 403), ("manager", 204), ("owner", 204)])
def test_delete_needs_a_manager_and_removes_the_file(world, media, role, expected, django_capture_on_commit_callbacks):
    model = ready_model(media, world.a)
    path = Path(model.file.path)
    with django_capture_on_commit_callbacks(execute=True):
        response = world.client(role).delete(f"/api/reid-models/{model.pk}/")
    assert response.status_code == expected, response.content
    assert ReidModel.objects.filter(pk=model.pk).exists() == (expected != 204)
    assert path.exists() == (expected != 204)
    if expected == 403:
        assert "manager" in response.json()["detail"]


def test_delete_is_refused_while_a_job_uses_the_model(world, media):
    model = ready_model(media, world.a)
    job = Job.objects.create(project=world.a.project, video=world.a.video, kind=JobKind.TRACK,
                             params={"reid_model_id": model.pk})  # fmt: skip
    response = world.client("manager").delete(f"/api/reid-models/{model.pk}/")
    assert response.status_code == 400 and f"job {job.pk}" in response.json()["detail"]
    assert Path(model.file.path).exists()
    Job.objects.filter(pk=job.pk).update(status=JobStatus.DONE)
    assert world.client("manager").delete(f"/api/reid-models/{model.pk}/").status_code == 204


# ------------------------------------------------------------------------------------------ train


def train(world, role="annotator", **body):
    return world.client(role).post(f"/api/projects/{world.a.project.pk}/reid-models/train/", body, format="json")


@pytest.mark.parametrize("role,expected", [("viewer", 403), ("outsider", 404), ("anonymous", 401), ("annotator", 201)])
def test_train_needs_an_annotator(world, media, role, expected):
    detector_track(world.a.video, world.a.label)
    response = train(world, role, videos=[world.a.video.pk], steps=5, name="first try")
    assert response.status_code == expected, response.content
    if expected != 201:
        assert not ReidModel.objects.exists() and not Job.objects.filter(kind=JobKind.REID_TRAIN).exists()
        return
    job = response.json()
    assert job["kind"] == "reid_train" and job["status"] == "queued" and job["frames_total"] == 5
    assert job["video"] == world.a.video.pk and job["project"] == world.a.project.pk
    model = ReidModel.objects.get()
    assert job["params"]["model"] == model.pk and model.job_id == job["id"]
    assert model.name == "first try" and model.status == ReidStatus.TRAINING and not model.file
    assert list(model.videos.all()) == [world.a.video]
    assert model.params["detections"] == {str(world.a.video.pk): "track-job"} and model.params["steps"] == 5
    listed = world.client("viewer").get(f"/api/projects/{world.a.project.pk}/reid-models/").json()
    assert [(m["id"], m["status"], m["job"]) for m in listed] == [(model.pk, "training", job["id"])]
    # Its own training job keeps it from being deleted.
    assert world.client("owner").delete(f"/api/reid-models/{model.pk}/").status_code == 400


def test_train_refuses_bad_input_with_a_sentence_and_stores_nothing(world, media):
    a, b = world.a, world.b
    empty = make_video(a.project, name="empty.avi")
    detector_track(a.video, a.label)
    detector_track(b.video, b.label)
    foreign_set = DetectionSet.objects.create(video=b.video, name="theirs", file="detections/x.txt", rows=3)
    other_video_set = DetectionSet.objects.create(video=empty, name="other", file="detections/y.txt", rows=3)
    cases = [
        ({}, "videos"),
        ({"videos": []}, "at least one video"),
        ({"videos": "all"}, "list of video ids"),
        ({"videos": [b.video.pk]}, "not in this project"),
        ({"videos": [a.video.pk, 999999]}, "999999 is not in this project"),
        ({"videos": [empty.pk]}, "no detections from a Track job"),
        ({"videos": [a.video.pk, empty.pk]}, "empty.avi"),
        ({"videos": [a.video.pk], "detections": "yolo"}, "Unknown detections source"),
        ({"videos": [a.video.pk], "detections": 7}, "detections must be"),
        ({"videos": [a.video.pk], "detections": f"detections:{foreign_set.pk}"}, "no detection set"),
        ({"videos": [a.video.pk], "detections": f"detections:{other_video_set.pk}"}, "belongs to another video"),
        ({"videos": [a.video.pk], "detections": "detections:abc"}, "give its id"),
        ({"videos": [a.video.pk], "detections": {"12345": "track-job"}}, "not one of the videos"),
        ({"videos": [a.video.pk], "steps": 0}, "steps must be"),
        ({"videos": [a.video.pk], "steps": "many"}, "steps must be"),
        ({"videos": [a.video.pk], "lr": -1}, "lr must be"),
        ({"videos": [a.video.pk], "epochs": 3}, "Unknown field: epochs"),
    ]
    for body, message in cases:
        response = train(world, **body)
        assert response.status_code == 400, (body, response.content)
        assert message in response.json()["detail"], (body, response.json())
    assert not ReidModel.objects.exists() and not Job.objects.filter(kind=JobKind.REID_TRAIN).exists()


def test_train_on_an_imported_detection_set(world, media):
    video = world.a.video
    detections = media / "detections" / "set.txt"
    detections.parent.mkdir(parents=True)
    detections.write_text("".join(f"{f + 1},-1,{10 + f},20,40,80,0.9,-1,-1,-1\n" for f in range(8)))
    dset = DetectionSet.objects.create(video=video, name="public", file="detections/set.txt", rows=8)
    response = train(world, videos=[video.pk], detections=f"detections:{dset.pk}", steps=3)
    assert response.status_code == 201, response.content
    model = ReidModel.objects.get()
    assert model.params["detections"] == {str(video.pk): f"detections:{dset.pk}"}
    # What the worker will train on: the file's boxes, 0-based frames, [x1, y1, x2, y2, conf].
    boxes = reid_services.training_detections(video, f"detections:{dset.pk}")
    assert sorted(boxes) == list(range(8))
    assert boxes[3].tolist() == [[13.0, 20.0, 53.0, 100.0, pytest.approx(0.9)]]


def test_training_detections_from_a_track_job(world):
    video = world.a.video
    detector_track(video, world.a.label, frames=[2, 3])
    boxes = reid_services.training_detections(video, "track-job")
    assert sorted(boxes) == [2, 3]  # the manual figure on frame 0 is not a detection
    assert boxes[3].tolist() == [[13.0, 20.0, 53.0, 100.0, pytest.approx(0.8)]]


# ----------------------------------------------------------------------------------- track with it


def track(world, role="annotator", **body):
    return world.client(role).post(f"/api/videos/{world.a.video.pk}/jobs/track/", body, format="json")


def test_track_with_the_reid_tracker_checks_its_model(world, media):
    ours = ready_model(media, world.a)
    theirs = ready_model(media, world.b)
    training = ReidModel.objects.create(
        project=world.a.project, name="busy",
        job=Job.objects.create(project=world.a.project, video=world.a.video, kind=JobKind.REID_TRAIN),
    )  # fmt: skip
    before = Job.objects.count()
    cases = [
        ({"tracker": "reid"}, "needs \"reid_model\""),
        ({"tracker": "reid", "tracker_params": {"reid_model": theirs.pk}}, f"no ReID model {theirs.pk} in this project"),
        ({"tracker": "reid", "tracker_params": {"reid_model": training.pk}}, "still training"),
        ({"tracker": "reid", "tracker_params": {"reid_model": "resnet"}}, "ReID model id or \"imagenet\""),
        ({"tracker": "bytetrack", "tracker_params": {"reid_model": ours.pk}}, "only by the \"reid\" tracker"),
        ({"tracker": "reid", "tracker_params": {"reid_model": ours.pk, "appearance": "colour"}}, "do not apply"),
        ({"tracker": "reid", "tracker_params": {"reid_model": ours.pk, "no_such_param": 1}}, "no_such_param"),
        ({"tracker": "reid", "tracker_params": {"reid_model": ours.pk, "reid_weight": 2}}, "reid_weight must be"),
    ]
    for body, message in cases:
        response = track(world, **body)
        assert response.status_code == 400, (body, response.content)
        assert message in response.json()["detail"], (body, response.json())
    assert Job.objects.count() == before

    response = track(world, tracker="reid", tracker_params={"reid_model": ours.pk})
    assert response.status_code == 201, response.content
    params = response.json()["params"]
    assert params["tracker"] == "reid" and params["tracker_params"] == {}
    assert params["reid_model_id"] == ours.pk and Path(params["reid_model"]) == Path(ours.file.path)
    response = track(world, tracker="reid", tracker_params={"reid_model": "imagenet"})
    assert response.status_code == 201 and response.json()["params"]["reid_model"] == "imagenet"
    # The Track dialog sends reid_model at the top level, with the learned cue's share.
    response = track(world, tracker="reid", reid_model=ours.pk, tracker_params={"reid_weight": 0.5})
    assert response.status_code == 201, response.content
    assert response.json()["params"]["reid_model_id"] == ours.pk
    assert response.json()["params"]["tracker_params"] == {"reid_weight": 0.5}
    # A Track job with the model queued: it cannot be deleted now.
    assert world.client("manager").delete(f"/api/reid-models/{ours.pk}/").status_code == 400


def test_track_with_an_imported_detection_set_as_its_detector(world, media):
    video = world.a.video
    (media / "detections").mkdir()
    (media / "detections" / "d.txt").write_text("1,-1,10,20,40,80,0.9,-1,-1,-1\n")
    mine = DetectionSet.objects.create(video=video, name="d", file="detections/d.txt", rows=1)
    elsewhere = DetectionSet.objects.create(video=make_video(world.a.project, name="o.avi"), name="o",
                                            file="detections/d.txt", rows=1)  # fmt: skip
    response = track(world, model=f"detections:{mine.pk}", tracker="bytetrack")
    assert response.status_code == 201, response.content
    assert response.json()["params"]["detector"] == "mot-det:" + str((media / "detections" / "d.txt").resolve())
    response = track(world, model=f"detections:{elsewhere.pk}", tracker="bytetrack")
    assert response.status_code == 400 and "belongs to another video" in response.json()["detail"]


# ------------------------------------------------------------------------------------ job files


def render_job(world, media, size=10_000) -> tuple[Job, bytes]:
    body = bytes(range(256)) * (size // 256 + 1)
    body = body[:size]
    (media / "renders").mkdir(exist_ok=True)
    (media / "renders" / "r.webm").write_bytes(body)
    job = Job.objects.create(project=world.a.project, video=world.a.video, kind=JobKind.RENDER, status=JobStatus.DONE,
                             result={"url": "/api/jobs/0/file/", "file": "renders/r.webm"})  # fmt: skip
    return job, body


def test_job_file_is_served_with_byte_ranges(world, media):
    job, body = render_job(world, media)
    client = world.client("viewer")
    url = f"/api/jobs/{job.pk}/file/"
    whole = client.get(url)
    assert whole.status_code == 200 and whole["Content-Type"] == "video/webm" and whole["Accept-Ranges"] == "bytes"
    assert b"".join(whole.streaming_content) == body and whole["Content-Disposition"].startswith("inline")
    for header, start, end in [("bytes=0-1", 0, 1), ("bytes=100-", 100, len(body) - 1), ("bytes=-500", len(body) - 500,
                               len(body) - 1), ("bytes=9000-20000", 9000, len(body) - 1)]:  # fmt: skip
        part = client.get(url, HTTP_RANGE=header)
        assert part.status_code == 206, header
        assert part["Content-Range"] == f"bytes {start}-{end}/{len(body)}"
        assert int(part["Content-Length"]) == end - start + 1
        assert b"".join(part.streaming_content) == body[start : end + 1]
    outside = client.get(url, HTTP_RANGE=f"bytes={len(body)}-")
    assert outside.status_code == 416 and outside["Content-Range"] == f"bytes */{len(body)}"
    assert client.get(url + "?download=1")["Content-Disposition"].startswith("attachment")
    # Other projects' jobs, and jobs with no file.
    assert world.client("outsider").get(url).status_code == 404
    assert client.get(f"/api/jobs/{world.b.job.pk}/file/").status_code == 404
    response = client.get(f"/api/jobs/{world.a.job.pk}/file/", HTTP_ACCEPT="video/webm")
    assert response.status_code == 409 and "no output file" in response.json()["detail"]
    Job.objects.filter(pk=job.pk).update(result={"file": "../../etc/passwd"})
    assert client.get(url).status_code == 409
