"""Import / export through the API: a gt-like MOT file imports as tracks, scores 1.0 against itself,
exports in every format and re-imports identically; every bad row is a 400 naming its line with
nothing stored; roles (viewer exports, annotator imports, strangers get 404)."""

from __future__ import annotations

import io
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command

from labeling.models import DetectionSet, Figure, FigureSource, LabelClass, ShapeKind, Track
from labeling.selectors_exchange import detection_set_file
from tracking.motchallenge import read_mot

pytestmark = pytest.mark.django_db
FORMATS = ["mot", "cvat", "yolo", "coco"]


def gt_text(tracks: int = 4, frames: int = 50) -> bytes:
    """Synthetic MOT15-style ground truth (10 columns, 1-based frames): fractional boxes, one
    ignore row (flag 0), a track with a gap, world columns that Trackroom does not keep."""
    lines = []
    for f in range(1, frames + 1):
        for t in range(1, tracks + 1):
            if t == 2 and 20 <= f < 26:
                continue
            x, y = 12.5 + 40 * t + 1.75 * f, 30 + 7 * t + 0.5 * f
            flag = 0 if (t == 3 and f == 7) else 1
            lines.append(f"{f},{t},{x:.3f},{y:.2f},31.03,75.17,{flag},-4.1554,-7.3591,0")
    return ("\n".join(lines) + "\n").encode()


def upload(name: str, data: bytes) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type="application/octet-stream")


def do_import(api, video, data: bytes, fmt: str = "mot", **extra):
    body = {"file": upload(f"gt.{fmt}", data), "format": fmt, **extra}
    return api.post(f"/api/videos/{video.pk}/import/", body, format="multipart")


def download(api, path: str) -> bytes:
    response = api.get(path)
    assert response.status_code == 200, getattr(response, "content", b"")[:300]
    return b"".join(response.streaming_content)


@pytest.fixture
def clip(world, make):
    """An empty 60-frame 768x576 video in project A (the world's video already has a track 1)."""
    return make.video(world.a.project, frames=60, width=768, height=576, name="pets.avi")


def test_gt_imports_scores_one_and_round_trips_in_every_format(world, make, clip):
    api = world.client("annotator")
    response = do_import(api, clip, gt_text())
    assert response.status_code == 201, response.json()
    assert response.json() == {"tracks": 4, "figures": 4 * 50 - 6, "detection_set": None}
    tracks = Track.objects.filter(video=clip)
    assert sorted(tracks.values_list("number", flat=True)) == [1, 2, 3, 4]
    assert set(tracks.values_list("source", flat=True)) == {FigureSource.IMPORTED}
    assert set(Figure.objects.filter(video=clip).values_list("source", flat=True)) == {FigureSource.IMPORTED}
    assert set(tracks.values_list("label", flat=True)) == {world.a.label.pk}  # the project's first box label

    score = world.client("viewer").post(
        f"/api/videos/{clip.pk}/score/", {"gt": {"source": "imported"}, "pred": {"source": "imported"}}, format="json"
    )
    assert score.status_code == 200, score.json()
    body = score.json()
    assert (body["hota"], body["mota"], body["idf1"], body["id_switches"]) == (1.0, 1.0, 1.0, 0)

    mot = download(world.client("viewer"), f"/api/videos/{clip.pk}/export/?format=mot").decode()
    # columns 1-7 are the file's own (ignore flag kept); class 1 = the first label; visibility 1
    assert mot.splitlines()[0] == "1,1,54.25,37.5,31.03,75.17,1,1,1"
    assert "7,3,144.75,54.5,31.03,75.17,0,1,1" in mot.splitlines()

    for n, fmt in enumerate(FORMATS):
        first = download(api, f"/api/videos/{clip.pk}/export/?format={fmt}")
        other = make.video(world.a.project, frames=60, width=768, height=576, name="pets.avi")  # CVAT/COCO carry the name
        response = do_import(api, other, first, fmt)
        assert response.status_code == 201, (fmt, response.json())
        again = download(api, f"/api/videos/{other.pk}/export/?format={fmt}")
        assert again == first, fmt
        assert download(api, f"/api/videos/{other.pk}/export/?format=mot").decode() == mot, fmt


def test_export_answers_are_downloads(world, clip):
    do_import(world.client("annotator"), clip, gt_text(2, 5))
    api = world.client("viewer")
    expected = {"mot": ("text/plain", ".txt"), "cvat": ("application/xml", ".xml"), "yolo": ("application/zip", ".zip"),
                "coco": ("application/json", ".json")}  # fmt: skip
    for fmt, (content_type, suffix) in expected.items():
        response = api.get(f"/api/videos/{clip.pk}/export/?format={fmt}")
        assert response.status_code == 200 and response.streaming
        assert response["Content-Type"].startswith(content_type)
        assert response["Content-Disposition"] == f'attachment; filename="pets-{fmt}{suffix}"'
    response = api.get(f"/api/videos/{clip.pk}/export/?format=xml")
    assert response.status_code == 400 and "Unknown format 'xml'" in response.json()["detail"]
    assert api.get(f"/api/videos/{clip.pk}/export/").status_code == 400


def test_project_export_is_a_zip_of_every_video(world, clip):
    do_import(world.client("annotator"), clip, gt_text(2, 5))
    for fmt in ("mot", "yolo"):
        data = download(world.client("viewer"), f"/api/projects/{world.a.project.pk}/export/?format={fmt}")
        names = zipfile.ZipFile(io.BytesIO(data)).namelist()
        if fmt == "mot":
            assert names == [f"{world.a.video.pk:05d}-clip/annotations.txt", f"{clip.pk:05d}-pets/annotations.txt"]
        else:
            assert f"{clip.pk:05d}-pets/labels/frame_000004.txt" in names
    assert world.client("outsider").get(f"/api/projects/{world.a.project.pk}/export/?format=mot").status_code == 404


@pytest.mark.parametrize(
    "fmt, data, line, message",
    [
        ("mot", b"1,1,10,10,5,5,1,-1,-1,-1\n2,1,10,10,5,-5,1,-1,-1,-1\n", 2, "width and height must be positive"),
        ("mot", b"1,1,10,10,5,5\n61,1,10,10,5,5\n", 2, "past the end of the video, which has 60 frames"),
        ("mot", b"1,1,10,10,5,5\n1,1,10,10,5,5\n", 2, "track 1 already has a box on frame 1"),
        ("mot", b"1,1,10,10,5,5\n2,1,abc,10,5,5\n", 2, "x is not a number"),
        ("mot", b"1,1,10,10,5,5\n2,1,9000,10,5,5\n", 2, "far outside the 768x576 video"),
        ("mot", b"1,1,10,10,5,5,1,1,1\n2,1,10,10,5,5,1,7,1\n", 2, "class 7 has no label"),
        ("cvat", b'<annotations>\n<track id="1" label="person">\n<box frame="0" xtl="5" ytl="5" xbr="1" ybr="9"/>\n</track>\n</annotations>\n', 3, "x1 < x2"),
        ("cvat", b'<annotations>\n<track id="1" label="dog">\n<box frame="0" xtl="1" ytl="1" xbr="5" ybr="9"/>\n</track>\n</annotations>\n', 3, "no label named 'dog'"),
    ],
)
def test_bad_rows_are_400_with_the_line_and_nothing_is_stored(world, clip, fmt, data, line, message):
    before = (Track.objects.count(), Figure.objects.count(), DetectionSet.objects.count())
    response = do_import(world.client("annotator"), clip, data, fmt)
    assert response.status_code == 400
    body = response.json()
    assert body["detail"].startswith(f"Line {line}: ") and message in body["detail"], body
    assert body["errors"][0]["line"] == line and message in body["errors"][0]["message"]
    assert (Track.objects.count(), Figure.objects.count(), DetectionSet.objects.count()) == before


def test_yolo_and_coco_errors_name_the_file_or_annotation(world, clip):
    api = world.client("annotator")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("classes.txt", "person\n")
        z.writestr("labels/frame_000002.txt", "0 0.5 0.5 0.1 0.1 1\n0 0.5 0.5 0.1 0.1 x\n")
    response = do_import(api, clip, buf.getvalue(), "yolo")
    assert response.status_code == 400
    assert response.json()["detail"].startswith("labels/frame_000002.txt line 2: the track ID is not a number")
    assert response.json()["errors"][0] == {
        "line": 2, "message": "the track ID is not a number: 'x'.", "where": "labels/frame_000002.txt line 2"
    }
    coco = b'{"images": [{"id": 1, "frame_id": 0}], "annotations": [{"id": 9, "image_id": 3, "track_id": 1, "bbox": [1, 2, 3, 4]}]}'
    response = do_import(api, clip, coco, "coco")
    assert response.status_code == 400 and response.json()["detail"].startswith("annotations[0] (id 9): image_id 3")
    assert not Track.objects.filter(video=clip).exists()


def test_every_bad_row_is_listed(world, clip):
    data = b"".join(f"{f},1,10,10,5,0\n".encode() for f in range(1, 4))
    response = do_import(world.client("annotator"), clip, data)
    assert [e["line"] for e in response.json()["errors"]] == [1, 2, 3]
    assert "2 more problems" in response.json()["detail"]


def test_track_numbers_conflict_or_renumber(world):
    api = world.client("annotator")
    video = world.a.video  # already has track 1
    response = do_import(api, video, b"1,1,10,10,5,5\n2,2,10,10,5,5\n")
    assert response.status_code == 400
    assert response.json()["detail"] == (
        "Line 1: track 1 is already used in this video; delete that track first, or import with renumber=true to give "
        "the imported tracks the next free numbers."
    )
    assert Track.objects.filter(video=video).count() == 1
    response = do_import(api, video, b"1,1,10,10,5,5\n2,2,10,10,5,5\n", renumber="true")
    assert response.status_code == 201
    assert sorted(Track.objects.filter(video=video).values_list("number", flat=True)) == [1, 2, 3]


def test_label_param_and_label_by_name(world, clip):
    api = world.client("annotator")
    car = LabelClass.objects.create(project=world.a.project, name="car", shape=ShapeKind.BOX)
    assert do_import(api, clip, b"1,1,10,10,5,5\n", label=str(car.pk)).status_code == 201
    assert Track.objects.get(video=clip, number=1).label == car
    xml = b'<annotations><track id="5" label="spare"><box frame="0" xtl="1" ytl="1" xbr="5" ybr="9" outside="0" keyframe="1"/><box frame="1" xtl="1" ytl="1" xbr="5" ybr="9" outside="1" keyframe="1"/></track></annotations>'
    assert do_import(api, clip, xml, "cvat").status_code == 201
    track = Track.objects.get(video=clip, number=5)
    assert track.label == world.a.spare_label
    assert list(track.figures.order_by("frame").values_list("frame", "outside")) == [(0, False), (1, True)]
    other = LabelClass.objects.get(project=world.b.project, name="person")
    response = do_import(api, clip, b"1,9,10,10,5,5\n", label=str(other.pk))
    assert response.status_code == 400 and "not a label of this project" in response.json()["detail"]


def test_detections_become_a_detection_set(world, clip, django_capture_on_commit_callbacks):
    det = b"1,-1,649.441,231.502,44.417,86.13,0.995474,-1,-1,-1\n2,-1,252.783,207.732,35.813,96.641,0.5,-1,-1,-1\n"
    api = world.client("annotator")
    response = do_import(api, clip, det, **{"as": "detections", "name": "public det"})
    assert response.status_code == 201, response.json()
    set_id = response.json()["detection_set"]
    assert response.json()["tracks"] == 0 and set_id is not None
    detection_set = DetectionSet.objects.get(pk=set_id)
    assert detection_set.rows == 2 and detection_set.name == "public det"
    rows = read_mot(detection_set_file(detection_set))  # what the engine's mot-det: detector reads
    assert rows[0][0].x == pytest.approx(649.441) and rows[1][0].conf == pytest.approx(0.5)
    listed = world.client("viewer").get(f"/api/videos/{clip.pk}/detection-sets/").json()
    assert listed[0]["id"] == set_id and listed[0]["model"] == f"detections:{set_id}"
    assert world.client("outsider").get(f"/api/videos/{clip.pk}/detection-sets/").status_code == 404
    bad = do_import(api, clip, b"1,-1,1,1,5,5,0.9,-1,-1,-1\n1,-1,1,1,-5,5,0.9,-1,-1,-1\n", **{"as": "detections"})
    assert bad.status_code == 400 and bad.json()["detail"].startswith("Line 2:")
    assert DetectionSet.objects.count() == 1
    path = detection_set_file(detection_set)
    assert world.client("viewer").delete(f"/api/videos/{clip.pk}/detection-sets/{set_id}/").status_code == 403
    assert world.client("outsider").delete(f"/api/videos/{clip.pk}/detection-sets/{set_id}/").status_code == 404
    assert path.is_file()
    with django_capture_on_commit_callbacks(execute=True):
        assert api.delete(f"/api/videos/{clip.pk}/detection-sets/{set_id}/").status_code == 204
    assert not DetectionSet.objects.exists() and not path.exists()


@pytest.mark.parametrize("role, code", [("viewer", 403), ("outsider", 404), ("anonymous", 401), ("annotator", 201)])
def test_import_roles(world, clip, role, code):
    response = do_import(world.client(role), clip, b"1,1,10,10,5,5\n")
    assert response.status_code == code
    assert Track.objects.filter(video=clip).exists() == (code == 201)


@pytest.mark.parametrize("role, code", [("viewer", 200), ("outsider", 404), ("anonymous", 401)])
def test_export_roles(world, role, code):
    assert world.client(role).get(f"/api/videos/{world.a.video.pk}/export/?format=mot").status_code == code


def test_management_commands_round_trip(world, make, clip, tmp_path):
    source = tmp_path / "gt.txt"
    source.write_bytes(gt_text(3, 20))
    call_command("import_annotations", str(clip.pk), str(source), "--format", "mot", "--as", "tracks")
    assert Track.objects.filter(video=clip).count() == 3
    out = tmp_path / "out.xml"
    call_command("export_annotations", str(clip.pk), "--format", "cvat", "-o", str(out))
    other = make.video(world.a.project, frames=60, width=768, height=576, name="pets.avi")
    call_command("import_annotations", str(other.pk), str(out), "--format", "cvat")
    again = tmp_path / "again.xml"
    call_command("export_annotations", str(other.pk), "--format", "cvat", "-o", str(again))
    assert again.read_bytes() == out.read_bytes()


@pytest.mark.django_db(transaction=True)
def test_export_streams_through_the_asgi_handler(world, clip):
    """Under daphne the download is an async iterator pulling the database-reading generator piece by
    piece; Django's AsyncClient goes through the same ASGI handler."""
    import asyncio

    from django.test import AsyncClient

    do_import(world.client("annotator"), clip, gt_text(3, 40))
    expected = download(world.client("viewer"), f"/api/videos/{clip.pk}/export/?format=coco")

    async def fetch():
        client = AsyncClient()
        await client.aforce_login(world.users["viewer"])
        response = await client.get(f"/api/videos/{clip.pk}/export/?format=coco")
        assert response.status_code == 200 and response.is_async
        return b"".join([piece async for piece in response.streaming_content])

    assert asyncio.run(fetch()) == expected
