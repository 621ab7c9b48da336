"""Track edits: merge, split, relabel, renumber, delete a frame range, mark outside. Each edit is one
transaction and one EditRecord holding the full state of the tracks it touched before and after, so
it can be undone and redone as a unit.

Merge overlap rule: on frames where both tracks have a figure, the figure a person made or confirmed
(manual, imported or a keyframe) wins over a machine-made one; when both or neither are, the kept
track's figure stays. Everything else of the other track moves to the kept track, which keeps its
number and label; the other track is deleted.

Undo and redo are safe only while the touched tracks are exactly as the edit (or its last undo/redo)
left them: a digest of their content (numbers, labels, every figure) is compared with the one stored
on the record.
If someone changed them since (a later edit, a figure moved, a job wrote figures) the answer is
EditConflict (409) and nothing changes. Restored rows keep their ids; their versions go up, so a
client holding an older copy gets a conflict instead of overwriting.
"""

from __future__ import annotations

import hashlib
import json

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F, Max
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from labeling.models import EditOp, EditRecord, Figure, FigureSource, LabelClass, Track, Video
from labeling.services.annotations import is_protected


class EditConflict(Exception):
    """Undo/redo refused because the tracks changed since; ``message`` says what (HTTP 409)."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


_FIGURE_FIELDS = ("frame", "x1", "y1", "x2", "y2", "data", "is_keyframe", "outside", "source", "confidence",
                  "job_id", "version", "created_by_id", "updated_by_id")  # fmt: skip
_TRACK_FIELDS = ("label_id", "number", "attributes", "source", "job_id", "created_by_id", "version")


def _iso(value):
    return value.isoformat() if value is not None else None


def _snapshot(track_ids) -> dict:
    tracks = {str(t["id"]): t for t in Track.objects.filter(pk__in=track_ids).values("id", "created_at", *_TRACK_FIELDS)}
    for t in tracks.values():
        t["created_at"] = _iso(t["created_at"])
    figures: dict[str, list] = {key: [] for key in tracks}
    rows = Figure.objects.filter(track_id__in=track_ids).order_by("track_id", "frame")
    for f in rows.values("id", "track_id", "created_at", *_FIGURE_FIELDS):
        f["created_at"] = _iso(f["created_at"])
        figures.setdefault(str(f.pop("track_id")), []).append(f)
    return {"tracks": tracks, "figures": figures}


def _fingerprint(track_ids) -> dict:
    """A digest of what the touched tracks look like now (numbers, labels, every figure's content),
    versions left out: after an undo of a later edit the tracks look exactly as the earlier edit left
    them, so that one may be undone next."""
    tracks = list(
        Track.objects.filter(pk__in=track_ids).order_by("id").values_list("id", "label_id", "number", "attributes", "source")
    )
    figures = list(
        Figure.objects.filter(track_id__in=track_ids).order_by("id").values_list(
            "id", "track_id", "frame", "x1", "y1", "x2", "y2", "data", "is_keyframe", "outside", "source", "confidence"
        )
    )
    text = json.dumps([tracks, figures], sort_keys=True, default=str)
    return {"content": hashlib.sha256(text.encode()).hexdigest()}


def _frames_of(snapshot: dict) -> list[int]:
    return [f["frame"] for figs in snapshot["figures"].values() for f in figs]


def _lock_video(video: Video) -> None:
    # One edit at a time per video: edits read-then-write several tracks.
    Video.objects.select_for_update().filter(pk=video.pk).values_list("pk").first()


def _user(user):
    return user if getattr(user, "is_authenticated", False) else None


# --------------------------------------------------------------------------------------------- result


class EditResult:
    def __init__(self, record: EditRecord, tracks: list[Track], deleted: list[int]):
        self.record, self.tracks, self.deleted_tracks = record, tracks, deleted

    @property
    def frames(self) -> list[int] | None:
        if self.record.first_frame is None:
            return None
        return [self.record.first_frame, self.record.last_frame]


def edit_dict(record: EditRecord) -> dict:
    return {
        "id": record.pk,
        "op": record.op,
        "params": record.params,
        "by": record.by_id,
        "created_at": _iso(record.created_at),
        "undone": record.undone,
    }


def _publish(record: EditRecord, kind: str, user) -> None:
    from labeling import realtime

    track_ids, by = list(record.track_ids), getattr(_user(user), "pk", None)

    def event() -> dict:
        alive = list(Track.objects.filter(pk__in=track_ids).order_by("number"))
        alive_ids = {t.pk for t in alive}
        frames = None if record.first_frame is None else [record.first_frame, record.last_frame]
        return {
            "type": f"edit.{kind}",
            "video": record.video_id,
            "edit": edit_dict(record),
            "tracks": [realtime.track_event_dict(t) for t in alive],
            "deleted_tracks": [pk for pk in track_ids if pk not in alive_ids],
            "frames": frames,
            "by": by,
        }

    realtime.publish_on_commit(record.video_id, event)


def _result(record: EditRecord) -> EditResult:
    alive = list(Track.objects.filter(pk__in=record.track_ids).order_by("number"))
    alive_ids = {t.pk for t in alive}
    return EditResult(record, alive, [pk for pk in record.track_ids if pk not in alive_ids])


# --------------------------------------------------------------------------------------------- ops


def _int(value, what: str, minimum: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValidationError(f"{what} must be a whole number from {minimum}, got {value!r}.")
    return value


def _track(video: Video, track_id, what: str = "track") -> Track:
    track_id = _int(track_id, f"'{what}'", 1)
    track = Track.objects.select_for_update().select_related("label").filter(pk=track_id, video=video).first()
    if track is None:
        raise ValidationError(f"Track {track_id} is not a track of this video.")
    return track


def _touch(track: Track, user, now) -> None:
    track.version += 1
    track.updated_at = now
    track.save(update_fields=["version", "updated_at", "label", "number"])


def _same_geometry(a: LabelClass, b: LabelClass) -> bool:
    return a.shape == b.shape and len((a.skeleton or {}).get("keypoints", [])) == len(
        (b.skeleton or {}).get("keypoints", [])
    )


def _merge(video, params, user, now):
    ids = params.get("tracks")
    if not isinstance(ids, list) or len(ids) != 2:
        raise ValidationError('Merge needs "tracks": [a, b], the ids of two tracks of this video.')
    a, b = _track(video, ids[0]), _track(video, ids[1])
    if a.pk == b.pk:
        raise ValidationError("Merge needs two different tracks.")
    keep_id = params.get("keep", a.pk)
    if keep_id not in (a.pk, b.pk):
        raise ValidationError(f"'keep' must be one of the two tracks ({a.pk} or {b.pk}), got {keep_id!r}.")
    kept, other = (a, b) if keep_id == a.pk else (b, a)
    if not _same_geometry(kept.label, other.label):
        raise ValidationError(
            f"Track {kept.number} holds {kept.label.shape} figures and track {other.number} {other.label.shape} "
            "figures; only tracks of the same shape can be merged."
        )
    touched = [kept.pk, other.pk]

    def apply():
        kept_figures = {f.frame: f for f in Figure.objects.filter(track=kept)}
        moved, replaced, overlap = [], [], 0
        for f in Figure.objects.filter(track=other).order_by("frame"):
            k = kept_figures.get(f.frame)
            if k is None:
                moved.append(f.pk)
                continue
            overlap += 1
            if is_protected(f) and not is_protected(k):
                for name in ("x1", "y1", "x2", "y2", "data", "is_keyframe", "outside", "source", "confidence", "job_id"):
                    setattr(k, name, getattr(f, name))
                k.version += 1
                k.updated_at, k.updated_by = now, user
                replaced.append(k)
        Figure.objects.bulk_update(
            replaced,
            ["x1", "y1", "x2", "y2", "data", "is_keyframe", "outside", "source", "confidence", "job", "version",
             "updated_at", "updated_by"],
        )  # fmt: skip
        if moved:  # one UPDATE for all; versions go up so stale copies conflict
            Figure.objects.filter(pk__in=moved).update(track=kept, version=F("version") + 1, updated_at=now, updated_by=user)
        other.delete()
        _touch(kept, user, now)
        return {"keep": kept.pk, "moved": len(moved), "overlap_frames": overlap, "overlap_taken_from_other": len(replaced)}

    return touched, apply


def _split(video, params, user, now):
    track = _track(video, params.get("track"))
    frame = _int(params.get("frame"), "'frame'")
    frames = list(Figure.objects.filter(track=track).values_list("frame", flat=True))
    if not any(f < frame for f in frames) or not any(f >= frame for f in frames):
        raise ValidationError(
            f"Track {track.number} has no figures on both sides of frame {frame}; a split needs figures before it "
            "and from it on."
        )
    number = params.get("number")
    if number is not None:
        number = _int(number, "'number'", 1)
        if Track.objects.filter(video=video, number=number).exists():
            raise ValidationError(f"Track number {number} is already used in this video.")
    else:
        number = (Track.objects.filter(video=video).aggregate(top=Max("number"))["top"] or 0) + 1
    new = Track.objects.create(
        video=video, label=track.label, number=number, attributes=dict(track.attributes), source=track.source,
        created_by=user,
    )  # fmt: skip
    touched = [track.pk, new.pk]

    def apply():
        count = Figure.objects.filter(track=track, frame__gte=frame).update(
            track=new, version=F("version") + 1, updated_at=now, updated_by=user
        )
        _touch(track, user, now)
        return {"new_track": new.pk, "number": new.number, "moved": count}

    return touched, apply


def _relabel(video, params, user, now):
    track = _track(video, params.get("track"))
    label_id = _int(params.get("label"), "'label'", 1)
    label = LabelClass.objects.filter(pk=label_id, project_id=video.project_id).first()
    if label is None:
        raise ValidationError(f"Label {label_id} is not a label of this project.")
    if label.pk == track.label_id:
        raise ValidationError(f"Track {track.number} already has label '{label.name}'.")
    if Figure.objects.filter(track=track).exists() and not _same_geometry(track.label, label):
        raise ValidationError(
            f"Track {track.number} has {track.label.shape} figures; it can only move to a label of the same shape "
            "(and the same number of keypoints)."
        )

    def apply():
        track.label = label
        _touch(track, user, now)
        return {}

    return [track.pk], apply


def _renumber(video, params, user, now):
    track = _track(video, params.get("track"))
    number = _int(params.get("number"), "'number'", 1)
    if number == track.number:
        raise ValidationError(f"Track {track.number} already has that number.")
    clash = Track.objects.filter(video=video, number=number).first()
    if clash is not None:
        raise ValidationError(
            f"Track number {number} is already used in this video (track id {clash.pk}); renumber or merge that one first."
        )

    def apply():
        track.number = number
        _touch(track, user, now)
        return {}

    return [track.pk], apply


def _delete_range(video, params, user, now):
    track = _track(video, params.get("track"))
    start = _int(params.get("start"), "'start'")
    stop = _int(params.get("stop"), "'stop'")
    if stop < start:
        raise ValidationError(f"The range {start}..{stop} is backwards; 'start' comes first (both are included).")
    query = Figure.objects.filter(track=track, frame__gte=start, frame__lte=stop)
    if not query.exists():
        raise ValidationError(f"Track {track.number} has no figures on frames {start}..{stop}; nothing to delete.")

    def apply():
        count, _ = query.delete()
        _touch(track, user, now)
        return {"deleted": count}

    return [track.pk], apply


def _outside(video, params, user, now):
    track = _track(video, params.get("track"))
    frame = _int(params.get("frame"), "'frame'")
    if frame >= video.frame_count:
        raise ValidationError(f"Frame {frame} is outside the video, which has frames 0..{video.frame_count - 1}.")
    figures = list(Figure.objects.filter(track=track).order_by("frame"))
    if not figures:
        raise ValidationError(f"Track {track.number} has no figures; there is nothing to mark outside.")

    def apply():
        here = next((f for f in figures if f.frame == frame), None)
        if here is None:
            nearest = min(figures, key=lambda f: (f.frame > frame, abs(f.frame - frame)))
            here = Figure(
                track=track, video=video, frame=frame, x1=nearest.x1, y1=nearest.y1, x2=nearest.x2, y2=nearest.y2,
                data=nearest.data, created_by=user,
            )  # fmt: skip
        else:
            here.version += 1
        here.outside, here.is_keyframe, here.source = True, True, FigureSource.MANUAL
        here.confidence, here.job = None, None
        here.updated_by, here.updated_at = user, now
        here.save()
        # The object is gone until a person says it is back: machine figures after this frame, up to
        # the next figure a person made or confirmed, are removed.
        later = [f for f in figures if f.frame > frame]
        next_protected = next((f.frame for f in later if is_protected(f)), None)
        doomed = [f.pk for f in later if not is_protected(f) and (next_protected is None or f.frame < next_protected)]
        Figure.objects.filter(pk__in=doomed).delete()
        _touch(track, user, now)
        return {"removed_after": len(doomed)}

    return [track.pk], apply


_OPS = {
    EditOp.MERGE: _merge,
    EditOp.SPLIT: _split,
    EditOp.RELABEL: _relabel,
    EditOp.RENUMBER: _renumber,
    EditOp.DELETE_RANGE: _delete_range,
    EditOp.OUTSIDE: _outside,
}
_PARAM_KEYS = {
    EditOp.MERGE: ("tracks", "keep"),
    EditOp.SPLIT: ("track", "frame", "number"),
    EditOp.RELABEL: ("track", "label"),
    EditOp.RENUMBER: ("track", "number"),
    EditOp.DELETE_RANGE: ("track", "start", "stop"),
    EditOp.OUTSIDE: ("track", "frame"),
}


def _frame_span(*snapshots: dict) -> tuple[int | None, int | None]:
    frames = [f for snap in snapshots for f in _frames_of(snap)]
    return (min(frames), max(frames)) if frames else (None, None)


def _changed_frames(before: dict, after: dict) -> tuple[int | None, int | None]:
    """First and last frame whose figures differ between the two states (any track)."""
    def index(snap):
        out = {}
        for track_id, figs in snap["figures"].items():
            for f in figs:
                out[(track_id, f["frame"])] = (f["id"], f["x1"], f["y1"], f["x2"], f["y2"], f["outside"], f["source"])
        return out

    a, b = index(before), index(after)
    frames = [key[1] for key in a.keys() | b.keys() if a.get(key) != b.get(key)]
    if not frames:  # label or number changes: the tracks' whole extent
        return _frame_span(before, after)
    return min(frames), max(frames)


def apply_edit(*, video: Video, params: dict, user=None) -> EditResult:
    """Validate and apply one edit; raises ValidationError (400) with a sentence when it cannot."""
    if not isinstance(params, dict):
        raise ValidationError("Send a JSON object with 'op' and its parameters.")
    op = params.get("op")
    if op not in _OPS:
        raise ValidationError(f"Unknown op {op!r}. Choose one of: {', '.join(_OPS)}.")
    user = _user(user)
    now = timezone.now()
    try:
        with transaction.atomic():
            _lock_video(video)
            touched, apply = _OPS[op](video, params, user, now)
            before = _snapshot(touched)
            if op == EditOp.SPLIT:  # the new track did not exist before the edit
                before["tracks"].pop(str(touched[1]), None)
                before["figures"].pop(str(touched[1]), None)
            summary = apply()
            after = _snapshot(touched)
            first, last = _changed_frames(before, after)
            clean = {k: params[k] for k in _PARAM_KEYS[op] if k in params}
            record = EditRecord.objects.create(
                video=video, op=op, params={"op": op, **clean, **({"result": summary} if summary else {})},
                track_ids=touched, before=before, after=after, expected=_fingerprint(touched),
                first_frame=first, last_frame=last, by=user,
            )  # fmt: skip
            _publish(record, "applied", user)
    except IntegrityError:
        raise ValidationError("Someone else changed these tracks at the same moment; reload and try again.") from None
    return _result(record)


# --------------------------------------------------------------------------------------------- undo/redo


def _later_edits_sentence(record: EditRecord) -> str:
    later = [
        e for e in EditRecord.objects.filter(video_id=record.video_id, undone=False, id__gt=record.pk).order_by("id")
        if set(e.track_ids) & set(record.track_ids)
    ]
    if later:
        names = ", ".join(f"{e.op} (edit {e.pk})" for e in later[:3])
        return f"Later edits touched the same tracks: {names}. Undo those first."
    return "Someone changed these tracks' figures after this edit; undoing it now would lose that work."


def _restore(video: Video, record: EditRecord, state: dict, user, now) -> None:
    track_ids = list(record.track_ids)
    current_versions = dict(Figure.objects.filter(track_id__in=track_ids).values_list("id", "version"))
    history: dict[int, int] = {}
    for snap in (record.before, record.after):
        for figs in snap["figures"].values():
            for f in figs:
                history[f["id"]] = max(history.get(f["id"], 0), f["version"])
    track_versions = dict(Track.objects.filter(pk__in=track_ids).values_list("id", "version"))
    _drop_dangling_references(video, state)
    Figure.objects.filter(track_id__in=track_ids).delete()
    wanted = {int(k): v for k, v in state["tracks"].items()}
    for pk in track_ids:
        if pk not in wanted:
            Track.objects.filter(pk=pk).delete()
    try:
        with transaction.atomic():
            for pk, t in wanted.items():
                past = max(
                    [t["version"], track_versions.get(pk, 0)]
                    + [s["tracks"].get(str(pk), {}).get("version", 0) for s in (record.before, record.after)]
                )
                fields = {name: t[name] for name in _TRACK_FIELDS if name != "version"}
                fields["version"] = past + 1
                if pk in track_versions:
                    Track.objects.filter(pk=pk).update(updated_at=now, **fields)
                else:
                    Track.objects.create(pk=pk, video=video, **fields)
                    Track.objects.filter(pk=pk).update(created_at=parse_datetime(t["created_at"]))
    except IntegrityError:
        raise EditConflict(
            "A track number this edit needs back is used by another track now; renumber that track first."
        ) from None
    rows = []
    for track_id, figs in state["figures"].items():
        for f in figs:
            values = {name: f[name] for name in _FIGURE_FIELDS if name != "version"}
            version = max(f["version"], history.get(f["id"], 0), current_versions.get(f["id"], 0)) + 1
            rows.append(
                Figure(id=f["id"], track_id=int(track_id), video=video, version=version, updated_at=now, **values)
            )  # fmt: skip
    Figure.objects.bulk_create(rows, batch_size=1000)


def _drop_dangling_references(video: Video, state: dict) -> None:
    """Jobs and users deleted since the edit become empty references; a deleted label is a conflict."""
    from django.contrib.auth import get_user_model

    from labeling.models import Job

    rows = list(state["tracks"].values()) + [f for figs in state["figures"].values() for f in figs]
    labels = {t["label_id"] for t in state["tracks"].values()}
    alive_labels = set(LabelClass.objects.filter(pk__in=labels, project_id=video.project_id).values_list("pk", flat=True))
    if labels - alive_labels:
        raise EditConflict("A label these tracks had was deleted since; create it again or relabel the tracks instead.")
    jobs = {r["job_id"] for r in rows if r.get("job_id")}
    alive_jobs = set(Job.objects.filter(pk__in=jobs).values_list("pk", flat=True))
    users = {r[k] for r in rows for k in ("created_by_id", "updated_by_id") if r.get(k)}
    alive_users = set(get_user_model().objects.filter(pk__in=users).values_list("pk", flat=True))
    for r in rows:
        if r.get("job_id") and r["job_id"] not in alive_jobs:
            r["job_id"] = None
        for k in ("created_by_id", "updated_by_id"):
            if r.get(k) and r[k] not in alive_users:
                r[k] = None


def _undo_redo(record_id: int, *, user, undo: bool) -> EditResult:
    user = _user(user)
    now = timezone.now()
    with transaction.atomic():
        record = EditRecord.objects.select_related("video").get(pk=record_id)
        _lock_video(record.video)
        record = EditRecord.objects.select_for_update().get(pk=record_id)
        if undo and record.undone:
            raise EditConflict(f"Edit {record.pk} ({record.op}) is already undone.")
        if not undo and not record.undone:
            raise EditConflict(f"Edit {record.pk} ({record.op}) is not undone; there is nothing to redo.")
        if _fingerprint(record.track_ids) != record.expected:
            verb = "undo" if undo else "redo"
            raise EditConflict(f"Cannot {verb} edit {record.pk} ({record.op}): {_later_edits_sentence(record)}")
        _restore(record.video, record, record.before if undo else record.after, user, now)
        record.undone = undo
        record.expected = _fingerprint(record.track_ids)
        record.save(update_fields=["undone", "expected", "updated_at"])
        _publish(record, "undone" if undo else "applied", user)
    return _result(record)


def undo_edit(*, record: EditRecord, user=None) -> EditResult:
    return _undo_redo(record.pk, user=user, undo=True)


def redo_edit(*, record: EditRecord, user=None) -> EditResult:
    return _undo_redo(record.pk, user=user, undo=False)
