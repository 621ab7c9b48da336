"""Reads for the labeling tool's timeline: per track, where it exists and how it got there.

Three small queries over the video's figures: the runs of consecutive frames per (track, source),
computed by the database (gaps and islands); the keyframes and outside figures; the low-confidence
frames. A video with 100,000 figures summarises to a few kilobytes (a run per source change, not a
row per frame).
"""

from __future__ import annotations

from django.db import connection
from django.db.models import Q

from .models import Figure, ShapeKind, Track, Video

# Shapes the labeling tool interpolates between two keyframes (see js/tool/core/interpolate.js).
INTERPOLATED_SHAPES = (ShapeKind.BOX, ShapeKind.POINTS)
# Gap runs between two keyframes carry this source: the tool shows interpolated figures there.
GAP_SOURCE = "interpolated"
DEFAULT_LOW_CONFIDENCE = 0.4


def _runs(video_id: int) -> list[tuple]:
    """(track, source, first, last) of every run of consecutive visible frames with one source.

    Gaps-and-islands in SQL: within one (track, source), frame minus its rank is constant along a run of
    consecutive frames. The database answers one row per run, so Python never sees the 100,000 rows of a
    long video (walking them cost ~0.5 s there)."""
    sql = (
        "SELECT track_id, source, MIN(frame), MAX(frame) FROM ("
        " SELECT track_id, source, frame,"
        " frame - ROW_NUMBER() OVER (PARTITION BY track_id, source ORDER BY frame) AS island"
        f" FROM {Figure._meta.db_table} WHERE video_id = %s AND NOT outside"
        ") runs GROUP BY track_id, source, island ORDER BY track_id, 3"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [video_id])
        return cursor.fetchall()


def _summary(track: dict, runs: list, marked: list, low_frames: list) -> dict:
    """One track's row: runs (stop exclusive) with holes between two keyframes as "interpolated" runs."""
    keyframes = [frame for frame, outside, is_key in marked if is_key]
    outside_frames = [frame for frame, outside, _ in marked if outside]
    key_set = {frame for frame, outside, is_key in marked if is_key and not outside}
    segments: list[list] = []
    previous_end = None
    interpolates = track["shape"] in INTERPOLATED_SHAPES
    o = 0  # index into outside_frames (both sorted)
    for source, first, last in runs:
        if previous_end is not None and first > previous_end + 1 and interpolates:
            while o < len(outside_frames) and outside_frames[o] <= previous_end:
                o += 1
            nothing_outside_between = o == len(outside_frames) or outside_frames[o] >= first
            if nothing_outside_between and previous_end in key_set and first in key_set:
                segments.append([previous_end + 1, first, GAP_SOURCE])
        if segments and segments[-1][1] == first and segments[-1][2] == source:
            segments[-1][1] = last + 1  # a gap run meeting stored interpolated figures
        else:
            segments.append([first, last + 1, source])
        previous_end = last if previous_end is None else max(previous_end, last)
    return {
        "track": track["id"],
        "number": track["number"],
        "label": track["label_id"],
        "label_name": track["label__name"],
        "color": track["label__color"],
        "shape": track["shape"],
        "source": track["source"],
        "first": runs[0][1] if runs else None,
        "last": max(last for _, _, last in runs) if runs else None,
        "segments": segments,
        "keyframes": keyframes,
        "low_confidence": low_frames,
    }


def timeline_of_video(video: Video | int, low: float = DEFAULT_LOW_CONFIDENCE) -> dict:
    """The timeline summary of every track of the video, in track-number order.

    Per track: {track, number, label, label_name, color, shape, source, first, last (inclusive; null when
    the track has no visible figure), segments [[start, stop, source], ...] (stop exclusive; frames of
    outside figures excluded; a hole between two keyframes of a box/points track is a run of source
    "interpolated"), keyframes [...], low_confidence [frames with confidence < low]}."""
    video_id = video.pk if isinstance(video, Video) else video
    tracks = list(
        Track.objects.filter(video_id=video_id)
        .order_by("number")
        .values("id", "number", "label_id", "label__name", "label__color", "label__shape", "source")
    )
    for track in tracks:
        track["shape"] = track.pop("label__shape")
    runs: dict[int, list] = {}
    for track_id, source, first, last in _runs(video_id):
        runs.setdefault(track_id, []).append((source, first, last))
    marked: dict[int, list] = {}  # keyframes and outside figures: few, except for fully keyed tracks
    for track_id, frame, outside, is_key in (
        Figure.objects.filter(video_id=video_id)
        .filter(Q(is_keyframe=True) | Q(outside=True))
        .order_by("track_id", "frame")
        .values_list("track_id", "frame", "outside", "is_keyframe")
    ):
        marked.setdefault(track_id, []).append((frame, outside, is_key))
    low_frames: dict[int, list] = {}
    for track_id, frame in (
        Figure.objects.filter(video_id=video_id, outside=False, confidence__lt=low)
        .order_by("track_id", "frame")
        .values_list("track_id", "frame")
    ):
        low_frames.setdefault(track_id, []).append(frame)
    return {
        "video": video_id,
        "low": low,
        "tracks": [
            _summary(track, runs.get(track["id"], []), marked.get(track["id"], []), low_frames.get(track["id"], []))
            for track in tracks
        ],
    }
