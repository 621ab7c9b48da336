"""A project's model list through the API: real small YOLO models made here (random weights, the 80 COCO
class names), uploaded as .pt and .onnx and checked in a separate process; corrupt and foreign files
refused with nothing stored; roles; and Track jobs choosing a model (and its classes) from the list."""

from __future__ import annotations

import hashlib
import io
import os
import zipfile
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from labeling.models import DetectorModel, Job, JobKind, JobStatus

pytestmark = pytest.mark.django_db


# ------------------------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def tiny_models(tmp_path_factory) -> dict[str, Path]:
    """A random-initialised YOLO11n detector with the COCO class names, saved the way ultralytics saves
    weights (.pt), and its ONNX export at imgsz 64 (about a second)."""
    from tracking.runtime import configure_offline

    configure_offline()
    import torch
    from ultralytics import YOLO
    from ultralytics.utils import ROOT, YAML

    root = tmp_path_factory.mktemp("models")
    torch.manual_seed(0)
    model = YOLO("yolo11n.yaml")
    model.model.names = dict(YAML.load(ROOT / "cfg/datasets/coco.yaml")["names"])
    with torch.no_grad():  # raise the class logits (person most) so the random model "finds" persons anywhere
        for branch in model.model.model[-1].cv3:
            branch[-1].bias.fill_(4.0)
            branch[-1].bias[0] = 5.0
    pt = root / "tiny-coco.pt"
    model.save(str(pt))
    onnx = Path(YOLO(str(pt)).export(format="onnx", imgsz=64, simplify=False, verbose=False))
    # Foreign files that get as far as the loader: a real torch checkpoint holding no model, and a real
    # ONNX graph that no ultralytics export wrote.
    checkpoint = root / "not-a-model.pt"
    torch.save({"epoch": 3, "weights": torch.zeros(4)}, checkpoint)
    import onnx as onnx_lib
    from onnx import TensorProto, helper

    graph = helper.make_graph(
        [helper.make_node("Identity", ["x"], ["y"])], "identity",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 3])],
    )  # fmt: skip
    foreign_onnx = root / "identity.onnx"
    onnx_lib.save(helper.make_model(graph), str(foreign_onnx))
    return {"pt": pt, "onnx": onnx, "checkpoint": checkpoint, "foreign_onnx": foreign_onnx,
            "coco": [model.model.names[i] for i in range(80)]}  # fmt: skip


def url(project_id: int, model_id=None) -> str:
    base = f"/api/projects/{project_id}/models/"
    return base if model_id is None else f"{base}{model_id}/"


def upload(client, project_id: int, content: bytes, filename: str, **extra):
    return client.post(url(project_id), {"file": SimpleUploadedFile(filename, content), **extra}, format="multipart")


def stored_files(media: Path) -> list[Path]:
    return sorted(p for p in media.rglob("*") if p.is_file())


def assert_nothing_stored(media: Path) -> None:
    assert stored_files(media) == [], "a refused upload left files behind"
    assert not DetectorModel.objects.exists()


# ------------------------------------------------------------------------------------------- upload


def test_upload_pt_and_onnx_then_list_read_and_delete(world, media, tiny_models, django_capture_on_commit_callbacks):
    project = world.a.project
    manager = world.client("manager")
    r = upload(manager, project.pk, tiny_models["pt"].read_bytes(), "tiny-coco.pt", name="Tiny COCO")
    assert r.status_code == 201, r.content
    pt = r.json()
    assert (pt["name"], pt["format"], pt["task"], pt["deletable"]) == ("Tiny COCO", "pt", "detect", True)
    assert pt["class_names"] == tiny_models["coco"] and pt["class_names"][:2] == ["person", "bicycle"]
    assert pt["size"] == tiny_models["pt"].stat().st_size and pt["uploaded_by"] == world.users["manager"].pk
    row = DetectorModel.objects.get(pk=int(pt["id"]))
    stored = Path(row.file.path)
    assert stored.parent == media / "models" / str(project.pk) and stored.suffix == ".pt"
    assert stored.read_bytes() == tiny_models["pt"].read_bytes()
    assert row.checksum == hashlib.sha256(stored.read_bytes()).hexdigest()

    r = upload(world.client("owner"), project.pk, tiny_models["onnx"].read_bytes(), "tiny-coco.onnx")
    assert r.status_code == 201, r.content
    onnx = r.json()
    assert (onnx["name"], onnx["format"], onnx["task"]) == ("tiny-coco", "onnx", "detect")
    assert onnx["class_names"] == tiny_models["coco"]

    # Any member reads the list: the bundled default first, then the uploads.
    listed = world.client("viewer").get(url(project.pk))
    assert listed.status_code == 200
    default, *uploads = listed.json()
    assert default["id"] == "default" and default["task"] == "pose" and default["class_names"] == ["person"]
    assert default["deletable"] is False and default["size"] > 1_000_000  # the real bundled weights file
    assert [m["id"] for m in uploads] == [pt["id"], onnx["id"]]
    assert world.client("viewer").get(url(project.pk, pt["id"])).json() == pt
    assert world.client("viewer").get(url(project.pk, "default")).json()["task"] == "pose"
    # Another project's list does not show them, nor does its id path.
    assert [m["id"] for m in world.client("stranger").get(url(world.b.project.pk)).json()] == ["default"]
    assert world.client("stranger").get(url(world.b.project.pk, pt["id"])).status_code == 404

    # Delete: never the default; a viewer may not; a manager may, and the file goes too.
    r = manager.delete(url(project.pk, "default"))
    assert r.status_code == 400 and "cannot be deleted" in r.json()["detail"]
    assert world.client("viewer").delete(url(project.pk, pt["id"])).status_code == 403
    with django_capture_on_commit_callbacks(execute=True):
        assert manager.delete(url(project.pk, pt["id"])).status_code == 204
    assert not stored.exists() and not DetectorModel.objects.filter(pk=int(pt["id"])).exists()
    assert manager.get(url(project.pk, pt["id"])).status_code == 404
    assert [m["id"] for m in manager.get(url(project.pk)).json()] == ["default", onnx["id"]]


def test_roles_upload_is_for_managers_and_owners(world, media):
    project = world.a.project
    for role, expected in [("annotator", 403), ("viewer", 403), ("outsider", 404), ("anonymous", 401)]:
        r = upload(world.client(role), project.pk, b"\0" * 64, "w.pt")
        assert r.status_code == expected, (role, r.content)
        assert "detail" in r.json()
    assert "this needs manager or higher" in upload(world.client("viewer"), project.pk, b"x", "w.pt").json()["detail"]
    assert world.client("outsider").get(url(project.pk)).status_code == 404
    assert world.client("outsider").get(url(project.pk, "default")).status_code == 404
    assert world.client("anonymous").get(url(project.pk)).status_code == 401
    assert_nothing_stored(media)


def _zip_without_model() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("readme.txt", "holiday photos")
    return buffer.getvalue()


def test_corrupt_or_foreign_files_are_refused_and_nothing_is_stored(world, media, tiny_models):
    client = world.client("owner")
    project = world.a.project
    cases = [
        (os.urandom(4096), "random.pt", "random.pt is not a PyTorch model file"),
        (b"just some notes\n" * 20, "notes.pt", "notes.pt is not a PyTorch model file"),
        (_zip_without_model(), "archive.pt", "archive.pt is not a PyTorch model file"),
        (b"", "empty.pt", "empty.pt is empty"),
        (b"not protobuf at all " * 30, "text.onnx", "text.onnx is not a readable ONNX model"),
        (tiny_models["foreign_onnx"].read_bytes(), "identity.onnx", "identity.onnx has no Ultralytics metadata"),
        (tiny_models["checkpoint"].read_bytes(), "checkpoint.pt", "Could not load checkpoint.pt as a YOLO model"),
        (tiny_models["pt"].read_bytes(), "weights.txt", "weights.txt is not a model file Trackroom accepts"),
    ]
    for content, filename, words in cases:
        r = upload(client, project.pk, content, filename)
        assert r.status_code == 400, (filename, r.content)
        assert words in r.json()["detail"], (filename, r.json())
        assert "model-" not in r.json()["detail"]  # our temporary file's name never shows
        assert_nothing_stored(media)
    r = client.post(url(project.pk), {"name": "no file"}, format="multipart")
    assert r.status_code == 400 and "file" in r.json()["detail"]


def test_over_the_size_limit_is_413_and_nothing_is_stored(world, media, tiny_models, settings):
    settings.TRACKROOM_MAX_MODEL_BYTES = 100 * 1024
    r = upload(world.client("owner"), world.a.project.pk, tiny_models["pt"].read_bytes(), "big.pt")
    assert r.status_code == 413 and "most Trackroom accepts is 102,400 bytes" in r.json()["detail"]
    assert_nothing_stored(media)
    # Just over the limit (under the envelope allowance): refused by the upload service, nothing stored.
    r = upload(world.client("owner"), world.a.project.pk, b"\0" * (100 * 1024 + 1), "big.pt")
    assert r.status_code == 413, r.content
    assert_nothing_stored(media)


# ------------------------------------------------------------------------------------- track jobs


def test_track_jobs_choose_from_the_projects_models(world, media, tiny_models):
    project = world.a.project
    owner = world.client("owner")
    r = upload(owner, project.pk, tiny_models["pt"].read_bytes(), "tiny-coco.pt")
    assert r.status_code == 201, r.content
    model_id = r.json()["id"]
    # A model of project B: a row as an upload would leave it (the check is not what this test is about).
    other = DetectorModel.objects.create(
        project=world.b.project, name="theirs", file=f"models/{world.b.project.pk}/x.pt", format="pt",
        task="detect", class_names=["person"], size=1, checksum="0" * 64,
    )  # fmt: skip
    track_url = f"/api/videos/{world.a.video.pk}/jobs/track/"
    annotator = world.client("annotator")
    before = Job.objects.count()

    r = annotator.post(track_url, {"model": model_id, "classes": ["person", "unicorn"], "tracker": "bytetrack"},
                       format="json")  # fmt: skip
    assert r.status_code == 400
    detail = r.json()["detail"]
    assert "Unknown class 'unicorn'" in detail and "tiny-coco" in detail
    assert "0 person, 1 bicycle, 2 car" in detail and "79 toothbrush" in detail
    r = annotator.post(track_url, {"model": model_id, "classes": [80]}, format="json")
    assert r.status_code == 400 and "Unknown class id '80'" in r.json()["detail"]
    for foreign in (other.pk, "12345", "tiny-coco.pt", "models/1/x.pt"):
        r = annotator.post(track_url, {"model": foreign}, format="json")
        assert r.status_code == 400, (foreign, r.content)
        assert "unknown model" in r.json()["detail"].lower()
    # The default model's own classes are just "person".
    r = annotator.post(track_url, {"model": "default", "classes": ["car"]}, format="json")
    assert r.status_code == 400 and "Its classes (id name): 0 person." in r.json()["detail"]
    assert Job.objects.count() == before

    # Class names or ids of the chosen model; the job records which model file it runs.
    r = annotator.post(track_url, {"model": model_id, "classes": ["Person", 2], "tracker": "bytetrack",
                                   "labels": {"person": world.a.label.pk, "car": world.a.label.pk}},
                       format="json")  # fmt: skip
    assert r.status_code == 201, r.content
    job = Job.objects.get(pk=r.json()["id"])
    row = DetectorModel.objects.get(pk=int(model_id))
    assert job.params["model_id"] == row.pk and job.params["detector"] == str(Path(row.file.path).resolve())
    assert job.params["classes"] == [0, 2] and job.params["class_names"] == {"0": "person", "2": "car"}

    # A model in use by a queued job cannot be deleted; once the job ended it can.
    r = world.client("manager").delete(url(project.pk, model_id))
    assert r.status_code == 400 and f"in use by job {job.pk}" in r.json()["detail"]
    assert DetectorModel.objects.filter(pk=row.pk).exists() and Path(row.file.path).exists()
    Job.objects.filter(pk=job.pk).update(status=JobStatus.DONE)
    assert world.client("manager").delete(url(project.pk, model_id)).status_code == 204
    assert Job.objects.filter(kind=JobKind.TRACK, params__model_id=row.pk).count() == 1  # history kept


@pytest.mark.django_db(transaction=True)
def test_an_uploaded_model_runs_in_a_track_job_on_a_worker(tmp_path, settings, moving_boxes_clip, tiny_models):
    """The whole path: upload (checked in a separate process) → Track job naming the model's id → a real
    dramatiq worker loads the stored file and stores the detector's tracks."""
    import dramatiq

    from labeling.models import Figure
    from labeling.services.detector_models import detector_model_create
    from tests.web.test_jobs import Setup, wait_finished
    from trackroom.broker import boot_worker_process, get_broker

    settings.MEDIA_ROOT = tmp_path / "media"
    settings.MEDIA_ROOT.mkdir()
    world = Setup(settings.MEDIA_ROOT, moving_boxes_clip)
    with tiny_models["pt"].open("rb") as source:
        model = detector_model_create(project=world.project, source=source, user=world.owner)
    broker = get_broker()
    boot_worker_process()
    broker.flush_all()
    worker = dramatiq.Worker(broker, worker_threads=1, worker_timeout=50)
    worker.start()
    try:
        r = world.client().post(
            f"/api/videos/{world.video.pk}/jobs/track/",
            {"model": model.pk, "classes": ["person"], "tracker": "bytetrack", "imgsz": 64, "start": 0, "stop": 6},
            format="json",
        )
        assert r.status_code == 201, r.content
        job = wait_finished(Job.objects.get(pk=r.json()["id"]))
    finally:
        worker.stop()
        broker.flush_all()
    assert job.status == JobStatus.DONE, job.error
    assert job.frames_done == 6 and job.params["model_id"] == model.pk
    figures = Figure.objects.filter(job=job)
    assert figures.exists() and set(figures.values_list("track__label", flat=True)) == {world.label.pk}
    assert set(figures.values_list("frame", flat=True)) <= set(range(6))
