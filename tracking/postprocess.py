"""Offline post-processing of multi-object tracks, for when the whole video has been tracked.

The standard steps of tracking-by-detection pipelines (ByteTrack's and StrongSORT++'s linear /
Gaussian-smoothed interpolation, "drop tracks shorter than N frames", appearance-free tracklet
linking in the spirit of AFLink) written over Trackroom's types:

1. ``stitch_tracklets``: a track that ends and another that starts soon after, near where the first
   one's constant-velocity motion would have taken it, with a similar box size, are the same object
   lost in an occlusion or a run of missed detections: give them one ID. Appearance-free, so it
   needs no ReID weights; it is conservative (a gap of at most ``max_gap`` frames, a distance
   gate relative to the box height that grows with the gap, one-to-one global assignment).
2. ``interpolate_gaps``: fill gaps of at most ``max_gap`` frames inside a track by linear
   interpolation of the box (objects walking behind others are usually still there).
3. ``drop_short_tracks``: remove tracks seen in fewer than ``min_length`` frames (false detections
   that a low ``min_hits`` let through online).

``postprocess_tracks`` runs all three with durations in seconds converted with the video's fps.
Inputs and outputs are ``{frame: [TrackedObject]}`` (what the engine's trackers produce) or, via
``postprocess_rows``, MOTChallenge rows ``{frame: [MotRow]}``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace

import numpy as np

from .motchallenge import MotRow
from .types import TrackedObject

TracksByFrame = Mapping[int, list[TrackedObject]]


@dataclass(frozen=True)
class PostprocessConfig:
    """Durations in seconds; converted to frames with the video's fps."""

    stitch: bool = True
    stitch_max_gap_s: float = 3.0  # same as the recommended tracker's max_age: a longer occlusion stays split
    stitch_max_distance: float = 0.75  # box heights between predicted and actual position (+ grows with the gap)
    stitch_min_track_frames: int = 2  # a track needs 2 boxes for a velocity
    interpolate: bool = True
    interpolate_max_gap_s: float = 3.0
    min_track_s: float = 0.5  # shorter tracks are dropped as false detections

    def frames(self, seconds: float, fps: float) -> int:
        return max(0, int(round(seconds * fps)))


# ---------------------------------------------------------------------------------------------
# Internal representation: {track_id: {frame: TrackedObject}}
# ---------------------------------------------------------------------------------------------


def _by_track(tracks: TracksByFrame) -> dict[int, dict[int, TrackedObject]]:
    out: dict[int, dict[int, TrackedObject]] = {}
    for frame, objects in tracks.items():
        for obj in objects:
            out.setdefault(obj.track_id, {})[int(frame)] = obj
    return out


def _by_frame(by_track: dict[int, dict[int, TrackedObject]]) -> dict[int, list[TrackedObject]]:
    out: dict[int, list[TrackedObject]] = {}
    for tid in sorted(by_track):
        for frame, obj in by_track[tid].items():
            out.setdefault(frame, []).append(obj)
    return {f: out[f] for f in sorted(out)}


def _centre_wh(box: np.ndarray) -> np.ndarray:
    x1, y1, x2, y2 = (float(v) for v in box)
    return np.array([(x1 + x2) / 2, (y1 + y2) / 2, x2 - x1, y2 - y1])


def _end_state(track: dict[int, TrackedObject], at_end: bool, window: int = 5) -> tuple[int, np.ndarray, np.ndarray]:
    """(frame, centre-w-h, velocity per frame) at the end (or start) of a track, from a short fit."""
    frames = sorted(track)
    part = frames[-window:] if at_end else frames[:window]
    states = np.array([_centre_wh(track[f].xyxy) for f in part])
    if len(part) >= 2:
        t = np.array(part, float)
        # least-squares slope of centre x / y against frame number
        vel = np.polyfit(t, states[:, :2], 1)[0]
    else:
        vel = np.zeros(2)
    frame = part[-1] if at_end else part[0]
    return frame, _centre_wh(track[frame].xyxy), vel


# ---------------------------------------------------------------------------------------------
# Steps
# ---------------------------------------------------------------------------------------------


def stitch_tracklets(
    tracks: TracksByFrame, max_gap: int, max_distance: float = 0.75, min_track_frames: int = 2
) -> dict[int, list[TrackedObject]]:
    """Join a track ending at frame a to one starting at b (0 < b - a <= max_gap) when the first
    one's extrapolated centre at b and the second one's back-extrapolated centre at a are both within
    ``max_distance`` box heights (plus 0.1 box heights per frame of gap) and heights differ < 30 %.
    Each track gets at most one successor; the cheapest pairs are joined first. The joined track
    keeps the earlier ID."""
    by_track = _by_track(tracks)
    if max_gap <= 0 or len(by_track) < 2:
        return _by_frame(by_track)
    ends = {tid: _end_state(t, True) for tid, t in by_track.items() if len(t) >= min_track_frames}
    starts = {tid: _end_state(t, False) for tid, t in by_track.items() if len(t) >= min_track_frames}
    candidates: list[tuple[float, int, int]] = []
    for a, (fa, sa, va) in ends.items():
        for b, (fb, sb, vb) in starts.items():
            gap = fb - fa
            if a == b or gap <= 0 or gap > max_gap:
                continue
            height = (sa[3] + sb[3]) / 2
            if abs(sa[3] - sb[3]) > 0.3 * height:
                continue
            forward = sa[:2] + va * gap  # where a would be at fb
            backward = sb[:2] - vb * gap  # where b came from at fa
            cost = (np.linalg.norm(forward - sb[:2]) + np.linalg.norm(backward - sa[:2])) / (2 * height)
            if cost <= max_distance + 0.1 * gap:
                candidates.append((cost / (max_distance + 0.1 * gap), a, b))
    successor: dict[int, int] = {}
    has_predecessor: set[int] = set()
    for _, a, b in sorted(candidates):
        if a in successor or b in has_predecessor:
            continue
        successor[a] = b
        has_predecessor.add(b)
    for head in [t for t in successor if t not in has_predecessor]:
        merged = dict(by_track[head])
        nxt = successor.get(head)
        while nxt is not None:
            merged.update({f: replace(o, track_id=head) for f, o in by_track.pop(nxt).items()})
            nxt = successor.get(nxt)
        by_track[head] = {f: replace(o, track_id=head) for f, o in sorted(merged.items())}
    return _by_frame(by_track)


def interpolate_gaps(tracks: TracksByFrame, max_gap: int) -> dict[int, list[TrackedObject]]:
    """Fill gaps of at most ``max_gap`` missing frames inside each track with linearly
    interpolated boxes (``det_index`` -1, confidence the lower of the two ends, no mask/keypoints)."""
    by_track = _by_track(tracks)
    for tid, track in by_track.items():
        frames = sorted(track)
        for f0, f1 in zip(frames, frames[1:]):
            missing = f1 - f0 - 1
            if missing <= 0 or missing > max_gap:
                continue
            a, b = track[f0], track[f1]
            for f in range(f0 + 1, f1):
                w = (f - f0) / (f1 - f0)
                track[f] = TrackedObject(
                    track_id=tid,
                    xyxy=((1 - w) * np.asarray(a.xyxy, np.float32) + w * np.asarray(b.xyxy, np.float32)).astype(
                        np.float32
                    ),
                    conf=float(min(a.conf, b.conf)),
                    cls=a.cls,
                    det_index=-1,
                )
    return _by_frame(by_track)


def drop_short_tracks(tracks: TracksByFrame, min_length: int) -> dict[int, list[TrackedObject]]:
    """Remove tracks that have fewer than ``min_length`` boxes from detections (interpolated boxes
    do not count)."""
    by_track = _by_track(tracks)
    keep = {
        tid: t
        for tid, t in by_track.items()
        if sum(1 for o in t.values() if o.det_index >= 0) >= min_length
    }
    return _by_frame(keep)


def postprocess_tracks(
    tracks: TracksByFrame, fps: float, config: PostprocessConfig | None = None
) -> dict[int, list[TrackedObject]]:
    """Stitch, interpolate, drop short tracks (see the module docstring); frames are 0-based."""
    config = config or PostprocessConfig()
    out: dict[int, list[TrackedObject]] = {int(f): list(o) for f, o in tracks.items()}
    if config.stitch:
        out = stitch_tracklets(
            out,
            config.frames(config.stitch_max_gap_s, fps),
            config.stitch_max_distance,
            config.stitch_min_track_frames,
        )
    # drop before interpolating so that interpolated boxes do not keep a spurious track alive
    out = drop_short_tracks(out, max(1, config.frames(config.min_track_s, fps)))
    if config.interpolate:
        out = interpolate_gaps(out, config.frames(config.interpolate_max_gap_s, fps))
    return out


# ---------------------------------------------------------------------------------------------
# MOTChallenge rows
# ---------------------------------------------------------------------------------------------


def rows_to_tracks(rows: Mapping[int, list[MotRow]]) -> dict[int, list[TrackedObject]]:
    """MOT rows as tracked objects (every row counts as a detection-backed box)."""
    return {
        f: [
            TrackedObject(r.track_id, np.array(r.xyxy, np.float32), float(r.conf), max(r.cls, 0), det_index=0)
            for r in rs
        ]
        for f, rs in rows.items()
    }


def tracks_to_rows(tracks: TracksByFrame) -> dict[int, list[MotRow]]:
    out: dict[int, list[MotRow]] = {}
    for f, objects in tracks.items():
        for o in objects:
            x1, y1, x2, y2 = (float(v) for v in o.xyxy)
            out.setdefault(int(f), []).append(MotRow(int(f), o.track_id, x1, y1, x2 - x1, y2 - y1, float(o.conf)))
    return out


def postprocess_rows(
    rows: Mapping[int, list[MotRow]], fps: float, config: PostprocessConfig | None = None
) -> dict[int, list[MotRow]]:
    """``postprocess_tracks`` for MOTChallenge rows (e.g. a result file read with ``read_mot``)."""
    return tracks_to_rows(postprocess_tracks(rows_to_tracks(rows), fps, config))
