"""Quality tools: scoring tracks against ground truth (TrackEval numbers, per-track table, ID switches),
drift flags on machine-made figures, and merge suggestions (geometry, plus appearance when the
ImageNet model and the video can be read)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile

from labeling.models import Figure, FigureSource, Track

pytestmark = pytest.mark.django_db


def add_track(world, number, boxes: dict, source=FigureSource.DETECTOR, conf=None, user=None, video=None):
    """boxes: {frame: (x1, y1, x2, y2)}; conf: {frame: confidence} (default 0.9 for machine figures)."""
    video = video or world.a.video
    track = Track.objects.create(video=video, label=world.a.label, number=number, source=source, created_by=user)
    Figure.objects.bulk_create(
        Figure(
            track=track, video=video, frame=f, x1=b[0], y1=b[1], x2=b[2], y2=b[3],
            data={"x1": b[0], "y1": b[1], "x2": b[2], "y2": b[3]}, source=source,
            confidence=(conf or {}).get(f, 0.9 if source in FigureSource.machine() else None),
        )
        for f, b in boxes.items()
    )  # fmt: skip
    return track


def walker(x0, y0, vx, frames, w=30, h=60):
    return {f: (x0 + vx * f, y0, x0 + vx * f + w, y0 + h) for f in frames}


@pytest.fixture
def scene(world):
    """Two ground-truth people over 30 frames; the tracker follows person 1 with two IDs (a switch at
    frame 15) and person 2 with one."""
    Figure.objects.filter(video=world.a.video).delete()
    Track.objects.filter(video=world.a.video).delete()
    g1 = add_track(world, 1, walker(10, 20, 3, range(30)), source=FigureSource.IMPORTED)
    g2 = add_track(world, 2, walker(200, 120, -2, range(30)), source=FigureSource.IMPORTED)
    p1 = add_track(world, 11, walker(11, 21, 3, range(15)))
    p2 = add_track(world, 12, walker(11, 21, 3, range(15, 30)))
    p3 = add_track(world, 13, walker(201, 119, -2, range(30)))
    return {"g1": g1, "g2": g2, "p1": p1, "p2": p2, "p3": p3}


def score(world, body, role="viewer", **kw):
    return world.client(role).post(f"/api/videos/{world.a.video.pk}/score/", body, **kw)


def test_score_against_gt_with_per_track_table_and_switches(world, scene):
    response = score(world, {"gt": {"source": "imported"}}, format="json")  # pred: every other track
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["id_switches"] == 1 and body["gt_tracks"] == 2 and body["pred_tracks"] == 3
    assert body["mota"] == pytest.approx(1 - 1 / 60, abs=1e-6)  # no misses, no false positives, one switch
    assert 0.6 < body["idf1"] < 1 and 0.6 < body["hota"] < 1
    assert body["switches"] == [
        {"frame": 15, "track": scene["p2"].pk, "gt_track": scene["g1"].pk, "previous_track": scene["p1"].pk}
    ]
    rows = {r["track"]: r for r in body["per_track"]}
    assert rows[scene["p3"].pk] | {} == rows[scene["p3"].pk] and rows[scene["p3"].pk]["idf1"] == 1.0
    assert rows[scene["p3"].pk]["gt_track"] == scene["g2"].pk and rows[scene["p3"].pk]["number"] == 13
    assert rows[scene["p1"].pk]["matched"] == 15 and rows[scene["p2"].pk]["matched"] == 15
    assert sorted([rows[scene["p1"].pk]["idf1"], rows[scene["p2"].pk]["idf1"]]) == [0.0, pytest.approx(2 * 15 / 45, abs=1e-4)]


def test_score_selections_and_gt_file(world, scene):
    by_tracks = score(world, {"gt": {"tracks": [scene["g1"].pk, scene["g2"].pk]},
                              "pred": {"tracks": [scene["p1"].pk, scene["p2"].pk, scene["p3"].pk]}}, format="json")  # fmt: skip
    assert by_tracks.status_code == 200
    lines = [
        f"{f.frame + 1},{f.track.number},{f.x1},{f.y1},{f.x2 - f.x1},{f.y2 - f.y1},1,-1,-1,-1"
        for f in Figure.objects.filter(track__source=FigureSource.IMPORTED).select_related("track")
    ]
    gt_file = SimpleUploadedFile("gt.txt", ("\n".join(lines) + "\n").encode())
    pred = '{"tracks": [%d, %d, %d]}' % (scene["p1"].pk, scene["p2"].pk, scene["p3"].pk)
    by_file = score(world, {"gt_file": gt_file, "pred": pred}, format="multipart")
    assert by_file.status_code == 200, by_file.json()
    for key in ("hota", "mota", "idf1", "id_switches"):
        assert by_file.json()[key] == by_tracks.json()[key]
    assert by_file.json()["switches"][0]["gt_track"] == 1  # the file's own track ID
    Track.objects.filter(pk=scene["g2"].pk).update(created_by=world.users["manager"])
    by_user = score(world, {"gt": {"created_by": world.users["manager"].pk}, "pred": {"tracks": [scene["p3"].pk]}}, format="json")
    assert by_user.status_code == 200 and by_user.json()["gt_tracks"] == 1
    assert by_user.json()["idf1"] == 1.0 and by_user.json()["mota"] == 1.0


@pytest.mark.parametrize(
    "body, message",
    [
        ({"gt": {"source": "manual"}}, "The ground truth you picked has no figures"),
        ({"gt": {"colour": "red"}}, "'gt' must be"),
        ({"gt": {"source": "robot"}}, "Unknown source 'robot'"),
        ({}, "Say what the ground truth is"),
        ({"gt": {"source": "imported"}, "pred": {"tracks": []}}, "The tracks to score have no figures"),
    ],
)
def test_score_errors(world, scene, body, message):
    response = score(world, body, format="json")
    assert response.status_code == 400 and message in response.json()["detail"]


def test_score_bad_gt_file_names_the_line(world, scene):
    gt_file = SimpleUploadedFile("gt.txt", b"1,1,10,10,5,5\n2,1,10,10,5\n")
    response = score(world, {"gt_file": gt_file}, format="multipart")
    assert response.status_code == 400 and response.json()["detail"].startswith("Line 2: expected 6 to 10")


def test_score_roles(world, scene):
    assert score(world, {"gt": {"source": "imported"}}, role="outsider", format="json").status_code == 404
    assert score(world, {"gt": {"source": "imported"}}, role="anonymous", format="json").status_code == 401


def test_drift_flags_confidence_drops_and_jumps(world):
    boxes = walker(10, 20, 3, range(30))
    for f in range(15, 30):  # from frame 15 the box sits on something else, 120 px to the right
        x1, y1, x2, y2 = boxes[f]
        boxes[f] = (x1 + 120, y1, x2 + 120, y2)
    conf = {f: 0.9 for f in range(30)} | {10: 0.2, 11: 0.25, 22: 0.4}
    machine = add_track(world, 7, boxes, source=FigureSource.SOT, conf=conf)
    add_track(world, 8, boxes, source=FigureSource.MANUAL)  # people's figures are never flagged
    api = world.client("viewer")
    flags = api.get(f"/api/videos/{world.a.video.pk}/drift/").json()
    assert [(f["track"], f["frame"], f["reason"]) for f in flags] == [
        (machine.pk, 10, "low_confidence"), (machine.pk, 15, "jump"), (machine.pk, 22, "low_confidence"),
    ]  # fmt: skip
    assert flags[0]["value"] == 0.2 and flags[1]["value"] > 2
    nxt = api.get(f"/api/videos/{world.a.video.pk}/drift/?track={machine.pk}&after=10&limit=1").json()
    assert [(f["frame"], f["reason"]) for f in nxt] == [(15, "jump")]
    assert api.get(f"/api/videos/{world.a.video.pk}/drift/?after=22").json() == []
    assert api.get(f"/api/videos/{world.a.video.pk}/drift/?track={world.b.track.pk}").status_code == 400
    assert api.get(f"/api/videos/{world.a.video.pk}/drift/?after=x").status_code == 400
    assert world.client("outsider").get(f"/api/videos/{world.a.video.pk}/drift/").status_code == 404


def test_merge_suggestions_by_time_and_place(world):
    Track.objects.filter(video=world.a.video).delete()
    a = add_track(world, 21, walker(10, 20, 3, range(0, 20)))
    b = add_track(world, 22, walker(10, 20, 3, range(24, 40)))  # where a was heading, 4 frames later
    add_track(world, 23, walker(250, 150, 0, range(24, 40)))  # starts far away
    add_track(world, 24, walker(10, 20, 3, range(80, 90)))  # too late (> 3 s at 10 fps)
    response = world.client("viewer").get(f"/api/videos/{world.a.video.pk}/merge-suggestions/?appearance=0")
    assert response.status_code == 200
    suggestions = response.json()
    assert [(s["a"], s["b"], s["gap"]) for s in suggestions] == [(a.pk, b.pk, 5)]
    assert suggestions[0]["distance"] == 0.0 and suggestions[0]["appearance"] is None and 0.5 < suggestions[0]["score"] <= 1
    # the world's video has no real file: with appearance asked for, it is simply left out
    again = world.client("viewer").get(f"/api/videos/{world.a.video.pk}/merge-suggestions/").json()
    assert [(s["a"], s["b"], s["appearance"]) for s in again] == [(a.pk, b.pk, None)]
    assert world.client("outsider").get(f"/api/videos/{world.a.video.pk}/merge-suggestions/").status_code == 404


def test_merge_suggestions_compare_appearance_on_real_frames(world, make, moving_boxes_clip):
    target = Path(settings.MEDIA_ROOT) / "videos" / "exchange-test" / "boxes.avi"
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(moving_boxes_clip.path, target)
    clip = moving_boxes_clip
    video = make.video(world.a.project, frames=clip.frame_count, width=clip.width, height=clip.height, name="boxes.avi")
    video.file.name = "videos/exchange-test/boxes.avi"
    video.save()
    gt = {oid: {f: b[1:] for f in clip.gt for b in clip.gt[f] if b[0] == oid} for oid in (1, 2)}
    first = add_track(world, 1, {f: b for f, b in gt[1].items() if f < 15}, video=video)
    second = add_track(world, 2, {f: b for f, b in gt[1].items() if f >= 18}, video=video)
    response = world.client("viewer").get(f"/api/videos/{video.pk}/merge-suggestions/")
    assert response.status_code == 200
    top = response.json()[0]
    assert (top["a"], top["b"], top["gap"]) == (first.pk, second.pk, 4)
    assert top["appearance"] is not None and top["appearance"] > 0.8  # the same textured box
    target.unlink()
