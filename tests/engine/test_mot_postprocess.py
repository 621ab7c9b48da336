"""Offline post-processing of tracks (tracking.postprocess)."""

from __future__ import annotations

import numpy as np

from tracking.motchallenge import MotRow
from tracking.postprocess import (
    PostprocessConfig,
    drop_short_tracks,
    interpolate_gaps,
    postprocess_rows,
    postprocess_tracks,
    stitch_tracklets,
)
from tracking.types import TrackedObject


def walker(track_id: int, frames, x0=10.0, y0=50.0, vx=12.0, vy=2.0, w=30.0, h=80.0):
    """{frame: [TrackedObject]} of one box moving at constant velocity."""
    out = {}
    for f in frames:
        x, y = x0 + vx * f, y0 + vy * f
        out[f] = [TrackedObject(track_id, np.array([x, y, x + w, y + h], np.float32), 0.9, 0, det_index=0)]
    return out


def merge(*parts):
    out: dict[int, list[TrackedObject]] = {}
    for part in parts:
        for f, objs in part.items():
            out.setdefault(f, []).extend(objs)
    return out


def ids_per_frame(tracks):
    return {f: sorted(o.track_id for o in objs) for f, objs in tracks.items()}


def test_interpolates_short_gaps_linearly_and_leaves_long_ones():
    tracks = walker(1, [0, 1, 2, 3, 4, 8, 9, 10, 30, 31])
    out = interpolate_gaps(tracks, max_gap=5)
    for f in (5, 6, 7):
        (obj,) = out[f]
        assert obj.track_id == 1 and obj.det_index == -1
        expected = walker(1, [f])[f][0].xyxy
        np.testing.assert_allclose(obj.xyxy, expected, atol=1e-3)
    assert all(f not in out for f in range(11, 30))  # 19 missing frames > max_gap


def test_drops_short_tracks_counting_real_detections_only():
    tracks = merge(walker(1, range(10)), walker(2, [3, 4], y0=300))
    out = drop_short_tracks(tracks, min_length=3)
    assert {o.track_id for objs in out.values() for o in objs} == {1}
    # interpolated boxes do not make a track long
    sparse = interpolate_gaps(walker(3, [0, 6]), max_gap=10)
    assert len(sparse) == 7
    assert drop_short_tracks(sparse, min_length=3) == {}


def test_stitches_a_track_broken_by_an_occlusion_along_its_motion():
    first = walker(1, range(0, 12))
    second = walker(7, range(16, 30))  # same walker after a 4-frame gap, new ID
    stranger = walker(9, range(15, 30), x0=600.0, vx=-12.0)  # starts soon after, elsewhere, other way
    out = stitch_tracklets(merge(first, second, stranger), max_gap=10)
    assert {o.track_id for o in out[20]} == {1, 9}
    for f in range(16, 30):
        walker_now = min(out[f], key=lambda o: abs(o.xyxy[0] - (10 + 12 * f)))
        assert walker_now.track_id == 1
    # a gap longer than max_gap stays split
    out = stitch_tracklets(merge(first, second), max_gap=3)
    assert {o.track_id for o in out[20]} == {7}


def test_does_not_stitch_against_the_motion():
    first = walker(1, range(0, 12))  # moving right
    back = walker(2, range(14, 25), x0=10 + 12 * 11 + 2 * 12 * 14, vx=-12.0)  # appears ahead, walks back
    out = stitch_tracklets(merge(first, back), max_gap=10)
    assert {o.track_id for o in out[20]} == {2}


def test_postprocess_pipeline_on_rows_and_time_based_config():
    rows = {}
    for f in list(range(0, 10)) + list(range(13, 25)):  # a 3-frame gap at 7 fps
        rows[f] = [MotRow(f, 5, 10.0 + 12 * f, 50.0, 30.0, 80.0, 0.9)]
    rows[3].append(MotRow(3, 6, 500.0, 400.0, 20.0, 50.0, 0.6))  # a one-frame false track
    out = postprocess_rows(rows, fps=7.0)
    assert sorted(out) == list(range(0, 25))  # gap filled
    assert all([r.track_id for r in out[f]] == [5] for f in out)  # short track dropped
    np.testing.assert_allclose(out[11][0].x, 10.0 + 12 * 11, atol=1e-3)
    # nothing enabled: unchanged
    off = PostprocessConfig(stitch=False, interpolate=False, min_track_s=0)
    tracks = merge(walker(1, [0, 5]))
    assert ids_per_frame(postprocess_tracks(tracks, 7.0, off)) == ids_per_frame(tracks)
