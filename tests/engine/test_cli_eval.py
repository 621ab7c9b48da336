"""``trackroom eval`` in a subprocess, on files the test writes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def run_eval(*args):
    return subprocess.run(
        [sys.executable, "-m", "tracking.cli", "eval", *map(str, args)],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )


def write(path: Path, rows) -> Path:
    path.write_text("".join(",".join(str(v) for v in r) + "\n" for r in rows))
    return path


def test_eval_prints_the_metrics_table(tmp_path):
    gt_rows = [(f, pid, 10 + 60 * pid + 3 * f, 20, 30, 70, 1, -1, -1, -1) for f in range(1, 21) for pid in (1, 2)]
    gt = write(tmp_path / "gt.txt", gt_rows)
    # the tracker misses person 2 on 4 frames
    res = write(tmp_path / "res.txt", [r[:7] for r in gt_rows if not (r[1] == 2 and r[0] <= 4)])
    out = run_eval(gt, res, "--seq-length", 25)
    assert out.returncode == 0, out.stderr
    header, values = out.stdout.strip().splitlines()
    table = dict(zip([h.strip() for h in header.split("|")], [v.strip() for v in values.split("|")]))
    assert table["MOTA"] == "90.0"  # 4 of 40 boxes missed
    assert table["IDF1"] != "100.0" and float(table["HOTA"]) < 100
    assert table["IDSW"] == "0" and table["FN"] == "4"
    perfect = run_eval(gt, gt)
    assert "100.0 | 100.0 | 100.0 | 100.0 | 100.0" in perfect.stdout


def test_eval_errors_exit_2_with_a_clear_message(tmp_path):
    gt = write(tmp_path / "gt.txt", [(1, 1, 10, 10, 20, 40, 1)])
    out = run_eval(gt, tmp_path / "missing.txt")
    assert out.returncode == 2 and "not found" in out.stderr and "missing.txt" in out.stderr
    bad = tmp_path / "bad.txt"
    bad.write_text("1,1,10,10,20,40,1\n2,1,ten,10,20,40,1\n")
    out = run_eval(gt, bad)
    assert out.returncode == 2 and "line 2" in out.stderr
    out = run_eval(gt, gt, "--seq-length", "0")
    assert out.returncode == 2 and "--seq-length" in out.stderr
