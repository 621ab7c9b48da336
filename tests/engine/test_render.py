"""Rendering tracks into a browser-playable WebM."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from tracking.errors import Cancelled
from tracking.render import RenderError, count_frames, iter_render_tracks, render_tracks, track_colour
from tracking.types import CancelToken, FrameResult, TrackedObject
from tracking.video import open_video


def gt_tracks(clip, with_mask_for: int | None = None) -> dict[int, list[TrackedObject]]:
    tracks = {}
    for f, boxes in clip.gt.items():
        objs = []
        for oid, x1, y1, x2, y2 in boxes:
            mask = None
            if oid == with_mask_for:
                mask = np.zeros((clip.height, clip.width), bool)
                mask[int(y1) : int(y2), int(x1) : int(x2)] = True
            objs.append(TrackedObject(track_id=oid, xyxy=np.array([x1, y1, x2, y2], np.float32), conf=1.0, cls=0, mask=mask))
        tracks[f] = objs
    return tracks


def colour_pixels(frame: np.ndarray, colour, tol: int = 40) -> int:
    return int((np.abs(frame.astype(int) - np.array(colour)).max(axis=2) < tol).sum())


def test_colours_are_deterministic_and_distinct():
    assert track_colour(3) == track_colour(3)
    colours = [track_colour(i) for i in range(1, 9)]
    assert len(set(colours)) == 8
    # neighbouring IDs are far apart in colour
    assert all(np.abs(np.subtract(a, b)).max() > 60 for a, b in zip(colours, colours[1:]))


@pytest.mark.parametrize("encoder,expected", [("pyav", "pyav-vp9"), ("opencv", "opencv-VP80")])
def test_render_writes_playable_webm(moving_boxes_clip, tmp_path, encoder, expected):
    out = tmp_path / "out.webm"
    with open_video(moving_boxes_clip.path) as src:
        result = render_tracks(src, gt_tracks(moving_boxes_clip), out, trail=10, encoder=encoder)
        original = src.read(20)
    assert result.encoder == expected and result.frames == 40
    assert count_frames(out) == (40, 320, 240)
    assert out.read_bytes()[:4] == b"\x1a\x45\xdf\xa3"  # EBML header: a Matroska/WebM file
    cap = cv2.VideoCapture(str(out))
    for _ in range(20):
        cap.read()
    ok, frame = cap.read()
    cap.release()
    assert ok
    colour = track_colour(2)
    # the box outline and ID label of track 2 appear in its colour; the source frame has none of it
    assert colour_pixels(frame, colour) > 60
    assert colour_pixels(original, colour) < 10
    assert not list(tmp_path.glob(".*partial*"))


def test_render_accepts_frame_results_with_masks_and_keypoints(moving_boxes_clip, tmp_path):
    kp = np.array([[60 + 3 * i, 60 + 4 * i, 0.9] for i in range(17)], np.float32)
    results = []
    for f, objs in gt_tracks(moving_boxes_clip, with_mask_for=1).items():
        if f < 10:
            objs.append(TrackedObject(7, np.array([60, 60, 110, 130], np.float32), 0.8, 0, keypoints=kp))
            results.append(FrameResult(frame_index=f, objects=objs))
    out = tmp_path / "masks.webm"
    with open_video(moving_boxes_clip.path) as src:
        result = render_tracks(src, results, out, stop=10, fps=5)
        original = src.read(5)
    assert result.frames == 10 and result.fps == 5
    cap = cv2.VideoCapture(str(out))
    for _ in range(5):
        cap.read()
    ok, frame = cap.read()
    assert ok
    # inside object 1's mask the picture is tinted towards track 1's colour
    x1, y1, x2, y2 = (int(v) for v in moving_boxes_clip.gt[5][0][1:])
    inner = (slice(y1 + 8, y2 - 8), slice(x1 + 8, x2 - 8))
    target = np.array(track_colour(1), float)
    before = np.abs(original[inner].reshape(-1, 3).mean(0) - target).sum()
    after = np.abs(frame[inner].reshape(-1, 3).mean(0) - target).sum()
    assert after < 0.75 * before
    assert colour_pixels(frame, track_colour(7)) > 30  # skeleton lines and points


def test_render_cancel_leaves_no_file(moving_boxes_clip, tmp_path):
    out = tmp_path / "cancelled.webm"
    token = CancelToken()
    progress = []
    with open_video(moving_boxes_clip.path) as src:
        for done, total in iter_render_tracks(src, gt_tracks(moving_boxes_clip), out, cancel=token):
            progress.append((done, total))
            if done == 5:
                token.cancel()
        assert progress == [(i, 40) for i in range(1, 6)]
        with pytest.raises(Cancelled):
            render_tracks(src, {}, out, cancel=token)
    assert not out.exists() and not list(tmp_path.iterdir())


def test_render_rejects_bad_output(moving_boxes_clip, tmp_path):
    with open_video(moving_boxes_clip.path) as src:
        with pytest.raises(RenderError, match=".webm"):
            render_tracks(src, {}, tmp_path / "out.mp4")
        with pytest.raises(RenderError, match="does not exist"):
            render_tracks(src, {}, tmp_path / "missing" / "out.webm")
