"""Figures: geometry validation, optimistic concurrency, bulk upsert, range reads, machine writes."""

from __future__ import annotations

import pytest

from labeling import selectors
from labeling.models import Figure, FigureSource, LabelClass, ShapeKind, Track
from labeling.services.annotations import rle_bbox, write_machine_figures

pytestmark = pytest.mark.django_db
BOX = {"x1": 10, "y1": 20, "x2": 110, "y2": 220}


def _track(world, shape, skeleton=None):
    label = LabelClass.objects.create(project=world.a.project, name=f"l-{shape}", shape=shape, skeleton=skeleton or {})
    return Track.objects.create(video=world.a.video, label=label, number=50 + Track.objects.count())


# --- geometry -----------------------------------------------------------------------------------


def test_box_figure_bbox_columns_follow_data(world):
    api = world.client("annotator")
    response = api.post("/api/figures/", {"track": world.a.track.pk, "frame": 4, "data": BOX}, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["x1"], body["y1"], body["x2"], body["y2"]) == (10, 20, 110, 220)
    assert body["version"] == 1 and body["source"] == "manual" and body["is_keyframe"] is True
    assert body["created_by"] == world.users["annotator"].pk


@pytest.mark.parametrize(
    "data, message",
    [
        ({"x1": 10, "y1": 20, "x2": 5, "y2": 220}, "x1 < x2"),
        ({"x1": 10, "y1": 20}, "A box needs"),
        ({"x1": "a", "y1": 20, "x2": 30, "y2": 40}, "finite number"),
        ({"x1": 0.1, "y1": 0.1, "x2": 5000, "y2": 0.9}, "far outside the 320x240 video"),
    ],
)
def test_bad_box_is_a_clear_400(world, data, message):
    response = world.client("owner").post(
        "/api/figures/", {"track": world.a.track.pk, "frame": 4, "data": data}, format="json"
    )
    assert response.status_code == 400
    assert message in response.json()["detail"]
    assert not Figure.objects.filter(track=world.a.track, frame=4).exists()


def test_frame_outside_video_and_duplicate_frame(world):
    api = world.client("owner")
    response = api.post("/api/figures/", {"track": world.a.track.pk, "frame": 100, "data": BOX}, format="json")
    assert response.status_code == 400 and "frames 0..99" in response.json()["detail"]
    response = api.post("/api/figures/", {"track": world.a.track.pk, "frame": 0, "data": BOX}, format="json")
    assert response.status_code == 400 and "already has a figure on frame 0" in response.json()["detail"]


def test_client_cannot_claim_a_machine_source(world):
    response = world.client("owner").post(
        "/api/figures/", {"track": world.a.track.pk, "frame": 9, "data": BOX, "source": "detector"}, format="json"
    )
    assert response.status_code == 400 and "for jobs" in response.json()["detail"]


def test_rle_bbox_walks_runs_column_major():
    # 4 rows x 3 cols, column-major. Foreground: col 1 rows 1..2 → bbox x 1..2, y 1..3.
    assert rle_bbox([4, 3], [5, 2, 5]) == (1.0, 1.0, 2.0, 3.0)
    # A run wrapping from the bottom of col 0 into the top of col 1 spans all rows.
    assert rle_bbox([4, 3], [3, 2, 7]) == (0.0, 0.0, 2.0, 4.0)
    assert rle_bbox([4, 3], [12]) is None


def test_mask_figure(world):
    track = _track(world, ShapeKind.MASK)
    h, w = 240, 320
    # Foreground: columns 10..19, rows 30..79 (column-major runs).
    counts, position = [], 0
    for col in range(10, 20):
        start = col * h + 30
        counts += [start - position, 50]
        position = start + 50
    counts.append(h * w - position)
    api = world.client("annotator")
    data = {"rle": {"size": [h, w], "counts": counts}}
    response = api.post("/api/figures/", {"track": track.pk, "frame": 1, "data": data}, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["x1"], body["y1"], body["x2"], body["y2"]) == (10, 30, 20, 80)

    bad_sum = {"rle": {"size": [h, w], "counts": counts[:-1]}}
    response = api.post("/api/figures/", {"track": track.pk, "frame": 2, "data": bad_sum}, format="json")
    assert response.status_code == 400 and "add up to" in response.json()["detail"]
    wrong_size = {"rle": {"size": [10, 10], "counts": [100]}}
    response = api.post("/api/figures/", {"track": track.pk, "frame": 2, "data": wrong_size}, format="json")
    assert response.status_code == 400 and "does not match the video, which is 240x320" in response.json()["detail"]


def test_polygon_figure(world):
    track = _track(world, ShapeKind.POLYGON)
    api = world.client("annotator")
    data = {"points": [[10, 10], [60, 15], [40, 90]]}
    response = api.post("/api/figures/", {"track": track.pk, "frame": 1, "data": data}, format="json")
    assert response.status_code == 201
    assert [response.json()[k] for k in ("x1", "y1", "x2", "y2")] == [10, 10, 60, 90]
    response = api.post(
        "/api/figures/", {"track": track.pk, "frame": 2, "data": {"points": [[1, 1], [5, 5]]}}, format="json"
    )
    assert response.status_code == 400 and "at least 3 points" in response.json()["detail"]


def test_points_figure_follows_the_skeleton(world):
    track = _track(world, ShapeKind.POINTS, {"keypoints": ["head", "left", "right"], "edges": [[0, 1], [0, 2]]})
    api = world.client("annotator")
    data = {"points": [[50, 10, 2], [40, 60, 1], [300, 200, 0]]}
    response = api.post("/api/figures/", {"track": track.pk, "frame": 1, "data": data}, format="json")
    assert response.status_code == 201
    # The absent keypoint (v=0) does not stretch the box.
    assert [response.json()[k] for k in ("x1", "y1", "x2", "y2")] == [40, 10, 50, 60]
    response = api.post(
        "/api/figures/", {"track": track.pk, "frame": 2, "data": {"points": [[1, 1, 2]]}}, format="json"
    )
    assert response.status_code == 400 and "has 3 keypoints" in response.json()["detail"]
    bad_v = {"points": [[50, 10, 2], [40, 60, 3], [1, 1, 0]]}
    response = api.post("/api/figures/", {"track": track.pk, "frame": 2, "data": bad_v}, format="json")
    assert response.status_code == 400 and "Point 1 visibility" in response.json()["detail"]


# --- optimistic concurrency ---------------------------------------------------------------------------


def test_stale_version_gets_409_with_the_current_figure(world):
    figure = world.a.figure
    alice, bob = world.client("annotator"), world.client("manager")
    moved = {"x1": 30, "y1": 40, "x2": 90, "y2": 140}
    first = alice.patch(f"/api/figures/{figure.pk}/", {"version": 1, "data": moved}, format="json")
    assert first.status_code == 200 and first.json()["version"] == 2
    # Bob still holds version 1: his edit must not silently overwrite Alice's.
    second = bob.patch(f"/api/figures/{figure.pk}/", {"version": 1, "data": BOX}, format="json")
    assert second.status_code == 409
    body = second.json()
    assert "someone else changed this figure" in body["detail"].lower()
    assert body["current"]["version"] == 2 and body["current"]["data"]["x1"] == 30
    figure.refresh_from_db()
    assert (figure.x1, figure.version, figure.updated_by_id) == (30, 2, world.users["annotator"].pk)
    # With the current version Bob's change goes through.
    third = bob.patch(f"/api/figures/{figure.pk}/", {"version": 2, "outside": True}, format="json")
    assert third.status_code == 200 and third.json()["outside"] is True and third.json()["version"] == 3


def test_update_without_version_is_refused(world):
    response = world.client("owner").patch(f"/api/figures/{world.a.figure.pk}/", {"data": BOX}, format="json")
    assert response.status_code == 400 and "version" in response.json()["detail"]


def test_human_edit_of_machine_figure_makes_it_manual(world):
    figure = world.a.figure
    Figure.objects.filter(pk=figure.pk).update(source=FigureSource.DETECTOR, is_keyframe=False)
    response = world.client("owner").patch(f"/api/figures/{figure.pk}/", {"version": 1, "data": BOX}, format="json")
    assert response.json()["source"] == "manual"


def test_delete_with_stale_version_conflicts(world):
    figure = world.a.figure
    Figure.objects.filter(pk=figure.pk).update(version=5)
    api = world.client("owner")
    response = api.delete(f"/api/figures/{figure.pk}/?version=4")
    assert response.status_code == 409 and response.json()["current"]["version"] == 5
    assert api.delete(f"/api/figures/{figure.pk}/?version=5").status_code == 204
    assert not Figure.objects.filter(pk=figure.pk).exists()


# --- bulk upsert ------------------------------------------------------------------------------------


def _bulk(world, items, role="annotator", video=None):
    video = video or world.a.video
    return world.client(role).post(f"/api/videos/{video.pk}/figures/bulk/", {"figures": items}, format="json")


def test_bulk_creates_and_updates_in_one_go(world):
    track = world.a.track
    items = [{"track": track.pk, "frame": f, "data": BOX} for f in range(1, 40)]
    items.append({"track": track.pk, "frame": 0, "version": 1, "data": {"x1": 1, "y1": 2, "x2": 3, "y2": 4}})
    response = _bulk(world, items)
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["created"], body["updated"]) == (39, 1)
    assert [f["frame"] for f in body["figures"]] == list(range(40))
    assert all(f["id"] for f in body["figures"])
    assert Figure.objects.filter(track=track).count() == 40
    world.a.figure.refresh_from_db()
    assert (world.a.figure.x2, world.a.figure.version) == (3, 2)


def test_bulk_bad_items_are_named_by_index_and_nothing_is_written(world):
    track = world.a.track
    items = [
        {"track": track.pk, "frame": 1, "data": BOX},
        {"track": track.pk, "frame": 2, "data": {"x1": 5, "y1": 5, "x2": 1, "y2": 9}},  # x2 < x1
        {"track": track.pk, "frame": 3, "data": BOX},
        {"track": world.b.track.pk, "frame": 4, "data": BOX},  # another project's track
        {"track": track.pk, "frame": 1, "data": BOX},  # same (track, frame) twice
    ]
    response = _bulk(world, items)
    assert response.status_code == 400
    body = response.json()
    assert [e["index"] for e in body["errors"]] == [1, 3, 4]
    assert "x1 < x2" in body["errors"][0]["detail"]
    assert "not a track of this video" in body["errors"][1]["detail"]
    assert "also item 0" in body["errors"][2]["detail"]
    assert "nothing was saved" in body["detail"] and "item 1" in body["detail"]
    assert Figure.objects.filter(track=track).count() == 1


def test_bulk_stale_versions_conflict_and_nothing_is_written(world, make):
    track = world.a.track
    second = make.box(track, 1)
    Figure.objects.filter(pk=second.pk).update(version=3)
    items = [
        {"track": track.pk, "frame": 0, "version": 1, "data": BOX},  # fine
        {"track": track.pk, "frame": 1, "version": 2, "data": BOX},  # stale (it is at 3)
        {"track": track.pk, "frame": 5, "data": BOX},  # new, fine
        {"track": track.pk, "frame": 0 + 6, "version": 1, "data": BOX},  # edits a figure that no longer exists
    ]
    response = _bulk(world, items)
    assert response.status_code == 409
    body = response.json()
    assert [c["index"] for c in body["conflicts"]] == [1, 3]
    assert body["conflicts"][0]["current"]["version"] == 3 and body["conflicts"][0]["your_version"] == 2
    assert body["conflicts"][1]["current"] is None
    assert Figure.objects.filter(track=track).count() == 2
    assert Figure.objects.get(pk=world.a.figure.pk).version == 1  # the valid item was not applied either


def test_bulk_existing_figure_without_version_conflicts(world):
    response = _bulk(world, [{"track": world.a.track.pk, "frame": 0, "data": BOX}])
    assert response.status_code == 409 and response.json()["conflicts"][0]["index"] == 0


def test_bulk_empty_or_malformed_body(world):
    api = world.client("owner")
    url = f"/api/videos/{world.a.video.pk}/figures/bulk/"
    assert api.post(url, {"figures": []}, format="json").status_code == 400
    response = api.post(url, {"nope": 1}, format="json")
    assert response.status_code == 400 and "figures" in response.json()["detail"]


# --- range read --------------------------------------------------------------------------------------


def _range(world, query, role="viewer", video=None):
    video = video or world.a.video
    return world.client(role).get(f"/api/videos/{video.pk}/figures/{query}")


def test_range_read_returns_exactly_the_window(world, make):
    second = Track.objects.create(video=world.a.video, label=world.a.label, number=2)
    for frame in range(1, 100):
        make.box(world.a.track, frame, x1=frame, x2=frame + 10)
    for frame in range(20, 30):
        make.box(second, frame, confidence=0.5, source=FigureSource.DETECTOR, is_keyframe=False)
    make.box(world.b.track, 25)  # another video: never in the answer

    response = _range(world, "?frames=10..29")
    assert response.status_code == 200 and response["Content-Type"] == "application/json"
    body = response.json()
    assert (body["video"], body["first"], body["last"]) == (world.a.video.pk, 10, 29)
    got = [(f["frame"], f["track"]) for f in body["figures"]]
    expected = sorted([(f, world.a.track.pk) for f in range(10, 30)] + [(f, second.pk) for f in range(20, 30)])
    assert sorted(got) == expected
    assert [f["frame"] for f in body["figures"]] == sorted(f["frame"] for f in body["figures"])
    one = next(f for f in body["figures"] if f["frame"] == 12 and f["track"] == world.a.track.pk)
    stored = Figure.objects.get(track=world.a.track, frame=12)
    assert one == {
        "id": stored.pk, "track": world.a.track.pk, "frame": 12, "is_keyframe": False, "outside": False,
        "source": "manual", "confidence": None, "version": 1, "data": {"x1": 12.0, "y1": 20.0, "x2": 22.0, "y2": 80.0},
    }  # fmt: skip
    assert body["figures"] == selectors.figures_in_range(world.a.video, 10, 29)
    machine = next(f for f in body["figures"] if f["track"] == second.pk)
    assert machine["confidence"] == 0.5 and machine["source"] == "detector" and machine["is_keyframe"] is False

    only_second = _range(world, f"?frames=0..99&tracks={second.pk}").json()["figures"]
    assert {f["track"] for f in only_second} == {second.pk} and len(only_second) == 10
    assert _range(world, "?frames=50..50").json()["figures"][0]["frame"] == 50


@pytest.mark.parametrize(
    "query, message",
    [
        ("", "?frames=FIRST..LAST"),
        ("?frames=abc", "is not a range"),
        ("?frames=5-9", "is not a range"),
        ("?frames=-1..5", "is not a range"),
        ("?frames=20..10", "backwards"),
        ("?frames=0..100", "frames 0..99"),
        ("?frames=0..9&tracks=a,b", "track ids"),
    ],
)
def test_bad_ranges_are_clear_400s(world, query, message):
    response = _range(world, query)
    assert response.status_code == 400
    assert message in response.json()["detail"]


def test_range_window_limit(world, make):
    video = make.video(world.a.project, frames=20_000, name="long.avi")
    response = _range(world, "?frames=0..10000", video=video)
    assert response.status_code == 400 and "at most 10000" in response.json()["detail"]
    assert _range(world, "?frames=0..9999", video=video).status_code == 200


# --- machine writes ------------------------------------------------------------------------------------


def test_machine_figures_never_overwrite_manual_ones(world, make):
    track = world.a.track  # frame 0: manual (the world's figure)
    make.box(track, 1, source=FigureSource.IMPORTED, is_keyframe=False)
    make.box(track, 2, source=FigureSource.DETECTOR, is_keyframe=True)  # a person confirmed it
    old = make.box(track, 3, source=FigureSource.DETECTOR, is_keyframe=False)
    machine_box = {"x1": 100.0, "y1": 100.0, "x2": 150.0, "y2": 200.0}
    result = write_machine_figures(
        track,
        [{"frame": f, "data": machine_box, "confidence": 0.9} for f in range(0, 6)],
        FigureSource.SOT,
        job=world.a.job,
    )
    assert (result.created, result.updated, result.skipped) == (2, 1, 3)
    rows = {f.frame: f for f in Figure.objects.filter(track=track)}
    for frame in (0, 1, 2):
        assert rows[frame].x1 == 10.0, frame  # untouched
    for frame in (3, 4, 5):
        assert (rows[frame].x1, rows[frame].source, rows[frame].job_id) == (100.0, "sot", world.a.job.pk)
        assert rows[frame].is_keyframe is False and rows[frame].confidence == 0.9
    assert rows[3].pk == old.pk and rows[3].version == 2  # replaced in place, version bumped


def test_machine_figures_need_a_machine_source(world):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError, match="not a machine source"):
        write_machine_figures(world.a.track, [{"frame": 1, "data": BOX}], FigureSource.MANUAL)


def test_range_read_embeds_every_geometry_kind_as_json(world):
    polygon = _track(world, ShapeKind.POLYGON)
    points = _track(world, ShapeKind.POINTS, {"keypoints": ["a", "b"], "edges": [[0, 1]]})
    api = world.client("annotator")
    shapes = {
        polygon.pk: {"points": [[1.5, 2.0], [30.0, 4.0], [12.25, 40.0]]},
        points.pk: {"points": [[5.0, 6.0, 2], [7.0, 8.0, 0]]},
    }
    for track_id, data in shapes.items():
        response = api.post("/api/figures/", {"track": track_id, "frame": 7, "data": data}, format="json")
        assert response.status_code == 201
    figures = _range(world, f"?frames=7..7&tracks={polygon.pk},{points.pk}").json()["figures"]
    assert {f["track"]: f["data"] for f in figures} == shapes
    assert all(f["is_keyframe"] is True and f["source"] == "manual" for f in figures)
