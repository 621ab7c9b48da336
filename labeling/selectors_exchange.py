"""Reads for import/export, track edits and the quality tools (scoring, drift, merge suggestions).
Callers check the role; these only read."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
from django.db.models import QuerySet

from tracking.geometry import iou_matrix

from .models import DetectionSet, EditRecord, Figure, FigureSource, Track, Video


def detection_set_file(detection_set: DetectionSet) -> Path:
    """The detection set's file on disk (MOTChallenge det format, 1-based frames): what the engine's
    ``mot-det:<file>`` detector reads."""
    return Path(detection_set.file.path)


def detection_sets_of_video(video: Video | int) -> QuerySet[DetectionSet]:
    return DetectionSet.objects.filter(video=video).order_by("-created_at", "-id")


def edits_of_video(video: Video | int) -> QuerySet[EditRecord]:
    return EditRecord.objects.filter(video=video).order_by("-created_at", "-id")


def edits_for_user(user) -> QuerySet[EditRecord]:
    from .selectors import _member_project_ids

    if not user.is_authenticated:
        return EditRecord.objects.none()
    return EditRecord.objects.filter(video__project_id__in=_member_project_ids(user)).select_related("video")


def tracks_by_selection(video: Video, selection: dict | None, exclude_ids=()) -> QuerySet[Track]:
    """Tracks picked by {"source": "imported"} | {"created_by": user id} | {"tracks": [ids]}; None =
    every track of the video except ``exclude_ids``."""
    query = Track.objects.filter(video=video)
    if selection is None:
        return query.exclude(pk__in=list(exclude_ids))
    if "tracks" in selection:
        return query.filter(pk__in=list(selection["tracks"]))
    if "source" in selection:
        return query.filter(source=selection["source"])
    if "created_by" in selection:
        return query.filter(created_by_id=selection["created_by"])
    return query.none()


def figure_boxes(track_ids, *, machine_only: bool = False) -> list[tuple]:
    """(track id, frame, x1, y1, x2, y2, confidence, outside, source) of these tracks, by track then frame."""
    query = Figure.objects.filter(track_id__in=list(track_ids))
    if machine_only:
        query = query.filter(source__in=FigureSource.machine())
    return list(
        query.order_by("track_id", "frame").values_list(
            "track_id", "frame", "x1", "y1", "x2", "y2", "confidence", "outside", "source"
        )
    )


# --------------------------------------------------------------------------------------------- scoring

IOU_THRESHOLD = 0.5  # a match in CLEAR and Identity metrics (TrackEval's default)


def match_tracks(gt: dict, pred: dict) -> dict:
    """Per-track view of a scoring run. ``gt`` / ``pred``: {frame: [(track, (x1, y1, x2, y2)), ...]}.

    Per frame, boxes are matched as CLEAR MOT does (Hungarian on IoU >= 0.5, a pair matched on the
    previous frame kept when still above the threshold); a ground-truth object matched to another
    predicted track than the last one it was matched to is an ID switch. Identities are assigned
    globally as IDF1 does (the pairing with the most frames at IoU >= 0.5)."""
    from scipy.optimize import linear_sum_assignment

    last_match: dict = {}
    switches, clear_matches = [], {}
    pair_frames: dict = {}
    gt_count: dict = {}
    pred_count: dict = {}
    for frame in sorted(set(gt) | set(pred)):
        g_rows, p_rows = gt.get(frame, []), pred.get(frame, [])
        for g, _ in g_rows:
            gt_count[g] = gt_count.get(g, 0) + 1
        for p, _ in p_rows:
            pred_count[p] = pred_count.get(p, 0) + 1
        if not g_rows or not p_rows:
            continue
        iou = iou_matrix(np.array([b for _, b in g_rows], float), np.array([b for _, b in p_rows], float))
        for i, j in zip(*np.nonzero(iou >= IOU_THRESHOLD - 1e-9)):
            key = (g_rows[i][0], p_rows[j][0])
            pair_frames[key] = pair_frames.get(key, 0) + 1
        score = np.where(iou >= IOU_THRESHOLD - 1e-9, iou, 0.0)
        for i, (g, _) in enumerate(g_rows):
            for j, (p, _) in enumerate(p_rows):
                if score[i, j] > 0 and last_match.get(g) == p:
                    score[i, j] += 1000.0
        rows, cols = linear_sum_assignment(-score)
        for i, j in zip(rows, cols):
            if score[i, j] <= 0:
                continue
            g, p = g_rows[i][0], p_rows[j][0]
            if g in last_match and last_match[g] != p:
                switches.append({"frame": frame, "track": p, "gt_track": g, "previous_track": last_match[g]})
            last_match[g] = p
            clear_matches.setdefault(p, {}).setdefault(g, 0)
            clear_matches[p][g] += 1
    gts, preds = sorted(gt_count), sorted(pred_count)
    assigned: dict = {}
    if gts and preds:
        matrix = np.zeros((len(gts), len(preds)))
        for (g, p), n in pair_frames.items():
            matrix[gts.index(g), preds.index(p)] = n
        for i, j in zip(*linear_sum_assignment(-matrix)):
            if matrix[i, j] > 0:
                assigned[preds[j]] = (gts[i], int(matrix[i, j]))
    per_track = []
    for p in preds:
        matched = sum(clear_matches.get(p, {}).values())
        gt_track, idtp = assigned.get(p, (None, 0))
        denominator = pred_count[p] + (gt_count.get(gt_track, 0) if gt_track is not None else 0)
        per_track.append({
            "track": p,
            "gt_track": gt_track,
            "frames": pred_count[p],
            "matched": matched,
            "gt_frames": gt_count.get(gt_track, 0) if gt_track is not None else 0,
            "id_true_positives": idtp,
            "idf1": round(2 * idtp / denominator, 4) if denominator else 0.0,
            "switches": sum(1 for s in switches if s["track"] == p),
        })  # fmt: skip
    return {"per_track": per_track, "switches": switches}


def _rows_of_tracks(track_ids, *, for_gt: bool) -> dict:
    """{frame: [(track id, box, ignore flag)]}: outside figures left out; a figure with confidence 0
    is an "ignore" box (MOT gt flag 0): in ground truth it is neither a miss nor a match target, as a
    prediction it is left out."""
    rows: dict = {}
    for track_id, frame, x1, y1, x2, y2, conf, outside, _source in figure_boxes(track_ids):
        if outside:
            continue
        ignore = conf is not None and conf == 0
        if ignore and not for_gt:
            continue
        rows.setdefault(frame, []).append((track_id, (x1, y1, x2, y2), ignore))
    return rows


def _gt_rows_from_shapes(shapes) -> dict:
    rows: dict = {}
    for s in shapes:
        if s.outside:
            continue
        rows.setdefault(s.frame, []).append((s.track, tuple(s.bbox), s.confidence == 0))
    return rows


def score_video(video: Video, gt_selection: dict | None, pred_selection: dict | None = None, gt_shapes=None) -> dict:
    """HOTA / MOTA / IDF1 (TrackEval, via tracking.metrics) of the predicted tracks against the
    ground-truth tracks, plus a per-track table and every ID switch. ``gt_shapes`` (a MOT gt file
    read by tracking.formats) replaces ``gt_selection`` when given; its track ids are the file's."""
    from django.core.exceptions import ValidationError

    from tracking.metrics import evaluate_mot
    from tracking.motchallenge import MotRow

    gt_ids: list[int] = []
    if gt_shapes is not None:
        gt_rows = _gt_rows_from_shapes(gt_shapes)
    else:
        gt_ids = list(tracks_by_selection(video, gt_selection).values_list("pk", flat=True))
        gt_rows = _rows_of_tracks(gt_ids, for_gt=True)
    if not gt_rows:
        raise ValidationError("The ground truth you picked has no figures in this video.")
    # Omitted "pred" means every other track; named explicitly, it may be the ground truth itself.
    pred_ids = list(tracks_by_selection(video, pred_selection, exclude_ids=gt_ids).values_list("pk", flat=True))
    pred_rows = _rows_of_tracks(pred_ids, for_gt=False)
    if not pred_rows:
        raise ValidationError("The tracks to score have no figures in this video.")

    def mot(rows, is_gt):
        return [
            MotRow(frame=f, track_id=t, x=b[0], y=b[1], w=b[2] - b[0], h=b[3] - b[1], conf=0.0 if ign else 1.0)
            for f, items in rows.items() for t, b, ign in items
        ]  # fmt: skip

    metrics = evaluate_mot(mot(gt_rows, True), mot(pred_rows, False), seq_length=video.frame_count)
    detail = match_tracks(
        {f: [(t, b) for t, b, ign in items if not ign] for f, items in gt_rows.items()},
        {f: [(t, b) for t, b, _ in items] for f, items in pred_rows.items()},
    )
    numbers = dict(Track.objects.filter(pk__in=pred_ids + gt_ids).values_list("pk", "number"))
    for row in detail["per_track"]:
        row["number"] = numbers.get(row["track"])
    return {
        "hota": round(metrics["HOTA"], 6),
        "mota": round(metrics["MOTA"], 6),
        "idf1": round(metrics["IDF1"], 6),
        "id_switches": metrics["IDSW"],
        "metrics": metrics,
        "gt_tracks": len({t for items in gt_rows.values() for t, _, _ in items}),
        "pred_tracks": len(pred_ids),
        "per_track": detail["per_track"],
        "switches": detail["switches"],
    }


# --------------------------------------------------------------------------------------------- drift

LOW_CONFIDENCE = 0.3  # below this a machine figure is always suspicious
CONFIDENCE_DROP = 0.5  # or below half the recent median
JUMP_MIN = 0.5  # centre moved more than half the box's size in one frame...
JUMP_FACTOR = 3.0  # ...and three times its recent motion
RECENT = 8


def drift_flags(video: Video, track_id: int | None = None, after: int | None = None, limit: int | None = None) -> list[dict]:
    """Suspicious frames of machine-made figures (detector, sot, interpolated), sorted by frame:
    ``low_confidence`` where the confidence falls below 0.3 or below half its recent median (value:
    the confidence), ``jump`` where the box centre moves more than half the box's size per frame and
    more than 3x its recent motion (value: displacement per frame / sqrt(box area)). A run of low
    frames is flagged once, on its first frame."""
    import math
    import statistics

    tracks = Track.objects.filter(video=video)
    if track_id is not None:
        tracks = tracks.filter(pk=track_id)
    ids = list(tracks.values_list("pk", flat=True))
    by_track: dict = {}
    for row in figure_boxes(ids, machine_only=True):
        if not row[7]:
            by_track.setdefault(row[0], []).append(row)
    flags = []
    for tid, rows in by_track.items():
        confs: list[float] = []
        motions: list[float] = []
        low = False
        previous = None
        for _t, frame, x1, y1, x2, y2, conf, _o, _s in rows:
            if conf is not None:
                recent = confs[-RECENT:]
                threshold = max(LOW_CONFIDENCE, CONFIDENCE_DROP * statistics.median(recent)) if recent else LOW_CONFIDENCE
                is_low = conf < min(threshold, 0.99)
                if is_low and not low:
                    flags.append({"track": tid, "frame": frame, "reason": "low_confidence", "value": round(conf, 4)})
                low = is_low
                if not is_low:
                    confs.append(conf)
            if previous is not None and 0 < frame - previous[0] <= 3:
                pf, px1, py1, px2, py2 = previous
                size = math.sqrt(max((px2 - px1) * (py2 - py1), 1e-6))
                step = math.hypot((x1 + x2 - px1 - px2) / 2, (y1 + y2 - py1 - py2) / 2) / (frame - pf) / size
                recent = statistics.median(motions[-RECENT:]) if len(motions) >= 2 else None
                if step > JUMP_MIN and (recent is None or step > JUMP_FACTOR * max(recent, 0.02)):
                    flags.append({"track": tid, "frame": frame, "reason": "jump", "value": round(step, 4)})
                else:
                    motions.append(step)
            previous = (frame, x1, y1, x2, y2)
    flags.sort(key=lambda f: (f["frame"], f["track"], f["reason"]))
    if after is not None:
        flags = [f for f in flags if f["frame"] > after]
    return flags[:limit] if limit is not None else flags


# --------------------------------------------------------------------------------------------- merge suggestions

MAX_GAP_S = 3.0
APPEARANCE_PAIRS = 40  # embed at most this many candidate pairs (two crops each) per request
_appearance_model = None
_appearance_lock = threading.Lock()


def _appearance():
    """The ImageNet appearance model (tracking.reid), loaded once per process; None when it cannot be."""
    global _appearance_model
    with _appearance_lock:
        if _appearance_model is None:
            try:
                from tracking.reid.appearance import load_appearance_model

                _appearance_model = load_appearance_model("imagenet")
            except Exception:  # noqa: BLE001 - suggestions work without appearance
                _appearance_model = False
    return _appearance_model or None


def _ends(rows: list) -> dict:
    """first/last box and velocity (px per frame) at each end of every track."""
    out = {}
    by_track: dict = {}
    for row in rows:
        if not row[7]:
            by_track.setdefault(row[0], []).append(row)
    for tid, figs in by_track.items():
        def centre(r):
            return np.array([(r[2] + r[4]) / 2, (r[3] + r[5]) / 2])

        def velocity(a, b):
            return (centre(b) - centre(a)) / max(b[1] - a[1], 1)

        head, tail = figs[: 5], figs[-5:]
        out[tid] = {
            "first": figs[0], "last": figs[-1],
            "v_start": velocity(head[0], head[-1]) if len(head) > 1 else np.zeros(2),
            "v_end": velocity(tail[0], tail[-1]) if len(tail) > 1 else np.zeros(2),
        }  # fmt: skip
    return out


def merge_suggestions(video: Video, *, appearance: bool = True, limit: int = 50, max_gap_s: float = MAX_GAP_S) -> list[dict]:
    """Pairs (a, b) where track a ends and track b (same label shape) begins within ``max_gap_s``
    seconds, near where a was heading; best first. ``distance``: px between a's position extrapolated
    to b's first frame and b's first box centre. ``appearance``: cosine similarity of the two boxes'
    ImageNet embeddings (None when the model or the video cannot be read). ``score`` 0..1: half time
    gap, half distance, averaged with the appearance when there is one."""
    import math

    fps = video.fps or 25.0
    max_gap = max(1, round(max_gap_s * fps))
    tracks = list(Track.objects.filter(video=video).select_related("label"))
    shape = {t.pk: t.label.shape for t in tracks}
    ends = _ends(figure_boxes([t.pk for t in tracks]))
    candidates = []
    for a, ea in ends.items():
        last = ea["last"]
        size = math.sqrt(max((last[4] - last[2]) * (last[5] - last[3]), 1.0))
        for b, eb in ends.items():
            if a == b or shape[a] != shape[b]:
                continue
            first = eb["first"]
            gap = first[1] - last[1]
            if not 0 < gap <= max_gap:
                continue
            predicted = np.array([(last[2] + last[4]) / 2, (last[3] + last[5]) / 2]) + ea["v_end"] * gap
            distance = float(np.linalg.norm(predicted - np.array([(first[2] + first[4]) / 2, (first[3] + first[5]) / 2])))
            reach = size * (1.0 + gap / fps)
            if distance > reach:
                continue
            geometric = 0.5 * (1 - gap / (max_gap + 1)) + 0.5 * (1 - distance / reach)
            candidates.append({"a": a, "b": b, "gap": int(gap), "distance": round(distance, 1),
                               "appearance": None, "score": round(geometric, 4),
                               "_boxes": (last, first)})  # fmt: skip
    candidates.sort(key=lambda c: -c["score"])
    if appearance and candidates:
        _add_appearance(video, candidates[:APPEARANCE_PAIRS])
    for c in candidates:
        c.pop("_boxes", None)
        if c["appearance"] is not None:
            c["score"] = round(0.5 * c["score"] + 0.5 * max(0.0, c["appearance"]), 4)
    candidates.sort(key=lambda c: (-c["score"], c["gap"]))
    return candidates[:limit]


def _add_appearance(video: Video, candidates: list[dict]) -> None:
    try:
        if not video.file or not Path(video.file.path).is_file():
            return  # no frames to look at: don't pay for loading the model
    except (ValueError, NotImplementedError):  # no file, or a storage without local paths
        return
    model = _appearance()
    if model is None:
        return
    try:
        from tracking.video import open_video

        needed: dict = {}
        for c in candidates:
            for row in c["_boxes"]:
                needed.setdefault(row[1], []).append(row)
        embeddings: dict = {}
        with open_video(video.file.path) as source:
            for frame in sorted(needed):
                image = source.read(frame)
                boxes = np.array([[r[2], r[3], r[4], r[5]] for r in needed[frame]], np.float32)
                for row, vector in zip(needed[frame], model.embed(image, boxes)):
                    embeddings[(row[0], row[1])] = vector
        for c in candidates:
            last, first = c["_boxes"]
            va, vb = embeddings.get((last[0], last[1])), embeddings.get((first[0], first[1]))
            if va is not None and vb is not None:
                c["appearance"] = round(float(np.dot(va, vb)), 4)
    except Exception:  # noqa: BLE001 - an unreadable video or model leaves appearance out, never a 500
        return
