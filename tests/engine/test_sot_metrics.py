"""OTB-style SOT metrics on hand-computed cases."""

from __future__ import annotations

import numpy as np
import pytest

from tracking.metrics_sot import center_errors, ious, precision, score_sequence, success_auc, success_curve


def test_perfect_tracking_scores_the_otb_maximum():
    gt = [np.array([10, 10, 50, 90]), np.array([12, 11, 52, 91])]
    assert success_auc(gt, gt) == pytest.approx(20 / 21)  # IoU 1 passes every threshold but t = 1
    assert precision(gt, gt) == 1.0


def test_shifted_and_missing_boxes():
    gt = [[0, 0, 10, 10], [0, 0, 10, 10], [0, 0, 10, 10]]
    pred = [[5, 0, 15, 10], [30, 30, 40, 40], None]  # IoU 1/3, IoU 0, lost
    assert ious(pred, gt) == pytest.approx([1 / 3, 0, 0])
    assert center_errors(pred, gt)[:2] == pytest.approx([5, np.hypot(30, 30)])
    assert np.isinf(center_errors(pred, gt)[2])
    curve = success_curve(pred, gt)
    assert curve[0] == pytest.approx(1 / 3) and curve[7] == 0.0  # 0.35 > 1/3
    assert success_auc(pred, gt) == pytest.approx(7 / 21 / 3)
    assert precision(pred, gt) == pytest.approx(1 / 3)
    score = score_sequence(pred, gt)
    assert score.lost_frames == 1 and score.frames == 3 and score.mean_iou == pytest.approx(1 / 9)


def test_length_mismatch_is_an_error():
    with pytest.raises(ValueError):
        ious([[0, 0, 1, 1]], [])
