"""`trackroom track`: real runs in a subprocess (PETS09 with the bundled model; public detections on the
synthetic clip) and one-line errors with exit status 2."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tracking.cli import main
from tracking.motchallenge import read_mot

ROOT = Path(__file__).resolve().parents[2]


def _trackroom(*args: str, timeout: int = 180) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "tracking.cli", "track", *args], cwd=ROOT, capture_output=True, text=True, timeout=timeout
    )


@pytest.mark.slow
def test_track_pets09_with_the_default_model(pets09_video, tmp_path):
    out = tmp_path / "tracks.txt"
    proc = _trackroom(str(pets09_video), "--start", "30", "--stop", "38", "--imgsz", "960", "--classes", "person", "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    assert "tracking" in proc.stderr and "8/8" in proc.stderr  # tqdm progress on stderr
    assert proc.stdout == ""
    lines = out.read_text().splitlines()
    assert all(len(line.split(",")) == 10 for line in lines)
    rows = read_mot(out)  # 0-based frames again
    assert set(rows) <= set(range(30, 38)) and len(rows) >= 4
    assert sum(len(r) for r in rows.values()) >= 8  # several people per frame (ground truth has ~6)
    for frame_rows in rows.values():
        for r in frame_rows:
            assert 30 < r.h < 200 and 0 <= r.x < 768 and 0 <= r.y < 576


def test_track_public_detections(moving_boxes_clip, tmp_path):
    clip = moving_boxes_clip
    det_txt = tmp_path / "det.txt"
    det_txt.write_text(
        "".join(
            f"{f + 1},-1,{x1},{y1},{x2 - x1},{y2 - y1},0.9,-1,-1,-1\n"
            for f, boxes in clip.gt.items()
            for _, x1, y1, x2, y2 in boxes
        )
    )
    out = tmp_path / "tracks.txt"
    proc = _trackroom(
        str(clip.path), "--det", str(det_txt), "--tracker", "bytetrack", "--tracker-param", "min_conf=0.1",
        "--stop", "30", "--quiet", "--out", str(out),
    )
    assert proc.returncode == 0, proc.stderr
    rows = read_mot(out)
    assert max(rows) == 29 and min(rows) <= 2  # --stop is exclusive, file frames were 1-based
    assert len({r.track_id for frame_rows in rows.values() for r in frame_rows}) == 2
    for frame, frame_rows in rows.items():
        for r in frame_rows:
            assert any(abs(r.x - g[1]) < 3 and abs(r.y - g[2]) < 3 for g in clip.gt[frame])


def test_postprocessing_fills_a_detection_gap_unless_turned_off(moving_boxes_clip, tmp_path):
    """Object 1 goes undetected on frames 10-13; the default (post-processed) output bridges the gap
    with one track, --no-postprocess leaves the hole."""
    clip = moving_boxes_clip
    det_txt = tmp_path / "det.txt"
    det_txt.write_text(
        "".join(
            f"{f + 1},-1,{x1},{y1},{x2 - x1},{y2 - y1},0.9,-1,-1,-1\n"
            for f, boxes in clip.gt.items()
            for oid, x1, y1, x2, y2 in boxes
            if not (oid == 1 and 10 <= f <= 13)
        )
    )

    def object1_frames(*extra: str) -> set[int]:
        out = tmp_path / f"tracks{len(extra)}.txt"
        proc = _trackroom(str(clip.path), "--det", str(det_txt), "--fps", "10", "--quiet", "--out", str(out), *extra)
        assert proc.returncode == 0, proc.stderr
        rows = [r for frame_rows in read_mot(out).values() for r in frame_rows if r.x < 160 and r.y < 110]
        ids = {r.track_id for r in rows if r.frame < 10} & {r.track_id for r in rows if r.frame > 13}
        return {r.frame for r in rows if r.track_id in ids} if ids else set()

    assert set(range(10, 14)) <= object1_frames()  # interpolated across the gap, same ID both sides
    assert not set(range(10, 14)) & object1_frames("--no-postprocess")


@pytest.mark.parametrize(
    "args, message",
    [
        (["{missing}", "--out", "{out}"], "Video file not found"),
        (["{corrupt}", "--out", "{out}"], "corrupt.avi"),
        (["{clip}", "--model", "{tmp}/absent.pt", "--out", "{out}"], "Weights file not found"),
        (["{clip}", "--tracker", "teleport", "--out", "{out}"], "Unknown tracker 'teleport'"),
        (["{clip}", "--classes", "person,unicorn", "--out", "{out}"], "Unknown class 'unicorn'"),
        (["{clip}", "--tracker-param", "nonsense", "--out", "{out}"], "is not KEY=VALUE"),
    ],
)
def test_errors_are_one_readable_line_with_exit_2(args, message, moving_boxes_clip, tmp_path, capsys):
    corrupt = tmp_path / "corrupt.avi"
    corrupt.write_bytes(b"RIFF" + bytes(range(256)) * 8)
    values = {
        "missing": str(tmp_path / "nope.mp4"),
        "corrupt": str(corrupt),
        "clip": str(moving_boxes_clip.path),
        "tmp": str(tmp_path),
        "out": str(tmp_path / "tracks.txt"),
    }
    code = main(["track", *(a.format(**values) for a in args)])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    assert len(err) == 1 and err[0].startswith("trackroom track: error: ") and message in err[0], err
    assert not (tmp_path / "tracks.txt").exists()
