"""GET /api/videos/{id}/timeline/: per-track run-length summary for the labeling tool's timeline."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from labeling.models import Figure, FigureSource, LabelClass, ShapeKind, Track
from labeling.selectors_timeline import timeline_of_video


pytestmark = pytest.mark.django_db


def make_box_figure(track, frame, **extra):
    box = {"x1": 10.0, "y1": 20.0, "x2": 50.0, "y2": 80.0}
    return Figure.objects.create(track=track, video_id=track.video_id, frame=frame, data=box, **box, **extra)


def _timeline(world, role="viewer", **params):
    response = world.client(role).get(f"/api/videos/{world.a.video.pk}/timeline/", params)
    assert response.status_code == 200, response.content
    return {t["track"]: t for t in response.json()["tracks"]}


def _machine(track, frames, source, confidence=0.9):
    for f in frames:
        make_box_figure(track, f, source=source, confidence=confidence, is_keyframe=False)


def test_runs_by_source_keyframes_outside_and_low_confidence(world):
    track = world.a.track  # has a manual figure on frame 0 (not a keyframe in the fixture)
    Figure.objects.filter(track=track).update(is_keyframe=True)
    _machine(track, range(1, 5), FigureSource.SOT, confidence=0.8)
    _machine(track, [5, 6], FigureSource.SOT, confidence=0.2)  # low
    _machine(track, range(7, 10), FigureSource.DETECTOR, confidence=0.35)  # low under the default 0.4 only
    make_box_figure(track, 10, outside=True, is_keyframe=True)  # left the view: not part of any run
    make_box_figure(track, 20, is_keyframe=True)

    t = _timeline(world)[track.pk]
    assert t["number"] == 1 and t["label"] == world.a.label.pk and t["label_name"] == "person"
    assert t["color"] == world.a.label.color and t["shape"] == "box"
    assert t["first"] == 0 and t["last"] == 20
    assert t["segments"] == [[0, 1, "manual"], [1, 7, "sot"], [7, 10, "detector"], [20, 21, "manual"]]
    assert t["keyframes"] == [0, 10, 20]
    assert t["low_confidence"] == [5, 6, 7, 8, 9]

    # The threshold is a parameter.
    assert _timeline(world, low="0.3")[track.pk]["low_confidence"] == [5, 6]


def test_hole_between_two_keyframes_is_an_interpolated_run(world):
    track = world.a.track
    Figure.objects.filter(track=track).update(is_keyframe=True)  # frame 0
    make_box_figure(track, 30, is_keyframe=True)
    make_box_figure(track, 40, is_keyframe=True)
    make_box_figure(track, 41, is_keyframe=True, outside=True)
    make_box_figure(track, 60, is_keyframe=True)  # after an outside keyframe: no interpolation across
    t = _timeline(world)[track.pk]
    assert t["segments"] == [
        [0, 1, "manual"], [1, 30, "interpolated"], [30, 31, "manual"], [31, 40, "interpolated"], [40, 41, "manual"],
        [60, 61, "manual"],
    ]  # fmt: skip

    # A hole next to a machine figure (not a keyframe) is a hole: the tracker lost the object there.
    other = Track.objects.create(video=world.a.video, label=world.a.label, number=2)
    _machine(other, [0, 1], FigureSource.DETECTOR)
    _machine(other, [5, 6], FigureSource.DETECTOR)
    assert _timeline(world)[other.pk]["segments"] == [[0, 2, "detector"], [5, 7, "detector"]]


def test_masks_do_not_interpolate_and_empty_tracks_have_no_range(world):
    mask_label = LabelClass.objects.create(project=world.a.project, name="blob", shape=ShapeKind.MASK)
    mask = Track.objects.create(video=world.a.video, label=mask_label, number=7)
    make_box_figure(mask, 3, is_keyframe=True)
    make_box_figure(mask, 9, is_keyframe=True)
    empty = Track.objects.create(video=world.a.video, label=world.a.label, number=3)
    timeline = _timeline(world)
    assert timeline[mask.pk]["segments"] == [[3, 4, "manual"], [9, 10, "manual"]]
    e = timeline[empty.pk]
    assert (e["first"], e["last"], e["segments"], e["keyframes"], e["low_confidence"]) == (None, None, [], [], [])
    # Ordered by track number.
    response = world.client("viewer").get(f"/api/videos/{world.a.video.pk}/timeline/")
    assert [t["number"] for t in response.json()["tracks"]] == [1, 3, 7]


def test_a_track_of_another_video_is_not_included(world, make):
    other_video = make.video(world.a.project, name="other.avi")
    other = Track.objects.create(video=other_video, label=world.a.label, number=1)
    make_box_figure(other, 0)
    assert set(_timeline(world)) == {world.a.track.pk}


@pytest.mark.parametrize("role, status", [
    ("owner", 200), ("manager", 200), ("annotator", 200), ("viewer", 200), ("outsider", 404), ("anonymous", 401),
])  # fmt: skip
def test_roles(world, role, status):
    response = world.client(role).get(f"/api/videos/{world.a.video.pk}/timeline/")
    assert response.status_code == status


def test_another_projects_video_is_404_even_for_its_viewer_elsewhere(world):
    response = world.client("viewer").get(f"/api/videos/{world.b.video.pk}/timeline/")
    assert response.status_code == 404
    assert response.json()["detail"]


@pytest.mark.parametrize("low", ["abc", "1.5", "-0.1", "nan"])
def test_bad_threshold_is_a_clear_400(world, low):
    response = world.client("viewer").get(f"/api/videos/{world.a.video.pk}/timeline/", {"low": low})
    assert response.status_code == 400
    assert "between 0 and 1" in response.json()["detail"]


def test_thousands_of_frames_few_queries_and_compact(world, make):
    """5 tracks x 2,000 frames: four queries (tracks, runs, keyframes, low confidence), whatever the length,
    and a few hundred bytes a track."""
    video = make.video(world.a.project, frames=2000, name="long.avi")
    tracks = [Track.objects.create(video=video, label=world.a.label, number=n) for n in range(1, 6)]
    rows = []
    for i, track in enumerate(tracks):
        for f in range(2000):
            source = FigureSource.DETECTOR if (f // 500) % 2 == 0 else FigureSource.SOT
            confidence = 0.1 if f % 400 == i else 0.9
            rows.append(Figure(track=track, video=video, frame=f, x1=1, y1=2, x2=30, y2=40, source=source,
                               confidence=confidence, data={"x1": 1, "y1": 2, "x2": 30, "y2": 40}))  # fmt: skip
    Figure.objects.bulk_create(rows, batch_size=2000)

    with CaptureQueriesContext(connection) as queries:
        summary = timeline_of_video(video.pk)
    assert len(queries) == 4  # tracks; runs; keyframes and outside; low confidence
    assert [t["segments"] for t in summary["tracks"]] == [
        [[0, 500, "detector"], [500, 1000, "sot"], [1000, 1500, "detector"], [1500, 2000, "sot"]]
    ] * 5
    assert summary["tracks"][2]["low_confidence"] == [2, 402, 802, 1202, 1602]

    client = world.client("viewer")
    response = client.get(f"/api/videos/{video.pk}/timeline/")
    assert response.status_code == 200
    assert len(response.content) < 2000  # 10,000 figures summarised in under 2 kB
