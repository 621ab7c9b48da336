"""Multi-object trackers (tracking.mot): every boxmot tracker by name, offline, with stable IDs."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from tracking.errors import TrackroomError, UnknownNameError, WeightsNotFoundError
from tracking.mot import (
    BOXMOT_TRACKERS,
    RECOMMENDED_NAME,
    TRACKERS,
    UNSUPPORTED,
    ColourHistogramEmbedder,
    TrackerConfigError,
    create_tracker,
    fps_aware_params,
    tracker_params,
)
from tracking.types import Detections

APPEARANCE_ONLY = {"strongsort"}  # cannot run without an appearance model


@pytest.fixture(scope="module")
def clip_frames(moving_boxes_clip):
    cap = cv2.VideoCapture(str(moving_boxes_clip.path))
    frames = []
    while True:
        ok, img = cap.read()
        if not ok:
            break
        frames.append(img)
    cap.release()
    assert len(frames) == moving_boxes_clip.frame_count
    return frames


def noisy_detections(boxes, rng, noise: float = 1.0) -> Detections:
    xyxy = np.array([b[1:] for b in boxes], np.float32) + rng.normal(0, noise, (len(boxes), 4)).astype(np.float32)
    return Detections(xyxy, np.full(len(boxes), 0.9, np.float32), np.zeros(len(boxes), np.int32))


def iou(a, b) -> float:
    iw = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    ih = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = iw * ih
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)


def test_names_cover_boxmot_and_explain_sam2mot():
    assert set(BOXMOT_TRACKERS) == {
        "botsort", "bytetrack", "ocsort", "deepocsort", "strongsort", "boosttrack", "hybridsort", "occluboost", "sfsort"
    }
    assert TRACKERS[0] == RECOMMENDED_NAME and set(TRACKERS[1:]) == set(BOXMOT_TRACKERS) | {"reid"}
    assert "SAM2" in UNSUPPORTED["sam2mot"]
    with pytest.raises(UnknownNameError, match="sam2mot"):
        create_tracker("sam2mot")


@pytest.mark.parametrize("name", TRACKERS)
def test_tracks_two_moving_objects_with_stable_ids(name, moving_boxes_clip, clip_frames):
    appearance = "colour" if name in APPEARANCE_ONLY else None
    tracker = create_tracker(name, fps=moving_boxes_clip.fps, appearance=appearance)
    rng = np.random.default_rng(0)
    ids_of: dict[int, set[int]] = {1: set(), 2: set()}
    hits = {1: 0, 2: 0}
    for f in range(moving_boxes_clip.frame_count):
        gt = moving_boxes_clip.gt[f]
        objects = tracker.update(noisy_detections(gt, rng), clip_frames[f])
        for obj in objects:
            best = max(gt, key=lambda g: iou(obj.xyxy, g[1:]))
            assert iou(obj.xyxy, best[1:]) > 0.7, f"{name}: frame {f} box far from every object"
            ids_of[best[0]].add(obj.track_id)
            hits[best[0]] += 1
            assert 0 <= obj.det_index < 2
    assert ids_of[1] and ids_of[2], f"{name} never reported one of the objects"
    assert len(ids_of[1]) == 1 and len(ids_of[2]) == 1, f"{name} switched IDs: {ids_of}"
    assert ids_of[1] != ids_of[2]
    frames = moving_boxes_clip.frame_count
    assert hits[1] >= frames - 5 and hits[2] >= frames - 5, f"{name} missed frames: {hits}"


def test_reset_starts_a_new_sequence(moving_boxes_clip, clip_frames):
    tracker = create_tracker("bytetrack", fps=moving_boxes_clip.fps)
    rng = np.random.default_rng(1)
    for f in range(10):
        tracker.update(noisy_detections(moving_boxes_clip.gt[f], rng), clip_frames[f])
    tracker.reset()
    # right after a reset nothing of the old sequence is reported: no detections, no tracks
    assert tracker.update(Detections.empty(), clip_frames[0]) == []


def test_masks_and_keypoints_follow_their_detection(moving_boxes_clip, clip_frames):
    tracker = create_tracker("ocsort", fps=moving_boxes_clip.fps)
    h, w = moving_boxes_clip.height, moving_boxes_clip.width
    for f in range(8):
        gt = moving_boxes_clip.gt[f][::-1] if f % 2 else moving_boxes_clip.gt[f]  # order changes per frame
        dets = noisy_detections(gt, np.random.default_rng(f), 0.0)
        dets.masks = []
        for oid, x1, y1, x2, y2 in gt:
            m = np.zeros((h, w), bool)
            m[int(y1) : int(y2), int(x1) : int(x2)] = True
            dets.masks.append(m)
        dets.keypoints = np.array([[[x1, y1, float(oid)]] * 17 for oid, x1, y1, _, _ in gt], np.float32)
        objects = tracker.update(dets, clip_frames[f])
        if f >= 3:
            assert len(objects) == 2
        for obj in objects:
            i = obj.det_index
            assert obj.mask is dets.masks[i]
            assert np.array_equal(obj.keypoints, dets.keypoints[i])
            # the carried keypoints belong to the object under the tracked box
            x1, y1 = obj.keypoints[0, :2]
            assert abs(x1 - obj.xyxy[0]) < 3 and abs(y1 - obj.xyxy[1]) < 3


def test_unknown_name_and_parameter_errors():
    with pytest.raises(UnknownNameError, match="Choose one of"):
        create_tracker("deepsort9")
    with pytest.raises(TrackerConfigError) as err:
        create_tracker("ocsort", max_agee=10)
    assert "max_agee" in str(err.value) and "max_age" in str(err.value).split("Valid parameters:")[1]
    assert isinstance(err.value, TrackroomError)
    with pytest.raises(TrackerConfigError, match="refused"):
        create_tracker("ocsort", asso_func="nonsense")
    with pytest.raises(TrackerConfigError, match="fps"):
        create_tracker("ocsort", fps=0)
    with pytest.raises(TrackerConfigError, match="motion only"):
        create_tracker("bytetrack", appearance="colour")


def test_strongsort_needs_an_appearance_model(tmp_path):
    with pytest.raises(WeightsNotFoundError, match="reid_weights") as err:
        create_tracker("strongsort")
    assert "appearance='colour'" in str(err.value)
    with pytest.raises(WeightsNotFoundError, match="not found"):
        create_tracker("strongsort", reid_weights=tmp_path / "osnet_x0_25_msmt17.pt")


def test_embeddings_without_weights_never_download():
    # boxmot would fetch OSNet on the first update; Trackroom refuses up front
    with pytest.raises(WeightsNotFoundError):
        create_tracker("botsort", use_embeddings=True)
    tracker = create_tracker("botsort")
    assert tracker.appearance == "none" and tracker._tracker.use_embeddings is False


def test_cpu_defaults_and_frame_rate_aware_parameters():
    assert tracker_params("botsort")["use_cmc"]["default"] is False
    assert tracker_params("deepocsort")["cmc_off"]["default"] is True
    assert tracker_params("boosttrack")["use_cmc"]["default"] is False
    # durations: 3 s of memory, >= 2 hits to confirm
    assert tracker_params("ocsort", fps=7)["max_age"]["default"] == 21
    assert tracker_params("ocsort", fps=30)["max_age"]["default"] == 90
    assert tracker_params("ocsort", fps=7)["min_hits"]["default"] == 2
    assert tracker_params("ocsort", fps=30)["min_hits"]["default"] == 3
    assert fps_aware_params("bytetrack", 7) == {"frame_rate": 7, "track_buffer": 90}
    # boxmot's own values when not tuned, with their tuning ranges for a UI
    ocsort = tracker_params("ocsort", fps=7, tuned=False)
    assert ocsort["max_age"]["default"] == 30 and ocsort["max_age"]["values"]
    assert tracker_params(RECOMMENDED_NAME)["appearance"]["default"] == "colour"
    for name in TRACKERS:
        params = tracker_params(name, fps=10)
        assert params and all("default" in p for p in params.values())
        tracker = create_tracker(name, fps=10, appearance="colour" if name in APPEARANCE_ONLY else None)
        for key, value in tracker.params.items():
            assert params[key]["default"] == value


def test_recommended_keeps_identity_across_a_five_frame_gap():
    """7 fps, a walker moving ~40 % of its width per frame, missed by the detector for 5 frames."""
    fps, w, h = 7.0, 40, 100
    rng = np.random.default_rng(3)
    texture = rng.integers(0, 255, (h, w, 3), dtype=np.uint8)
    other = rng.integers(0, 255, (h, w, 3), dtype=np.uint8)
    tracker = create_tracker(RECOMMENDED_NAME, fps=fps)
    ids_before, ids_after = set(), set()
    for f in range(32):
        x = 20 + 16 * f
        img = np.full((360, 640, 3), 60, np.uint8)
        img[150 : 150 + h, x : x + w] = texture
        img[20 : 20 + h, 560 : 560 + w] = other  # a second, standing person
        boxes = [(2, 560.0, 20.0, 600.0, 120.0)]
        if not 15 <= f < 20:
            boxes.append((1, float(x), 150.0, float(x + w), 250.0))
        objects = tracker.update(noisy_detections(boxes, rng, 1.0), img)
        for obj in objects:
            if obj.xyxy[1] > 100:  # the walker
                assert abs(obj.xyxy[0] - x) < 20
                (ids_before if f < 15 else ids_after).add(obj.track_id)
    assert len(ids_before) == 1 and ids_after == ids_before


def test_colour_embedder_separates_colours():
    img = np.zeros((200, 200, 3), np.uint8)
    img[:, :100] = (0, 0, 200)  # red
    img[:, 100:] = (200, 0, 0)  # blue
    feats = ColourHistogramEmbedder().get_features(np.array([[10, 10, 90, 190], [20, 0, 80, 200], [110, 10, 190, 190]]), img)
    feats = feats / np.linalg.norm(feats, axis=1, keepdims=True)
    assert feats[0] @ feats[1] > 0.99
    assert feats[0] @ feats[2] < 0.6
