"""track_video: ordered per-frame results with progress, masks/keypoints carried to tracks, errors from
any stage reaching the consumer, and cancel/close stopping every stage thread (no hangs)."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from tracking.detectors import PublicDetections
from tracking.errors import Cancelled
from tracking.mot import create_tracker
from tracking.pipeline import track_video
from tracking.types import CancelToken, Detections, FrameResult


def _stage_threads() -> list[threading.Thread]:
    names = {"trackroom-decode", "trackroom-detect", "trackroom-associate"}
    return [t for t in threading.enumerate() if t.name in names and t.is_alive()]


def _wait_no_stage_threads(timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while _stage_threads() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert _stage_threads() == []


class GroundTruthDetector:
    """A detector reading the synthetic clip's exact boxes; checks it gets the decoded frame it asks for."""

    task, device, names = "pose", "cpu", {0: "box"}

    def __init__(self, clip, delay: float = 0.0, fail_at: int | None = None):
        self.clip, self.delay, self.fail_at = clip, delay, fail_at
        self.calls: list[list[int]] = []

    def __call__(self, frames, indices):
        self.calls.append(list(indices))
        if self.delay:
            time.sleep(self.delay)
        out = []
        for frame, index in zip(frames, indices):
            if index == self.fail_at:
                raise ValueError(f"detector exploded on frame {index}")
            assert frame.shape == (self.clip.height, self.clip.width, 3)
            assert abs(int(frame[:8, :8].mean()) - (index * 5) % 256) <= 6  # the frame code drawn in the clip
            boxes = np.array([b[1:] for b in self.clip.gt[index]], np.float32)
            masks = []
            for x1, y1, x2, y2 in boxes.astype(int):
                m = np.zeros((self.clip.height, self.clip.width), bool)
                m[y1:y2, x1:x2] = True
                masks.append(m)
            kps = np.stack([np.tile([[x1, y1, 1.0]], (17, 1)) for x1, y1, _, _ in boxes]).astype(np.float32)
            out.append(Detections(boxes, np.full(len(boxes), 0.9, np.float32), np.zeros(len(boxes), np.int32), masks, kps))
        return out


def test_tracks_every_frame_in_order_with_progress_and_masks(moving_boxes_clip):
    clip = moving_boxes_clip
    detector = GroundTruthDetector(clip)
    results = list(track_video(clip.path, detector, create_tracker("bytetrack"), start=5, stop=33, batch=4))
    assert [r.frame_index for r in results] == list(range(5, 33))
    assert all(isinstance(r, FrameResult) for r in results)
    assert [r.done for r in results] == list(range(1, 29)) and {r.total for r in results} == {28}
    assert results[-1].progress == 1.0
    assert max(len(c) for c in detector.calls) == 4  # batched
    ids_per_object: dict[int, set[int]] = {1: set(), 2: set()}
    for r in results[3:]:  # after the tracker has confirmed both
        assert len(r.objects) == 2
        for obj in r.objects:
            gt = clip.gt[r.frame_index][obj.det_index]
            np.testing.assert_allclose(obj.xyxy, gt[1:], atol=3)
            ids_per_object[gt[0]].add(obj.track_id)
            # the detection's mask and keypoints travel with the track
            x1, y1, x2, y2 = (int(v) for v in gt[1:])
            assert obj.mask is not None and obj.mask.shape == (clip.height, clip.width)
            assert obj.mask[y1:y2, x1:x2].all() and obj.mask.sum() == (x2 - x1) * (y2 - y1)
            assert obj.keypoints.shape == (17, 3) and obj.keypoints[0, 0] == pytest.approx(gt[1])
    assert all(len(ids) == 1 for ids in ids_per_object.values())  # one stable id per object
    assert ids_per_object[1] != ids_per_object[2]
    _wait_no_stage_threads()


def test_public_detections_through_the_pipeline(moving_boxes_clip, tmp_path):
    clip = moving_boxes_clip
    det_txt = tmp_path / "det.txt"
    det_txt.write_text(
        "".join(f"{f + 1},-1,{x1},{y1},{x2 - x1},{y2 - y1},0.95,-1,-1,-1\n" for f, boxes in clip.gt.items() for _, x1, y1, x2, y2 in boxes)
    )
    results = list(track_video(str(clip.path), PublicDetections(det_txt), create_tracker("bytetrack")))
    assert len(results) == clip.frame_count
    ids = {o.track_id for r in results for o in r.objects}
    assert len(ids) == 2


def test_detector_error_reaches_the_consumer_with_its_message(moving_boxes_clip):
    detector = GroundTruthDetector(moving_boxes_clip, fail_at=9)
    seen = []
    with pytest.raises(ValueError, match="detector exploded on frame 9"):
        for r in track_video(moving_boxes_clip.path, detector, create_tracker("bytetrack"), batch=2):
            seen.append(r.frame_index)
    assert seen == list(range(8))  # everything before the failing batch was delivered
    _wait_no_stage_threads()


def test_tracker_error_reaches_the_consumer(moving_boxes_clip):
    class BrokenTracker:
        def update(self, dets, frame):
            raise RuntimeError("association failed: bad matrix")

    with pytest.raises(RuntimeError, match="association failed: bad matrix"):
        list(track_video(moving_boxes_clip.path, GroundTruthDetector(moving_boxes_clip), BrokenTracker()))
    _wait_no_stage_threads()


def test_cancel_token_stops_all_stages(moving_boxes_clip):
    token = CancelToken()
    detector = GroundTruthDetector(moving_boxes_clip, delay=0.02)
    got = []
    started = time.monotonic()
    with pytest.raises(Cancelled):
        for r in track_video(moving_boxes_clip.path, detector, create_tracker("bytetrack"), batch=2, cancel=token):
            got.append(r.frame_index)
            if len(got) == 3:
                token.cancel()
    assert got == [0, 1, 2]
    assert time.monotonic() - started < 10
    _wait_no_stage_threads()
    assert max(i for c in detector.calls for i in c) < moving_boxes_clip.frame_count - 1  # stopped early


def test_closing_the_generator_with_full_queues_does_not_hang(moving_boxes_clip):
    detector = GroundTruthDetector(moving_boxes_clip)
    gen = track_video(moving_boxes_clip.path, detector, create_tracker("bytetrack"), batch=2, queue_size=2)
    first = next(gen)
    assert first.frame_index == 0
    time.sleep(0.3)  # let every stage fill its queue and block on put
    assert len(_stage_threads()) == 3
    started = time.monotonic()
    gen.close()
    assert time.monotonic() - started < 5
    _wait_no_stage_threads()


def test_empty_range_is_a_clear_error(moving_boxes_clip):
    from tracking.errors import TrackroomError

    with pytest.raises(TrackroomError, match="Empty frame range 50..40"):
        next(track_video(moving_boxes_clip.path, GroundTruthDetector(moving_boxes_clip), create_tracker("bytetrack"), start=50))
