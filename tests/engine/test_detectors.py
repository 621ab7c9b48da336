"""Detectors: tiny models made here (random weights, class bias raised so every task yields boxes), the
real bundled pose model on PETS09, public detections, and the offline/corrupt-file errors."""

from __future__ import annotations

import os

import cv2
import numpy as np
import pytest

from tracking.detectors import (
    PublicDetections,
    YoloDetector,
    auto_imgsz,
    create_detector,
    default_weights,
    inspect_model,
    resolve_classes,
    resolve_device,
)
from tracking.errors import ModelLoadError, UnknownNameError, WeightsNotFoundError
from tracking.types import Detections

FRAME_H, FRAME_W = 120, 200


def _tiny_model(cfg: str, path):
    """A random-initialised YOLO whose class logits are pushed up (class 3 most), so it 'detects' class 3
    on any image."""
    from tracking.runtime import configure_offline

    configure_offline()
    import torch
    from ultralytics import YOLO

    torch.manual_seed(0)  # random weights, but the same ones every run (some draws give degenerate boxes)
    model = YOLO(cfg)
    with torch.no_grad():
        for branch in model.model.model[-1].cv3:
            branch[-1].bias.fill_(4.0)
            branch[-1].bias[3] = 5.0
    model.save(str(path))
    return path


@pytest.fixture(scope="module")
def tiny_models(tmp_path_factory):
    root = tmp_path_factory.mktemp("models")
    return {
        "detect": _tiny_model("yolo11n.yaml", root / "tiny-det.pt"),
        "segment": _tiny_model("yolo11n-seg.yaml", root / "tiny-seg.pt"),
        "pose": _tiny_model("yolo11n-pose.yaml", root / "tiny-pose.pt"),
    }


@pytest.fixture(scope="module")
def frames():
    rng = np.random.default_rng(3)
    return [rng.integers(0, 255, (FRAME_H, FRAME_W, 3), dtype=np.uint8) for _ in range(3)]


def _check_detections(dets: list[Detections], n_frames: int) -> None:
    assert len(dets) == n_frames
    for d in dets:
        assert isinstance(d, Detections)
        assert d.xyxy.dtype == np.float32 and d.xyxy.shape == (len(d), 4)
        assert d.conf.dtype == np.float32 and d.conf.shape == (len(d),)
        assert d.cls.dtype == np.int32 and d.cls.shape == (len(d),)
        if len(d):
            assert (d.xyxy[:, [0, 2]] >= 0).all() and (d.xyxy[:, [0, 2]] <= FRAME_W).all()
            assert (d.xyxy[:, [1, 3]] >= 0).all() and (d.xyxy[:, [1, 3]] <= FRAME_H).all()
            assert ((d.conf >= 0.25) & (d.conf <= 1)).all()


def test_pt_detect_model_round_trips_through_the_loader(tiny_models, frames):
    info = inspect_model(tiny_models["detect"])
    assert info["task"] == "detect" and info["format"] == "pt" and len(info["names"]) == 80
    det = create_detector(str(tiny_models["detect"]), imgsz=160, batch=2, max_det=7)
    assert isinstance(det, YoloDetector)
    assert det.task == "detect" and det.names == info["names"]
    assert det.device == ("cuda:0" if _cuda() else "cpu")
    dets = det(frames, [10, 11, 12])  # 3 frames, batch 2: two predictor calls (or one per CPU worker)
    _check_detections(dets, 3)
    assert all(1 <= len(d) <= 7 for d in dets)
    assert all(d.masks is None and d.keypoints is None for d in dets)
    assert det([], []) == []


def test_cpu_workers_split_frames_and_keep_their_order(tiny_models, frames):
    single = create_detector(tiny_models["detect"], imgsz=160, device="cpu", workers=1, batch=1)
    double = create_detector(tiny_models["detect"], imgsz=160, device="cpu", workers=2, batch=1)
    assert (single.workers, double.workers) == (1, min(2, os.cpu_count()))
    many = [frames[i % 3][:, ::-1].copy() if i % 2 else frames[i % 3] for i in range(5)]
    one, two = single(many, list(range(5))), double(many, list(range(5)))
    assert len(two) == 5
    for a, b in zip(one, two):  # same frames, same model: same boxes in the same order
        np.testing.assert_allclose(a.xyxy, b.xyxy, atol=1e-3)
        np.testing.assert_array_equal(a.cls, b.cls)
    double.close()


def test_segmentation_masks_are_boolean_at_frame_resolution(tiny_models, frames):
    det = create_detector(tiny_models["segment"], imgsz=160, max_det=4)
    assert det.task == "segment"
    dets = det(frames[:2], [0, 1])
    _check_detections(dets, 2)
    for d in dets:
        assert len(d) >= 1 and d.masks is not None and len(d.masks) == len(d)
        assert all(m.dtype == bool and m.shape == (FRAME_H, FRAME_W) for m in d.masks)


def test_pose_keypoints_are_n_k_3(tiny_models, frames):
    det = create_detector(tiny_models["pose"], imgsz=160, max_det=4)
    assert det.task == "pose"
    (d,) = det(frames[:1], [0])
    assert len(d) >= 1 and d.keypoints is not None
    assert d.keypoints.shape == (len(d), 17, 3) and d.keypoints.dtype == np.float32


def test_class_filter_by_name_or_id(tiny_models, frames):
    names = inspect_model(tiny_models["detect"])["names"]
    assert resolve_classes("0,5", names) == [0, 5]
    assert resolve_classes(["7", 3], names) == [3, 7]
    assert resolve_classes(None, names) is None
    assert resolve_classes("person", {0: "person", 2: "car"}) == [0]
    assert resolve_classes("Car, person", {0: "person", 2: "car"}) == [0, 2]
    with pytest.raises(UnknownNameError, match="Unknown class 'truck'. Choose one of: car, person"):
        resolve_classes("person,truck", {0: "person", 2: "car"})
    with pytest.raises(UnknownNameError, match="class id '80'"):
        create_detector(tiny_models["detect"], classes=[80], imgsz=160)
    unfiltered = create_detector(tiny_models["detect"], imgsz=160, max_det=20)(frames, [0, 1, 2])
    assert set(np.concatenate([d.cls for d in unfiltered]).tolist()) == {3}
    kept = create_detector(tiny_models["detect"], classes="3,9", imgsz=160, max_det=20)(frames, [0, 1, 2])
    assert all(len(d) >= 1 for d in kept) and set(np.concatenate([d.cls for d in kept]).tolist()) == {3}
    dropped = create_detector(tiny_models["detect"], classes=["9"], imgsz=160, max_det=20)(frames, [0, 1, 2])
    assert [len(d) for d in dropped] == [0, 0, 0]


def test_onnx_export_round_trips(tiny_models, frames, tmp_path):
    from ultralytics import YOLO

    src = tmp_path / "tiny-det.pt"
    src.write_bytes(tiny_models["detect"].read_bytes())
    onnx_path = YOLO(str(src)).export(format="onnx", imgsz=160, simplify=False, verbose=False)
    info = inspect_model(onnx_path)
    assert info == {"task": "detect", "names": inspect_model(src)["names"], "format": "onnx"}
    det = create_detector(onnx_path, imgsz=640, batch=4, device="cpu")  # a static graph overrides both
    assert (det.imgsz, det.batch, det.task) == (160, 1, "detect")
    dets = det(frames, [0, 1, 2])
    _check_detections(dets, 3)
    assert all(len(d) >= 1 for d in dets)


def test_missing_weights_is_a_clear_error_and_never_a_download(tmp_path):
    for name in ("yolo11n.pt", str(tmp_path / "nope.pt"), str(tmp_path / "nope.onnx")):
        with pytest.raises(WeightsNotFoundError) as info:
            create_detector(name)
        message = str(info.value)
        assert message.startswith("Weights file not found: ")
        assert "never downloads" in message
        assert not os.path.exists(os.path.basename(name))  # nothing fetched into the working directory
    with pytest.raises(WeightsNotFoundError):
        inspect_model(tmp_path / "missing.pt")


def test_corrupt_or_foreign_files_are_model_load_errors(tmp_path):
    bad_pt = tmp_path / "broken.pt"
    bad_pt.write_bytes(b"this is not a torch checkpoint" * 10)
    with pytest.raises(ModelLoadError, match=r"^Could not load broken.pt as a YOLO model: "):
        create_detector(bad_pt)
    bad_onnx = tmp_path / "broken.onnx"
    bad_onnx.write_bytes(os.urandom(512))
    with pytest.raises(ModelLoadError, match=r"broken.onnx is not a readable ONNX model"):
        inspect_model(bad_onnx)
    other = tmp_path / "weights.bin"
    other.write_bytes(b"\0" * 16)
    with pytest.raises(ModelLoadError, match="not a supported model file"):
        create_detector(other)
    with pytest.raises(UnknownNameError, match="Unknown detector 'yolo-magic'"):
        create_detector("yolo-magic")


def test_public_detections_from_det_txt(tmp_path):
    det_txt = tmp_path / "det.txt"
    det_txt.write_text(
        "1,-1,10,20,30,40,0.9,-1,-1,-1\n"
        "1,-1,100,20,30,40,0.2,-1,-1,-1\n"
        "3,-1,12,22,30,40,0.8,-1,-1,-1\n"
    )
    det = create_detector(f"mot-det:{det_txt}", conf=0.5)
    assert isinstance(det, PublicDetections)
    assert det.task == "detect" and det.names == {0: "person"}
    first, second, third = det([None, None, None], [0, 1, 2])  # frames are not needed
    np.testing.assert_allclose(first.xyxy, [[10, 20, 40, 60]])
    assert len(second) == 0 and len(third) == 1 and first.conf[0] == pytest.approx(0.9)
    assert len(create_detector(f"mot-det:{det_txt}")([None], [0])[0]) == 2  # no conf filter
    with pytest.raises(UnknownNameError):
        PublicDetections(det_txt, classes="car")


def test_auto_imgsz_and_device():
    assert auto_imgsz(768, 576) == 1152  # PETS09: small people need the 1.5x upsampling
    assert auto_imgsz(320, 240) == 640
    assert auto_imgsz(1920, 1080) == 1280
    assert resolve_device("auto") == ("cuda:0" if _cuda() else "cpu")
    assert resolve_device("CPU") == "cpu"


@pytest.mark.slow
def test_bundled_pose_model_finds_people_on_pets09(pets09_video):
    import torch

    cap = cv2.VideoCapture(str(pets09_video))
    cap.set(cv2.CAP_PROP_POS_FRAMES, 40)
    ok, frame = cap.read()
    cap.release()
    assert ok and frame.shape == (576, 768, 3)
    assert default_weights().is_file()
    det = create_detector("default", imgsz=1280, classes="person")
    assert det.task == "pose" and det.names == {0: "person"}
    (d,) = det([frame], [40])
    assert len(d) >= 3  # ground truth has 6 people here
    assert d.keypoints.shape == (len(d), 17, 3)
    heights = d.xyxy[:, 3] - d.xyxy[:, 1]
    assert ((heights > 40) & (heights < 200)).all()  # pedestrian-sized boxes, not noise
    if det.device == "cpu":  # every core in use, not ultralytics' cpu_count - 1
        assert det.workers * det.threads_per_worker == os.cpu_count()
        assert det.threads == det.threads_per_worker == torch.get_num_threads()


def _cuda() -> bool:
    import torch

    return torch.cuda.is_available()


def test_importing_the_engine_sets_the_openmp_wait_policy_before_torch_loads():
    """torch reads OMP_WAIT_POLICY once, when it loads: the engine must set it first (see runtime.py)."""
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    code = "import os, sys\nimport tracking.detectors\nprint('torch' in sys.modules, os.environ['OMP_WAIT_POLICY'])"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False PASSIVE"
