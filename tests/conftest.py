"""Fixtures shared by engine and web tests. Nothing here needs ../shared or the network beyond the
Debian package that carries the PETS09 footage (fetched once by scripts/fetch-pets09 and cached)."""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def pets09_video() -> Path:
    """The real PETS09-S2L1 footage (795 frames, 768x576, MPEG-4), cached outside the repo."""
    env = os.environ.get("TRACKROOM_TEST_VIDEO")
    if env and Path(env).is_file():
        return Path(env)
    out = subprocess.run([str(ROOT / "scripts" / "fetch-pets09")], capture_output=True, text=True, check=True)
    path = Path(out.stdout.strip().splitlines()[-1])
    assert path.is_file(), out.stderr
    os.environ["TRACKROOM_TEST_VIDEO"] = str(path)
    return path


@dataclass
class SyntheticClip:
    path: Path
    fps: float
    frame_count: int
    width: int
    height: int
    # gt[frame] = list of (object_id, x1, y1, x2, y2), exact pixel boxes of the drawn rectangles
    gt: dict[int, list[tuple[int, float, float, float, float]]]


def make_moving_boxes_clip(
    path: Path, frames: int = 40, width: int = 320, height: int = 240, fps: float = 10.0, fourcc: str = "MJPG"
) -> SyntheticClip:
    """Textured rectangles moving on a noisy background; every frame carries its index as a
    brightness code in the top-left 8x8 block, so a decoded frame can be identified exactly."""
    rng = np.random.default_rng(7)
    background = rng.integers(40, 90, (height, width, 3), dtype=np.uint8)
    objects = [  # id, start x, start y, w, h, vx, vy, colour
        (1, 20, 40, 40, 70, 4.0, 1.0, (40, 200, 240)),
        (2, 240, 120, 36, 64, -3.0, -0.5, (240, 80, 60)),
    ]
    patterns = {oid: rng.integers(0, 255, (h, w, 3), dtype=np.uint8) for oid, _, _, w, h, *_ in objects}
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*fourcc), fps, (width, height))
    assert writer.isOpened(), f"OpenCV cannot write {fourcc}"
    gt: dict[int, list] = {}
    for f in range(frames):
        img = background.copy()
        boxes = []
        for oid, x0, y0, w, h, vx, vy, colour in objects:
            x, y = int(round(x0 + vx * f)), int(round(y0 + vy * f))
            patch = (patterns[oid] // 2 + np.array(colour, np.uint8) // 2).astype(np.uint8)
            img[y : y + h, x : x + w] = patch
            boxes.append((oid, float(x), float(y), float(x + w), float(y + h)))
        img[0:8, 0:8] = (f * 5) % 256  # frame code
        gt[f] = boxes
        writer.write(img)
    writer.release()
    return SyntheticClip(path, fps, frames, width, height, gt)


@pytest.fixture(scope="session")
def moving_boxes_clip(tmp_path_factory) -> SyntheticClip:
    return make_moving_boxes_clip(tmp_path_factory.mktemp("clips") / "moving_boxes.avi")


@pytest.fixture
def tmp_data_dir(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("TRACKROOM_DATA_DIR", str(tmp_path))
    return tmp_path


@pytest.fixture(scope="session")
def short_clip(pets09_video, tmp_path_factory) -> Path:
    """The first 60 frames of the PETS09 footage (768x576, 7 fps, MJPG): real people walking, short
    enough for jobs in tests."""
    path = tmp_path_factory.mktemp("clips") / "pets09-first60.avi"
    capture = cv2.VideoCapture(str(pets09_video))
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 7.0, (768, 576))
    for _ in range(60):
        ok, frame = capture.read()
        assert ok, "PETS09 footage shorter than 60 frames"
        writer.write(frame)
    writer.release()
    capture.release()
    return path
