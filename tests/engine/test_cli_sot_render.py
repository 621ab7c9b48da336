"""``trackroom sot`` and ``trackroom render`` end to end in a subprocess."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from tracking.motchallenge import read_mot
from tracking.sot import box_iou

ROOT = Path(__file__).resolve().parents[2]


def trackroom(*args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "tracking.cli", *map(str, args)], capture_output=True, text=True,
                          cwd=ROOT, timeout=120)


def test_sot_then_render(moving_boxes_clip, tmp_path):
    x1, y1, x2, y2 = next(b[1:] for b in moving_boxes_clip.gt[0] if b[0] == 1)
    out = tmp_path / "sot.txt"
    run = trackroom("sot", moving_boxes_clip.path, "--frame", 0, "--box", f"{x1:g},{y1:g},{x2 - x1:g},{y2 - y1:g}",
                    "--tracker", "csrt", "--until", 25, "--out", out)
    assert run.returncode == 0, run.stderr
    assert "wrote 26 rows" in run.stderr
    lines = out.read_text().splitlines()
    assert [int(line.split(",")[0]) for line in lines] == list(range(1, 27))  # 1-based frames
    assert {line.split(",")[1] for line in lines} == {"1"}
    rows = read_mot(out)
    for frame, (row,) in rows.items():
        gt = next(b[1:] for b in moving_boxes_clip.gt[frame] if b[0] == 1)
        assert box_iou(np.array(row.xyxy), np.array(gt)) > 0.5, frame
        assert 0.0 < row.conf <= 1.0

    back = tmp_path / "back.txt"
    bx1, by1, bx2, by2 = next(b[1:] for b in moving_boxes_clip.gt[20] if b[0] == 1)
    run = trackroom("sot", moving_boxes_clip.path, "--frame", 20, "--box", f"{bx1:g},{by1:g},{bx2 - bx1:g},{by2 - by1:g}",
                    "--backward", "--until", 10, "--out", back)
    assert run.returncode == 0, run.stderr
    assert sorted(read_mot(back)) == list(range(10, 21))

    video = tmp_path / "tracks.webm"
    run = trackroom("render", moving_boxes_clip.path, out, video, "--fps", 5, "--trail", 8)
    assert run.returncode == 0, run.stderr
    cap = cv2.VideoCapture(str(video))
    frames = 0
    while cap.read()[0]:
        frames += 1
    assert frames == 40
    assert cap.get(cv2.CAP_PROP_FRAME_WIDTH) == 320 and cap.get(cv2.CAP_PROP_FRAME_HEIGHT) == 240


@pytest.mark.parametrize(
    "args,message",
    [
        (["--frame", 0, "--box", "10,10,40"], "--box must be four numbers"),
        (["--frame", 0, "--box", "500,10,40,40"], "lies outside the 320x240 frame"),
        (["--frame", 400, "--box", "10,10,40,40"], "outside the video"),
        (["--frame", 0, "--box", "10,10,40,40", "--tracker", "vit", "--model", "/nonexistent/vit.onnx"], "does not exist"),
        (["--frame", 0, "--box", "10,10,40,40", "--tracker", "boosting"], "Unknown"),
    ],
)
def test_sot_errors_exit_2_with_one_line(moving_boxes_clip, tmp_path, args, message):
    out = tmp_path / "x.txt"
    run = trackroom("sot", moving_boxes_clip.path, *args, "--out", out)
    assert run.returncode == 2
    lines = [line for line in run.stderr.splitlines() if line.strip()]
    assert lines[-1].startswith("trackroom sot: error: ") and message in lines[-1], run.stderr
    assert not out.exists()


def test_cli_errors_for_missing_or_corrupt_inputs(moving_boxes_clip, tmp_path):
    junk = tmp_path / "junk.avi"
    junk.write_bytes(b"\x00not a video" * 100)
    run = trackroom("sot", junk, "--frame", 0, "--box", "1,1,5,5", "--out", tmp_path / "x.txt")
    assert run.returncode == 2 and "trackroom sot: error:" in run.stderr
    run = trackroom("sot", tmp_path / "missing.avi", "--frame", 0, "--box", "1,1,5,5", "--out", tmp_path / "x.txt")
    assert run.returncode == 2 and "missing.avi" in run.stderr
    run = trackroom("render", moving_boxes_clip.path, tmp_path / "none.txt", tmp_path / "o.webm")
    assert run.returncode == 2 and "none.txt" in run.stderr
    bad = tmp_path / "bad.txt"
    bad.write_text("1,1,10,10,abc,20,1\n")
    run = trackroom("render", moving_boxes_clip.path, bad, tmp_path / "o.webm")
    assert run.returncode == 2 and "line 1" in run.stderr
    assert not (tmp_path / "o.webm").exists()
