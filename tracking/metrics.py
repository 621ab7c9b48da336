"""Multi-object-tracking metrics (HOTA, CLEAR/MOTA, Identity/IDF1) computed by ``trackeval``.

``evaluate_mot`` runs TrackEval's own MOTChallenge 2D-box loader and metric classes in-process:
ground truth and results are written to a temporary MOTChallenge folder layout (TrackEval only
reads files), loaded, pre-processed by TrackEval's ``MotChallenge2DBox`` and scored. Nothing is
printed and nothing is written outside the temporary folder.

Ground-truth conventions (MOTChallenge):

* column 7 of a gt row is a flag: 0 means "ignore this box" (neither a miss nor a match target);
* a gt file with 9 columns (MOT16/17/20) carries class and visibility: TrackEval's pre-processing
  then keeps only pedestrians and drops results that match distractor classes;
* a gt file without a class column (MOT15 style, e.g. PETS09-S2L1's 10 columns whose 8th/9th
  are world coordinates) is evaluated as the MOT15 benchmark: every evaluated box is a pedestrian.
"""

from __future__ import annotations

import contextlib
import io
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path

import numpy as np

from .errors import TrackroomError
from .motchallenge import MotRow, read_mot

_SEQ = "SEQ"
_TRACKER = "trackroom"
_PEDESTRIAN = 1

MotRows = Mapping[int, list[MotRow]] | Iterable[MotRow]


class EvaluationError(TrackroomError):
    """Ground truth or results cannot be evaluated (bad IDs, frames beyond the sequence, …)."""


def _rows_by_frame(source: str | Path | MotRows, what: str) -> dict[int, list[MotRow]]:
    if isinstance(source, (str, Path)):
        return read_mot(source)
    if isinstance(source, Mapping):
        return {int(f): list(rows) for f, rows in source.items()}
    out: dict[int, list[MotRow]] = {}
    for row in source:
        out.setdefault(row.frame, []).append(row)
    return out


def _check_rows(rows: dict[int, list[MotRow]], what: str) -> None:
    for frame, frame_rows in rows.items():
        if frame < 0:
            raise EvaluationError(f"{what}: frame {frame} is negative (frames are 0-based inside Trackroom).")
        ids = [r.track_id for r in frame_rows]
        if any(i < 0 for i in ids):
            raise EvaluationError(f"{what}: frame {frame + 1} has a negative track ID; is this a detection file?")
        if len(ids) != len(set(ids)):
            dup = sorted({i for i in ids if ids.count(i) > 1})
            raise EvaluationError(f"{what}: frame {frame + 1} has track ID {dup[0]} more than once.")


def _write_gt(path: Path, rows: dict[int, list[MotRow]], with_class: bool) -> None:
    with path.open("w") as fh:
        for frame in sorted(rows):
            for r in rows[frame]:
                flag = 1 if r.conf != 0 else 0
                if with_class:
                    cls = r.cls if r.cls >= 0 else _PEDESTRIAN
                    fh.write(f"{frame + 1},{r.track_id},{r.x},{r.y},{r.w},{r.h},{flag},{cls},{r.visibility}\n")
                else:
                    fh.write(f"{frame + 1},{r.track_id},{r.x},{r.y},{r.w},{r.h},{flag},-1,-1,-1\n")


def _write_results(path: Path, rows: dict[int, list[MotRow]]) -> None:
    with path.open("w") as fh:
        for frame in sorted(rows):
            for r in rows[frame]:
                # class column 1 (pedestrian): TrackEval refuses other classes for MOTChallenge.
                fh.write(f"{frame + 1},{r.track_id},{r.x},{r.y},{r.w},{r.h},{r.conf},1,-1,-1\n")


def evaluate_mot(
    gt: str | Path | MotRows,
    results: str | Path | MotRows,
    seq_length: int | None = None,
) -> dict[str, float]:
    """Score tracking results against ground truth; both as MOTChallenge paths or rows (0-based frames).

    ``seq_length`` is the number of frames of the sequence (default: the last frame seen in either
    input). Returns HOTA, DetA, AssA, LocA, MOTA, MOTP, IDF1, IDP, IDR, IDSW, FP, FN, TP, Frag, MT,
    ML, GT_IDs, IDs (number of result identities), GT_dets and Dets as plain floats/ints.
    """
    import trackeval  # heavy import; only when scoring

    gt_rows = _rows_by_frame(gt, "ground truth")
    res_rows = _rows_by_frame(results, "results")
    _check_rows(gt_rows, "ground truth")
    _check_rows(res_rows, "results")
    last = max([*gt_rows.keys(), *res_rows.keys(), -1]) + 1
    if seq_length is None:
        seq_length = last
    if seq_length <= 0:
        raise EvaluationError("Nothing to evaluate: the ground truth and the results are both empty.")
    if last > seq_length:
        raise EvaluationError(f"Rows reach frame {last} but the sequence has only {seq_length} frames.")

    with_class = any(r.cls >= 0 for rows in gt_rows.values() for r in rows)
    with tempfile.TemporaryDirectory(prefix="trackroom-eval-") as tmp:
        root = Path(tmp)
        (root / "gt" / _SEQ / "gt").mkdir(parents=True)
        (root / "trackers" / _TRACKER / "data").mkdir(parents=True)
        _write_gt(root / "gt" / _SEQ / "gt" / "gt.txt", gt_rows, with_class)
        _write_results(root / "trackers" / _TRACKER / "data" / f"{_SEQ}.txt", res_rows)
        config = {
            "GT_FOLDER": str(root / "gt"),
            "TRACKERS_FOLDER": str(root / "trackers"),
            "OUTPUT_FOLDER": str(root / "out"),
            "TRACKERS_TO_EVAL": [_TRACKER],
            "CLASSES_TO_EVAL": ["pedestrian"],
            "BENCHMARK": "MOT17" if with_class else "MOT15",
            "SPLIT_TO_EVAL": "train",
            "DO_PREPROC": True,
            "SKIP_SPLIT_FOL": True,
            "SEQ_INFO": {_SEQ: int(seq_length)},
            "PRINT_CONFIG": False,
        }
        sink = io.StringIO()
        try:
            with contextlib.redirect_stdout(sink):
                dataset = trackeval.datasets.MotChallenge2DBox(config)
                raw = dataset.get_raw_seq_data(_TRACKER, _SEQ)
                data = dataset.get_preprocessed_seq_data(raw, "pedestrian")
                metric_config = {"PRINT_CONFIG": False, "THRESHOLD": 0.5}
                hota = trackeval.metrics.HOTA(metric_config).eval_sequence(data)
                clear = trackeval.metrics.CLEAR(metric_config).eval_sequence(data)
                ident = trackeval.metrics.Identity(metric_config).eval_sequence(data)
        except trackeval.utils.TrackEvalException as exc:
            raise EvaluationError(f"TrackEval cannot evaluate these files: {exc}") from None

    return {
        "HOTA": float(np.mean(hota["HOTA"])),
        "DetA": float(np.mean(hota["DetA"])),
        "AssA": float(np.mean(hota["AssA"])),
        "LocA": float(np.mean(hota["LocA"])),
        "MOTA": float(clear["MOTA"]),
        "MOTP": float(clear["MOTP"]),
        "IDF1": float(ident["IDF1"]),
        "IDP": float(ident["IDP"]),
        "IDR": float(ident["IDR"]),
        "IDSW": int(clear["IDSW"]),
        "FP": int(clear["CLR_FP"]),
        "FN": int(clear["CLR_FN"]),
        "TP": int(clear["CLR_TP"]),
        "Frag": int(clear["Frag"]),
        "MT": int(clear["MT"]),
        "ML": int(clear["ML"]),
        "GT_IDs": int(data["num_gt_ids"]),
        "IDs": int(data["num_tracker_ids"]),
        "GT_dets": int(data["num_gt_dets"]),
        "Dets": int(data["num_tracker_dets"]),
    }
