"""Video API: upload (validation, nothing half-stored), exact frames and chunks, roles, import command."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import av
import cv2
import numpy as np
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.contrib.auth import get_user_model

from labeling.models import Project, Video
from labeling.services.demo import DEMO_PROJECT_NAME
from labeling.services.videos import VideoTooLarge, frame_cache_dir, parse_frame_chunk, video_create
from tests.web.conftest import ROLES

pytestmark = pytest.mark.django_db

READERS = {"owner", "manager", "annotator", "viewer"}
MANAGERS = {"owner", "manager"}


@pytest.fixture
def media(settings, tmp_path) -> Path:
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.FRAME_CACHE_DIR = tmp_path / "frames"
    return tmp_path


def stored_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def upload(client, project_id: int, content: bytes, filename: str, **extra):
    return client.post(
        f"/api/projects/{project_id}/videos/",
        {"file": SimpleUploadedFile(filename, content), **extra},
        format="multipart",
    )


def decode_jpeg(data: bytes) -> np.ndarray:
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    assert image is not None, "not a JPEG"
    return image


def frame_code(frame: np.ndarray) -> int:
    return int(round(float(frame[1:7, 1:7].mean()) / 5.0))


def pets09_reference(path: Path, wanted: range) -> dict[int, np.ndarray]:
    """Frames decoded sequentially with plain PyAV, independently of the code under test."""
    out = {}
    with av.open(str(path)) as container:
        for i, frame in enumerate(container.decode(video=0)):
            if i in wanted:
                out[i] = frame.to_ndarray(format="bgr24").astype(np.int16)
            if i >= wanted[-1]:
                break
    return out


@pytest.fixture
def clip_video(world, media, moving_boxes_clip) -> Video:
    """A real 40-frame video stored in project A through the service."""
    return video_create(project=world.a.project, source=moving_boxes_clip.path, original_name="boxes.avi")


# --- upload of the real footage, exact frames ------------------------------------------------------


def test_upload_pets09_and_serve_exact_frames(world, media, pets09_video, settings):
    content = pets09_video.read_bytes()
    client = world.client("manager")
    r = upload(client, world.a.project.pk, content, "vtest.avi", name="PETS09 S2L1")
    assert r.status_code == 201, r.content
    body = r.json()
    assert body["name"] == "PETS09 S2L1" and body["project"] == world.a.project.pk
    assert (body["frame_count"], body["width"], body["height"], body["fps"]) == (795, 768, 576, 10.0)
    assert body["codec"] == "msmpeg4" and body["size"] == len(content)
    assert body["checksum"] == hashlib.sha256(content).hexdigest()
    video = Video.objects.get(pk=body["id"])
    assert video.uploaded_by == world.users["manager"]
    assert Path(video.file.path).read_bytes() == content
    assert Path(video.file.path).is_relative_to(settings.MEDIA_ROOT)
    assert stored_files(media / "media") == [Path(video.file.path)]  # the staging copy is gone

    reference = pets09_reference(pets09_video, range(398, 403))
    # Where people move between frames 399..401: whole-frame means hide which frame it is.
    moving = np.zeros((576, 768), bool)
    for a, b in [(399, 400), (400, 401)]:
        moving |= np.abs(reference[a] - reference[b]).max(axis=2) > 30
    assert moving.sum() > 1000

    r = client.get(f"/api/videos/{video.pk}/frames/400/")
    assert r.status_code == 200 and r["Content-Type"] == "image/jpeg"
    assert "immutable" in r["Cache-Control"] and "private" in r["Cache-Control"]
    frame = decode_jpeg(r.content).astype(np.int16)
    assert np.abs(frame - reference[400]).mean() < 2.0
    error = {n: np.abs(frame - reference[n])[moving].mean() for n in (399, 400, 401)}
    assert error[400] < 5 and error[399] > 20 and error[401] > 20, error
    assert len(stored_files(frame_cache_dir(video.pk))) == 1

    again = client.get(f"/api/videos/{video.pk}/frames/400/", HTTP_IF_NONE_MATCH=r["ETag"])
    assert again.status_code == 304 and again["ETag"] == r["ETag"]

    r = client.get(f"/api/videos/{video.pk}/chunks/", {"start": 398, "count": 5})
    assert r.status_code == 200 and r["Content-Type"] == "application/vnd.trackroom.frames"
    header, jpegs = parse_frame_chunk(r.content)
    assert (header["start"], header["count"], header["frame_count"]) == (398, 5, 795)
    assert [f["index"] for f in header["frames"]] == [398, 399, 400, 401, 402]
    for n, data in zip(range(398, 403), jpegs, strict=True):
        decoded = decode_jpeg(data).astype(np.int16)
        errors = {m: np.abs(decoded - reference[m]).mean() for m in reference}
        assert min(errors, key=errors.get) == n and errors[n] < 2.0
    assert len(stored_files(frame_cache_dir(video.pk))) == 5  # 400 reused, 4 new

    r = client.get(f"/api/videos/{video.pk}/frames/795/")
    assert r.status_code == 400 and "frames 0 to 794" in r.json()["detail"]
    r = client.get(f"/api/videos/{video.pk}/chunks/", {"start": 0, "count": settings.TRACKROOM_MAX_CHUNK_FRAMES + 1})
    assert r.status_code == 400 and "count must be from 1 to" in r.json()["detail"]


# --- refused uploads: 400 with a sentence, nothing stored ---------------------------------------------


def _unknown_codec(clip_path: Path) -> bytes:
    data = bytearray(clip_path.read_bytes())
    strh, strf = data.find(b"strh"), data.find(b"strf")
    data[strh + 12 : strh + 16] = b"ZZZZ"
    data[strf + 24 : strf + 28] = b"ZZZZ"
    return bytes(data)


def _zero_frames() -> bytes:
    buffer = io.BytesIO()
    with av.open(buffer, "w", format="avi") as out:
        stream = out.add_stream("mjpeg", rate=10)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuvj420p"
        out.start_encoding()
    return buffer.getvalue()


def _audio_only() -> bytes:
    buffer = io.BytesIO()
    with av.open(buffer, "w", format="wav") as out:
        stream = out.add_stream("pcm_s16le", rate=8000)
        frame = av.AudioFrame.from_ndarray(np.zeros((1, 800), np.int16), format="s16", layout="mono")
        frame.sample_rate = 8000
        for packet in [*stream.encode(frame), *stream.encode(None)]:
            out.mux(packet)
    return buffer.getvalue()


BAD_UPLOADS = {
    "random bytes": ("holiday.mp4", lambda clip, pets: np.random.default_rng(1).bytes(300_000), "is not a video"),
    "truncated": ("vtest.avi", lambda clip, pets: pets.read_bytes()[: int(pets.stat().st_size * 0.3)], "truncated"),
    "zero frames": ("nothing.avi", lambda clip, pets: _zero_frames(), "no frames"),
    "audio only": ("voice.wav", lambda clip, pets: _audio_only(), "only audio"),
    "unknown codec": ("capture.avi", lambda clip, pets: _unknown_codec(clip), "codec that Trackroom cannot decode"),
    "empty": ("empty.mp4", lambda clip, pets: b"", "empty"),
    "absurd size": ("boxes.avi", lambda clip, pets: clip.read_bytes(), "320x240 pixels; Trackroom accepts at most 100"),
}


@pytest.mark.parametrize("kind", list(BAD_UPLOADS))
def test_bad_upload_refused_and_nothing_stored(world, media, settings, moving_boxes_clip, pets09_video, kind):
    filename, make, message = BAD_UPLOADS[kind]
    if kind == "absurd size":
        settings.TRACKROOM_MAX_VIDEO_SIDE = 100
    before = Video.objects.count()
    r = upload(world.client("owner"), world.a.project.pk, make(moving_boxes_clip.path, pets09_video), filename)
    assert r.status_code == 400, r.content
    assert message in r.json()["detail"]
    assert Video.objects.count() == before
    assert stored_files(media / "media") == []


def test_upload_over_size_limit_is_413_and_nothing_stored(world, media, settings, moving_boxes_clip):
    settings.TRACKROOM_MAX_VIDEO_BYTES = 100_000
    r = upload(world.client("owner"), world.a.project.pk, moving_boxes_clip.path.read_bytes(), "boxes.avi")
    assert r.status_code == 413 and "too large" in r.json()["detail"]
    assert Video.objects.filter(project=world.a.project).count() == 1  # the fixture's video only
    assert stored_files(media / "media") == []
    # The limit holds while copying too, when the size is not known in advance (a path here).
    with pytest.raises(VideoTooLarge):
        video_create(project=world.a.project, source=moving_boxes_clip.path)
    assert Video.objects.filter(project=world.a.project).count() == 1
    assert stored_files(media / "media") == []


def test_failure_while_saving_the_row_removes_the_stored_file(world, media, moving_boxes_clip, monkeypatch):
    """The file is moved into place before the row is written; if the write fails, it goes again."""

    def broken_save(self, *args, **kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr(Video, "save", broken_save)
    with pytest.raises(RuntimeError, match="database went away"):
        video_create(project=world.a.project, source=moving_boxes_clip.path)
    assert stored_files(media / "media") == []


def test_upload_without_file_is_400(world, media):
    r = world.client("owner").post(f"/api/projects/{world.a.project.pk}/videos/", {"name": "x"}, format="multipart")
    assert r.status_code == 400 and "file" in r.json()["detail"]


# --- roles ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ROLES)
def test_upload_needs_manager(world, media, moving_boxes_clip, role):
    r = upload(world.client(role), world.a.project.pk, moving_boxes_clip.path.read_bytes(), "boxes.avi")
    expected = {"owner": 201, "manager": 201, "annotator": 403, "viewer": 403, "outsider": 404, "anonymous": 401}
    assert r.status_code == expected[role], r.content
    assert "detail" in r.json() if r.status_code != 201 else r.json()["frame_count"] == 40
    if r.status_code != 201:
        assert stored_files(media / "media") == []


def test_upload_into_other_or_missing_project_is_404(world, media, moving_boxes_clip):
    content = moving_boxes_clip.path.read_bytes()
    assert upload(world.client("manager"), world.b.project.pk, content, "a.avi").status_code == 404
    assert upload(world.client("manager"), 999_999, content, "a.avi").status_code == 404
    assert stored_files(media / "media") == []


@pytest.mark.parametrize("role", ROLES)
def test_list_shows_only_own_projects(world, media, role):
    client = world.client(role)
    r = client.get("/api/videos/")
    if role == "anonymous":
        assert r.status_code == 401
        return
    ids = {v["id"] for v in r.json()["results"]}
    assert ids == ({world.a.video.pk} if role in READERS else set())
    assert client.get("/api/videos/", {"project": world.b.project.pk}).json()["results"] == []
    r = client.get(f"/api/projects/{world.a.project.pk}/videos/")
    assert r.status_code == (200 if role in READERS else 404)


READ_ENDPOINTS = ["", "file/", "frames/3/", "chunks/?start=0&count=4"]


@pytest.mark.parametrize("endpoint", READ_ENDPOINTS)
@pytest.mark.parametrize("role", ROLES)
def test_read_endpoints_need_viewer(world, clip_video, role, endpoint):
    client = world.client(role)
    r = client.get(f"/api/videos/{clip_video.pk}/{endpoint}")
    expected = 200 if role in READERS else (401 if role == "anonymous" else 404)
    assert r.status_code == expected
    if expected == 200 and endpoint == "file/":
        assert b"".join(r.streaming_content) == Path(clip_video.file.path).read_bytes()
        assert 'attachment; filename="boxes.avi"' in r["Content-Disposition"]
    if expected == 200 and endpoint.startswith("frames/"):
        assert frame_code(decode_jpeg(r.content)) == 3
    if role in READERS:  # a video of another project does not exist for them
        assert client.get(f"/api/videos/{world.b.video.pk}/{endpoint}").status_code == 404


@pytest.mark.parametrize("role", ROLES)
def test_patch_needs_manager(world, clip_video, role):
    r = world.client(role).patch(f"/api/videos/{clip_video.pk}/", {"fps": 7, "name": "PETS"}, format="json")
    expected = {"owner": 200, "manager": 200, "annotator": 403, "viewer": 403, "outsider": 404, "anonymous": 401}
    assert r.status_code == expected[role]
    clip_video.refresh_from_db()
    assert (clip_video.fps, clip_video.name) == ((7.0, "PETS") if expected[role] == 200 else (10.0, "boxes.avi"))
    if role == "manager":
        assert r.json()["duration"] == pytest.approx(40 / 7)
        other = world.client(role).patch(f"/api/videos/{world.b.video.pk}/", {"fps": 7}, format="json")
        assert other.status_code == 404


@pytest.mark.parametrize(
    "payload, message",
    [
        ({"fps": 0}, "fps must be more than 0"),
        ({"fps": 5000}, "at most 1000"),
        ({"fps": "fast"}, "fps"),
        ({"name": " "}, "name"),
    ],
)
def test_patch_validation(world, clip_video, payload, message):
    r = world.client("manager").patch(f"/api/videos/{clip_video.pk}/", payload, format="json")
    assert r.status_code == 400 and message in r.json()["detail"]
    clip_video.refresh_from_db()
    assert clip_video.fps == 10.0


@pytest.mark.parametrize("role", ROLES)
def test_delete_needs_manager_and_removes_files(world, clip_video, role, django_capture_on_commit_callbacks):
    client = world.client(role)
    readable = 200 if role in READERS else 401 if role == "anonymous" else 404
    assert client.get(f"/api/videos/{clip_video.pk}/frames/0/").status_code == readable
    path, cache = Path(clip_video.file.path), frame_cache_dir(clip_video.pk)
    with django_capture_on_commit_callbacks(execute=True):
        r = client.delete(f"/api/videos/{clip_video.pk}/")
    expected = {"owner": 204, "manager": 204, "annotator": 403, "viewer": 403, "outsider": 404, "anonymous": 401}
    assert r.status_code == expected[role]
    gone = expected[role] == 204
    assert Video.objects.filter(pk=clip_video.pk).exists() is not gone
    assert path.exists() is not gone
    if gone:
        assert not cache.exists()
    if role == "manager":
        assert client.delete(f"/api/videos/{world.b.video.pk}/").status_code == 404


def test_project_delete_removes_its_video_files(world, clip_video, django_capture_on_commit_callbacks):
    path = Path(clip_video.file.path)
    assert world.client("viewer").get(f"/api/videos/{clip_video.pk}/frames/3/").status_code == 200
    cache = frame_cache_dir(clip_video.pk)
    assert path.exists() and cache.exists()
    with django_capture_on_commit_callbacks(execute=True):
        assert world.client("owner").delete(f"/api/projects/{world.a.project.pk}/").status_code == 204
    assert not Video.objects.filter(pk=clip_video.pk).exists()
    assert not path.exists() and not cache.exists()


# --- chunks on the synthetic clip ----------------------------------------------------------------------


def test_chunk_round_trip_and_cache_reuse(world, clip_video):
    client = world.client("viewer")
    r = client.get(f"/api/videos/{clip_video.pk}/chunks/", {"start": 30, "count": 64, "quality": 95})
    assert r.status_code == 200 and r["X-Frame-Count"] == "10" and "immutable" in r["Cache-Control"]
    header, jpegs = parse_frame_chunk(r.content)
    assert header["count"] == 10 and header["video"] == clip_video.pk  # cut at the last frame
    assert [frame_code(decode_jpeg(j)) for j in jpegs] == list(range(30, 40))
    cached = stored_files(frame_cache_dir(clip_video.pk))
    assert len(cached) == 10 and all(p.parent.name == "q95" for p in cached)
    # The single-frame endpoint answers from the same cache, byte for byte.
    single = client.get(f"/api/videos/{clip_video.pk}/frames/35/", {"quality": 95})
    assert single.content == jpegs[5]
    url = f"/api/videos/{clip_video.pk}/chunks/"
    same = client.get(url, {"start": 30, "count": 64, "quality": 95}, HTTP_IF_NONE_MATCH=r["ETag"])
    assert same.status_code == 304 and same.content == b""
    other_quality = client.get(url, {"start": 30, "count": 64}, HTTP_IF_NONE_MATCH=r["ETag"])
    assert other_quality.status_code == 200 and other_quality["ETag"] != r["ETag"]
    for params, message in [
        ({}, "start"),
        ({"start": "x"}, "whole number"),
        ({"start": 40}, "frames 0 to 39"),
        ({"start": -1}, "frames 0 to 39"),
        ({"start": 0, "count": 0}, "count must be"),
        ({"start": 0, "quality": 101}, "quality"),
    ]:
        bad = client.get(f"/api/videos/{clip_video.pk}/chunks/", params)
        assert bad.status_code == 400 and message in bad.json()["detail"], params


def test_frame_endpoint_with_image_accept_header_still_answers_errors_as_json(world, clip_video):
    client = world.client("viewer")
    ok = client.get(f"/api/videos/{clip_video.pk}/frames/1/", HTTP_ACCEPT="image/avif,image/webp,*/*")
    assert ok.status_code == 200 and frame_code(decode_jpeg(ok.content)) == 1
    bad = client.get(f"/api/videos/{clip_video.pk}/frames/99/", HTTP_ACCEPT="image/jpeg")
    assert bad.status_code == 400 and bad["Content-Type"] == "application/json"


# --- management command --------------------------------------------------------------------------------


def test_import_video_command(db, media, moving_boxes_clip, capsys):
    with pytest.raises(CommandError, match="superuser"):
        call_command("import_video", str(moving_boxes_clip.path))
    admin = get_user_model().objects.create_superuser("admin", "", "x")
    call_command("import_video", str(moving_boxes_clip.path))
    out = capsys.readouterr().out
    project = Project.objects.get(name=DEMO_PROJECT_NAME)
    video = Video.objects.get(project=project)
    assert f"Imported video {video.pk}" in out and "40 frames, 320x240" in out
    assert video.uploaded_by == admin and video.frame_count == 40 and Path(video.file.path).is_file()
    call_command("import_video", str(moving_boxes_clip.path))  # same file again: not stored twice
    assert "Already imported" in capsys.readouterr().out
    assert Video.objects.filter(project=project).count() == 1

    other = Project.objects.create(name="Other")
    call_command("import_video", str(moving_boxes_clip.path), "--project", str(other.pk), "--name", "Boxes")
    assert Video.objects.get(project=other).name == "Boxes"
    with pytest.raises(CommandError, match="No such file"):
        call_command("import_video", "/nonexistent/video.avi")
    bad = media / "bad.mp4"
    bad.write_bytes(b"not a video at all" * 100)
    with pytest.raises(CommandError, match="bad.mp4 is not a video"):
        call_command("import_video", str(bad), "--project", str(other.pk))
    assert Video.objects.count() == 2
