"""MOT metrics through TrackEval (tracking.metrics.evaluate_mot)."""

from __future__ import annotations

import pytest

from tracking.metrics import EvaluationError, evaluate_mot
from tracking.motchallenge import MotRow


def synthetic_gt(frames: int = 30, people: int = 3) -> dict[int, list[MotRow]]:
    return {
        f: [MotRow(f, pid, 20.0 + 90 * pid + 2 * f, 40.0 + 5 * pid, 30.0, 70.0, 1.0) for pid in range(1, people + 1)]
        for f in range(frames)
    }


def flat(rows):
    return [r for f in sorted(rows) for r in rows[f]]


def test_gt_against_itself_is_perfect():
    gt = synthetic_gt()
    m = evaluate_mot(gt, flat(gt), seq_length=30)
    assert m["HOTA"] == pytest.approx(1.0) and m["MOTA"] == pytest.approx(1.0) and m["IDF1"] == pytest.approx(1.0)
    assert m["IDSW"] == 0 and m["FP"] == 0 and m["FN"] == 0 and m["GT_IDs"] == 3


def test_one_identity_swap_is_counted():
    gt = synthetic_gt()
    swapped = {}
    for f, rows in gt.items():
        swapped[f] = [
            MotRow(r.frame, {1: 2, 2: 1}.get(r.track_id, r.track_id) if f >= 15 else r.track_id, r.x, r.y, r.w, r.h)
            for r in rows
        ]
    m = evaluate_mot(gt, swapped)
    assert m["IDSW"] >= 1 and m["IDSW"] == 2  # both people change identity once
    assert m["IDF1"] < 1.0 and m["HOTA"] < 1.0
    assert m["MOTA"] == pytest.approx(1 - 2 / 90)


def test_dropped_boxes_lower_mota_by_exactly_the_missed_fraction():
    gt = synthetic_gt()
    results = {f: [r for r in rows if not (r.track_id == 2 and f % 3 == 0)] for f, rows in gt.items()}
    dropped = sum(len(gt[f]) - len(results[f]) for f in gt)
    m = evaluate_mot(gt, results)
    assert dropped == 10
    assert m["FN"] == dropped and m["FP"] == 0
    assert m["MOTA"] == pytest.approx(1 - dropped / 90)


def test_zero_flag_gt_rows_are_ignored():
    gt = synthetic_gt()
    results = flat(gt)
    gt[5].append(MotRow(5, 9, 600.0, 300.0, 20.0, 40.0, 0.0))  # flag 0: not to be evaluated
    m = evaluate_mot(gt, results)
    assert m["MOTA"] == pytest.approx(1.0) and m["FN"] == 0 and m["GT_dets"] == 90


def test_nine_column_gt_uses_classes(tmp_path):
    gt_file = tmp_path / "gt.txt"
    lines = [f"{f + 1},1,10,10,30,70,1,1,1.0" for f in range(10)]
    lines += [f"{f + 1},2,200,10,30,70,1,8,1.0" for f in range(10)]  # a distractor (class 8)
    gt_file.write_text("\n".join(lines) + "\n")
    res_file = tmp_path / "res.txt"
    res_file.write_text("".join(f"{f + 1},1,10,10,30,70,1,-1,-1,-1\n{f + 1},2,200,10,30,70,1,-1,-1,-1\n" for f in range(10)))
    m = evaluate_mot(gt_file, res_file)
    # the result on the distractor is neither a match nor a false positive
    assert m["GT_IDs"] == 1 and m["FP"] == 0 and m["MOTA"] == pytest.approx(1.0)


def test_bad_results_are_clear_errors():
    gt = synthetic_gt(5)
    dup = flat(gt) + [MotRow(0, 1, 0.0, 0.0, 5.0, 5.0)]
    with pytest.raises(EvaluationError, match="more than once"):
        evaluate_mot(gt, dup)
    with pytest.raises(EvaluationError, match="only 3 frames"):
        evaluate_mot(gt, flat(gt), seq_length=3)
    with pytest.raises(EvaluationError, match="negative track ID"):
        evaluate_mot(gt, [MotRow(0, -1, 0.0, 0.0, 5.0, 5.0)])
