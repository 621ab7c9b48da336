"""Tracks and figures: geometry validation, optimistic concurrency, bulk upsert, machine writes.

Concurrency model: every figure carries a ``version``. An update names the version the client
last saw; the write is a conditional ``UPDATE … WHERE version = seen`` so two people editing the
same figure cannot silently overwrite each other — the second gets ``FigureConflict`` with the
figure as it is now.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F, Max
from django.utils import timezone

from labeling.models import Figure, FigureSource, LabelClass, ShapeKind, Track, Video

# Sources a person (or an import) wrote; machine runs never replace these.
PROTECTED_SOURCES = {FigureSource.MANUAL, FigureSource.IMPORTED}
# What the API lets a client claim as a figure's source.
CLIENT_SOURCES = [FigureSource.MANUAL, FigureSource.IMPORTED]


class FigureConflict(Exception):
    """Figures changed since the client read them; nothing was written.

    Single-figure writes set ``current`` (the figure as stored now). Bulk writes set ``items``:
    [{"index", "track", "frame", "your_version", "current": Figure or None (deleted)}]."""

    def __init__(self, message: str, *, current: Figure | None = None, items: list[dict] | None = None):
        super().__init__(message)
        self.message, self.current, self.items = message, current, items


class BulkInvalid(Exception):
    """Some items of a bulk write are invalid; ``errors`` = [{"index": i, "detail": "..."}]."""

    def __init__(self, errors: list[dict]):
        count = len(errors)
        first = errors[0]
        super().__init__(
            f"{count} figure{'s are' if count != 1 else ' is'} invalid; nothing was saved. "
            f"First problem, item {first['index']}: {first['detail']}"
        )
        self.errors = errors


# ---------------------------------------------------------------------------------------------
# geometry


def _number(value, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValidationError(f"{what} must be a finite number, got {value!r}.")
    return float(value)


def _check_point_bounds(x: float, y: float, video: Video, what: str) -> None:
    # Objects may leave the frame, so allow one frame size of slack on every side; anything
    # beyond is a unit mix-up (normalised coordinates, wrong video) rather than an annotation.
    w, h = video.width, video.height
    if not (-w <= x <= 2 * w and -h <= y <= 2 * h):
        raise ValidationError(
            f"{what} ({x:g}, {y:g}) is far outside the {w}x{h} video; coordinates are frame pixels."
        )


def _box(data, video: Video):
    if not isinstance(data, dict) or not {"x1", "y1", "x2", "y2"} <= set(data):
        raise ValidationError('A box needs {"x1": …, "y1": …, "x2": …, "y2": …} in frame pixels.')
    x1, y1, x2, y2 = (_number(data[k], f"Box {k}") for k in ("x1", "y1", "x2", "y2"))
    if not (x1 < x2 and y1 < y2):
        raise ValidationError(f"A box needs x1 < x2 and y1 < y2; got ({x1:g}, {y1:g}, {x2:g}, {y2:g}).")
    _check_point_bounds(x1, y1, video, "Box corner")
    _check_point_bounds(x2, y2, video, "Box corner")
    return {"x1": x1, "y1": y1, "x2": x2, "y2": y2}, (x1, y1, x2, y2)


def rle_bbox(size: list[int], counts: list[int]) -> tuple[float, float, float, float] | None:
    """Bounding box (x1, y1, x2, y2) of a COCO uncompressed RLE (column-major, zeros first).

    Walks the runs, not the pixels, so a 4K mask costs as many steps as it has runs."""
    h = size[0]
    xmin = ymin = math.inf
    xmax = ymax = -math.inf
    position = 0
    for i, run in enumerate(counts):
        if i % 2 == 1 and run > 0:  # odd runs are foreground
            last = position + run - 1
            c0, r0 = divmod(position, h)
            c1, r1 = divmod(last, h)
            xmin, xmax = min(xmin, c0), max(xmax, c1)
            if c1 > c0:  # wraps into the next column: touches the top and the bottom row
                ymin, ymax = 0, h - 1
            else:
                ymin, ymax = min(ymin, r0), max(ymax, r1)
        position += run
    if xmin is math.inf:
        return None
    return float(xmin), float(ymin), float(xmax + 1), float(ymax + 1)


def _mask(data, video: Video):
    rle = data.get("rle") if isinstance(data, dict) else None
    if not isinstance(rle, dict) or "size" not in rle or "counts" not in rle:
        raise ValidationError('A mask needs {"rle": {"size": [height, width], "counts": [run lengths]}}.')
    size, counts = rle["size"], rle["counts"]
    if not (isinstance(size, list) and len(size) == 2 and all(isinstance(v, int) and v > 0 for v in size)):
        raise ValidationError("Mask rle.size must be [height, width] in pixels.")
    if size != [video.height, video.width]:
        raise ValidationError(
            f"Mask size {size[0]}x{size[1]} (h x w) does not match the video, which is {video.height}x{video.width}."
        )
    if not isinstance(counts, list) or not all(
        isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in counts
    ):
        raise ValidationError("Mask rle.counts must be a list of non-negative whole run lengths (uncompressed RLE).")
    total = sum(counts)
    if total != size[0] * size[1]:
        raise ValidationError(
            f"Mask run lengths add up to {total} pixels but a {size[0]}x{size[1]} mask has {size[0] * size[1]}."
        )
    bbox = rle_bbox(size, counts)
    if bbox is None:
        raise ValidationError("The mask is empty; delete the figure instead of saving an empty mask.")
    return {"rle": {"size": list(size), "counts": list(counts)}}, bbox


def _points_list(data, what: str, width: int):
    points = data.get("points") if isinstance(data, dict) else None
    if not isinstance(points, list):
        example = "[[x, y], …]" if width == 2 else "[[x, y, visibility], …]"
        raise ValidationError(f'{what} needs {{"points": {example}}}.')
    for n, point in enumerate(points):
        if not isinstance(point, list) or len(point) != width:
            shape = "[x, y]" if width == 2 else "[x, y, visibility]"
            raise ValidationError(f"{what} point {n} must be {shape}, got {point!r}.")
    return points


def _polygon(data, video: Video):
    points = _points_list(data, "A polygon", 2)
    if len(points) < 3:
        raise ValidationError(f"A polygon needs at least 3 points, got {len(points)}.")
    clean = []
    for n, (x, y) in enumerate(points):
        x, y = _number(x, f"Polygon point {n} x"), _number(y, f"Polygon point {n} y")
        _check_point_bounds(x, y, video, f"Polygon point {n}")
        clean.append([x, y])
    xs, ys = [p[0] for p in clean], [p[1] for p in clean]
    if min(xs) == max(xs) or min(ys) == max(ys):
        raise ValidationError("A polygon must enclose an area; these points lie on one line.")
    return {"points": clean}, (min(xs), min(ys), max(xs), max(ys))


def _points(data, video: Video, label: LabelClass):
    points = _points_list(data, "A points figure", 3)
    keypoints = (label.skeleton or {}).get("keypoints") or []
    if keypoints and len(points) != len(keypoints):
        raise ValidationError(
            f"Label '{label.name}' has {len(keypoints)} keypoints, so the figure needs {len(keypoints)} points; "
            f"got {len(points)}."
        )
    if not points:
        raise ValidationError("A points figure needs at least one point.")
    clean = []
    for n, (x, y, v) in enumerate(points):
        x, y = _number(x, f"Point {n} x"), _number(y, f"Point {n} y")
        if v not in (0, 1, 2) or isinstance(v, bool):
            raise ValidationError(f"Point {n} visibility must be 0 (absent), 1 (occluded) or 2 (visible), got {v!r}.")
        _check_point_bounds(x, y, video, f"Point {n}")
        clean.append([x, y, int(v)])
    shown = [p for p in clean if p[2] > 0] or clean
    xs, ys = [p[0] for p in shown], [p[1] for p in shown]
    return {"points": clean}, (min(xs), min(ys), max(xs), max(ys))


def validate_geometry(label: LabelClass, video: Video, data) -> tuple[dict, tuple[float, float, float, float]]:
    """Check ``data`` against the label's shape kind; return (clean data, bbox x1, y1, x2, y2)."""
    if label.shape == ShapeKind.BOX:
        return _box(data, video)
    if label.shape == ShapeKind.MASK:
        return _mask(data, video)
    if label.shape == ShapeKind.POLYGON:
        return _polygon(data, video)
    if label.shape == ShapeKind.POINTS:
        return _points(data, video, label)
    raise ValidationError(f"Label '{label.name}' has an unknown shape '{label.shape}'.")


def _check_frame(video: Video, frame) -> int:
    if isinstance(frame, bool) or not isinstance(frame, int):
        raise ValidationError(f"Frame must be a whole number, got {frame!r}.")
    if not 0 <= frame < video.frame_count:
        raise ValidationError(
            f"Frame {frame} is outside the video, which has frames 0..{video.frame_count - 1}."
        )
    return frame


def _check_source(source) -> str:
    if source not in FigureSource.values:
        raise ValidationError(f"Unknown source '{source}'. Choose one of: {', '.join(FigureSource.values)}.")
    return source


# ---------------------------------------------------------------------------------------------
# tracks


def _check_label_for_video(label: LabelClass, video: Video) -> None:
    if label.project_id != video.project_id:
        raise ValidationError("The label belongs to another project than the video; pick one of this project's labels.")


@transaction.atomic
def track_create(
    *,
    video: Video,
    label: LabelClass,
    number: int | None = None,
    attributes: dict | None = None,
    user=None,
    source: str = FigureSource.MANUAL,
    job=None,
) -> Track:
    """Create a track; ``number`` defaults to the video's highest track number + 1."""
    _check_label_for_video(label, video)
    if attributes is not None and not isinstance(attributes, dict):
        raise ValidationError("Track attributes must be a JSON object.")
    # Lock the video row so two clients asking for "the next number" get different ones.
    Video.objects.select_for_update().filter(pk=video.pk).values_list("pk").first()
    if number is None:
        number = (Track.objects.filter(video=video).aggregate(top=Max("number"))["top"] or 0) + 1
    elif isinstance(number, bool) or not isinstance(number, int) or number < 1:
        raise ValidationError(f"Track number must be a whole number from 1, got {number!r}.")
    elif Track.objects.filter(video=video, number=number).exists():
        raise ValidationError(
            f"Track number {number} is already used in this video; leave it out to get the next free one."
        )
    try:
        with transaction.atomic():
            track = Track.objects.create(
                video=video,
                label=label,
                number=number,
                attributes=attributes or {},
                source=_check_source(source),
                job=job,
                created_by=user if getattr(user, "is_authenticated", False) else None,
            )
    except IntegrityError:
        raise ValidationError(f"Track number {number} is already used in this video.") from None
    if job is None:  # jobs announce their tracks inside their figure batches
        _realtime().publish_track_change("created", track, user=user)
    return track


def _same_geometry(old: LabelClass, new: LabelClass) -> bool:
    return old.shape == new.shape and len(old.skeleton.get("keypoints", [])) == len(new.skeleton.get("keypoints", []))


@transaction.atomic
def track_update(
    *,
    track: Track,
    label: LabelClass | None = None,
    number: int | None = None,
    attributes: dict | None = None,
    version: int | None = None,
) -> Track:
    track = Track.objects.select_for_update(of=("self",)).select_related("label", "video").get(pk=track.pk)
    if version is not None and version != track.version:
        raise ValidationError(
            f"Someone else changed this track (you have version {version}, it is now {track.version}); reload it."
        )
    if label is not None and label.pk != track.label_id:
        _check_label_for_video(label, track.video)
        if track.figures.exists() and not _same_geometry(track.label, label):
            raise ValidationError(
                f"This track has {track.label.shape} figures; it can only move to a label of the same shape"
                " (and the same number of keypoints)."
            )
        track.label = label
    if number is not None and number != track.number:
        if isinstance(number, bool) or not isinstance(number, int) or number < 1:
            raise ValidationError(f"Track number must be a whole number from 1, got {number!r}.")
        if Track.objects.filter(video_id=track.video_id, number=number).exists():
            raise ValidationError(f"Track number {number} is already used in this video.")
        track.number = number
    if attributes is not None:
        if not isinstance(attributes, dict):
            raise ValidationError("Track attributes must be a JSON object.")
        track.attributes = attributes
    track.version += 1
    track.save()
    _realtime().publish_track_change("updated", track)
    return track


def track_delete(*, track: Track) -> None:
    _realtime().publish_track_change("deleted", track)  # sent after commit; needs the row's fields now
    track.delete()


def _realtime():
    # Imported late: realtime imports models and channels, and services are imported at start-up.
    from labeling import realtime

    return realtime


def _after_person_edit(figure: Figure, user, action: str) -> None:
    """Push a person's edit to everyone on the video and, if they want it, re-track the object."""
    from labeling.services.job_runs import maybe_auto_track_after_edit

    _realtime().publish_figure_change(action, figure, user=user)
    maybe_auto_track_after_edit(figure, user)


# ---------------------------------------------------------------------------------------------
# figures


def _track_for_write(track: Track) -> Track:
    if "label" not in track._state.fields_cache or "video" not in track._state.fields_cache:
        track = Track.objects.select_related("label", "video").get(pk=track.pk)
    return track


def figure_create(
    *,
    track: Track,
    frame: int,
    data,
    is_keyframe: bool = True,
    outside: bool = False,
    source: str = FigureSource.MANUAL,
    confidence: float | None = None,
    user=None,
    job=None,
) -> Figure:
    track = _track_for_write(track)
    frame = _check_frame(track.video, frame)
    clean, (x1, y1, x2, y2) = validate_geometry(track.label, track.video, data)
    if confidence is not None:
        confidence = _number(confidence, "Confidence")
    user = user if getattr(user, "is_authenticated", False) else None
    try:
        with transaction.atomic():
            figure = Figure.objects.create(
                track=track,
                video_id=track.video_id,
                frame=frame,
                data=clean,
                x1=x1,
                y1=y1,
                x2=x2,
                y2=y2,
                is_keyframe=bool(is_keyframe),
                outside=bool(outside),
                source=_check_source(source),
                confidence=confidence,
                job=job,
                created_by=user,
                updated_by=user,
            )
    except IntegrityError:
        raise ValidationError(
            f"Track {track.number} already has a figure on frame {frame}; update that one (or use the bulk endpoint)."
        ) from None
    if job is None:
        _after_person_edit(figure, user, "created")
    return figure


UNSET = object()


def figure_update(
    *,
    figure: Figure,
    version: int,
    data=UNSET,
    is_keyframe=UNSET,
    outside=UNSET,
    confidence=UNSET,
    source: str = FigureSource.MANUAL,
    user=None,
) -> Figure:
    """Change a figure if it is still at ``version``; else raise FigureConflict with its state now.

    Any edit through here is a person's edit, so the source becomes manual unless told otherwise."""
    if isinstance(version, bool) or not isinstance(version, int):
        raise ValidationError("Send the figure's 'version' you last saw, so concurrent edits are not lost.")
    track = Track.objects.select_related("label", "video").get(pk=figure.track_id)
    changes: dict = {"source": _check_source(source)}
    if data is not UNSET:
        clean, (x1, y1, x2, y2) = validate_geometry(track.label, track.video, data)
        changes.update(data=clean, x1=x1, y1=y1, x2=x2, y2=y2)
    if is_keyframe is not UNSET:
        changes["is_keyframe"] = bool(is_keyframe)
    if outside is not UNSET:
        changes["outside"] = bool(outside)
    if confidence is not UNSET:
        changes["confidence"] = None if confidence is None else _number(confidence, "Confidence")
    changes.update(
        version=F("version") + 1,
        updated_at=timezone.now(),
        updated_by=user if getattr(user, "is_authenticated", False) else None,
    )
    with transaction.atomic():
        written = Figure.objects.filter(pk=figure.pk, version=version).update(**changes)
    current = Figure.objects.filter(pk=figure.pk).first()
    if current is None:
        raise ValidationError("This figure was deleted by someone else.")
    if not written:
        raise FigureConflict(
            f"Someone else changed this figure (you have version {version}, it is now {current.version}); "
            "here is the current one — reapply your change to it.",
            current=current,
        )
    _after_person_edit(current, user, "updated")
    return current


def figure_delete(*, figure: Figure, version: int | None = None) -> None:
    """Delete a figure; with ``version``, only if nobody changed it since."""
    query = Figure.objects.filter(pk=figure.pk)
    if version is not None:
        query = query.filter(version=version)
    with transaction.atomic():
        deleted, _ = query.delete()
    if deleted:
        _realtime().publish_figure_change("deleted", figure)
    if not deleted:
        current = Figure.objects.filter(pk=figure.pk).first()
        if current is not None:
            raise FigureConflict(
                f"Someone else changed this figure (you have version {version}, it is now {current.version}); "
                "it was not deleted.",
                current=current,
            )


# ---------------------------------------------------------------------------------------------
# bulk upsert


@dataclass
class BulkResult:
    created: list[Figure] = field(default_factory=list)
    updated: list[Figure] = field(default_factory=list)

    @property
    def figures(self) -> list[Figure]:
        return sorted(self.created + self.updated, key=lambda f: (f.frame, f.track_id))


_BULK_KEYS = {"track", "frame", "data", "is_keyframe", "outside", "confidence", "source", "version"}


def figures_bulk_upsert(*, video: Video, items: list[dict], user=None) -> BulkResult:
    """Create or update many figures of one video, keyed by (track, frame), all or nothing.

    Each item: {"track": id, "frame": n, "data": {...}, "version": v (required when the figure
    exists), "is_keyframe", "outside", "confidence", "source"}. Invalid items raise BulkInvalid
    naming every bad index; stale versions raise FigureConflict naming every conflict. In both
    cases nothing is written."""
    if not isinstance(items, list) or not items:
        raise ValidationError('Send {"figures": [...]} with at least one figure.')
    user = user if getattr(user, "is_authenticated", False) else None
    tracks = {t.pk: t for t in Track.objects.filter(video=video).select_related("label")}
    errors: list[dict] = []
    clean_items: list[dict] = []
    seen: dict[tuple[int, int], int] = {}
    for index, item in enumerate(items):
        try:
            if not isinstance(item, dict):
                raise ValidationError("Each figure must be an object.")
            unknown = set(item) - _BULK_KEYS
            if unknown:
                raise ValidationError(f"Unknown fields: {', '.join(sorted(unknown))}.")
            track = tracks.get(item.get("track"))
            if track is None:
                raise ValidationError(f"Track {item.get('track')!r} is not a track of this video.")
            frame = _check_frame(video, item.get("frame"))
            key = (track.pk, frame)
            if key in seen:
                raise ValidationError(f"Track {track.pk}, frame {frame} appears twice (also item {seen[key]}).")
            seen[key] = index
            clean, bbox = validate_geometry(track.label, video, item.get("data"))
            version = item.get("version")
            if version is not None and (isinstance(version, bool) or not isinstance(version, int)):
                raise ValidationError("'version' must be the whole number you last saw.")
            confidence = item.get("confidence")
            source = item.get("source", FigureSource.MANUAL)
            if source not in CLIENT_SOURCES:
                raise ValidationError(
                    f"Source must be 'manual' or 'imported' (machine sources are for jobs), got {source!r}."
                )
            clean_items.append(
                {
                    "index": index,
                    "track": track,
                    "frame": frame,
                    "data": clean,
                    "bbox": bbox,
                    "version": version,
                    "is_keyframe": bool(item.get("is_keyframe", True)),
                    "outside": bool(item.get("outside", False)),
                    "confidence": None if confidence is None else _number(confidence, "Confidence"),
                    "source": source,
                }
            )
        except ValidationError as error:
            errors.append({"index": index, "detail": error.messages[0]})
    if errors:
        raise BulkInvalid(errors)

    frames = [c["frame"] for c in clean_items]
    now = timezone.now()
    result = BulkResult()
    try:
        with transaction.atomic():
            existing = {
                (f.track_id, f.frame): f
                for f in Figure.objects.select_for_update().filter(
                    video=video,
                    track_id__in={c["track"].pk for c in clean_items},
                    frame__gte=min(frames),
                    frame__lte=max(frames),
                )
            }
            conflicts, to_update, to_create = [], [], []
            for c in clean_items:
                row = existing.get((c["track"].pk, c["frame"]))
                if row is None:
                    if c["version"] is not None:  # the client edited a figure that was deleted since
                        conflicts.append((c["index"], None, c))
                        continue
                    to_create.append(c)
                elif c["version"] != row.version:
                    conflicts.append((c["index"], row, c))
                else:
                    to_update.append((c, row))
            if conflicts:
                raise _bulk_conflict(conflicts)
            for c, row in to_update:
                row.data = c["data"]
                row.x1, row.y1, row.x2, row.y2 = c["bbox"]
                row.is_keyframe, row.outside = c["is_keyframe"], c["outside"]
                row.confidence, row.source = c["confidence"], c["source"]
                row.version += 1
                row.updated_at, row.updated_by = now, user
                result.updated.append(row)
            Figure.objects.bulk_update(
                result.updated,
                ["data", "x1", "y1", "x2", "y2", "is_keyframe", "outside", "confidence", "source", "version",
                 "updated_at", "updated_by"],
                batch_size=500,
            )  # fmt: skip
            new_rows = [
                Figure(
                    track=c["track"],
                    video=video,
                    frame=c["frame"],
                    data=c["data"],
                    x1=c["bbox"][0],
                    y1=c["bbox"][1],
                    x2=c["bbox"][2],
                    y2=c["bbox"][3],
                    is_keyframe=c["is_keyframe"],
                    outside=c["outside"],
                    confidence=c["confidence"],
                    source=c["source"],
                    created_by=user,
                    updated_by=user,
                )
                for c in to_create
            ]
            Figure.objects.bulk_create(new_rows, batch_size=500)
            if new_rows and new_rows[0].pk is None:  # backends without RETURNING: read the ids back
                keys = {(f.track_id, f.frame) for f in new_rows}
                by_key = {
                    (f.track_id, f.frame): f
                    for f in Figure.objects.filter(video=video, track_id__in={k[0] for k in keys}, frame__in=frames)
                }
                new_rows = [by_key[(f.track_id, f.frame)] for f in new_rows]
            result.created = new_rows
    except IntegrityError:
        # Someone inserted one of these (track, frame) pairs between our read and our write.
        raise FigureConflict(
            "Someone else added figures on some of these frames at the same time; nothing was saved. Reload and retry.",
            items=[],
        ) from None
    _realtime().publish_figures_change("created", result.created, user=user)
    _realtime().publish_figures_change("updated", result.updated, user=user)
    return result


def _bulk_conflict(conflicts) -> FigureConflict:
    count = len(conflicts)
    return FigureConflict(
        f"Someone else changed {count} of these figure{'s' if count != 1 else ''} (first: item {conflicts[0][0]}); "
        "nothing was saved. Reapply your changes to the current figures.",
        items=[
            {"index": index, "track": c["track"].pk, "frame": c["frame"], "your_version": c["version"], "current": row}
            for index, row, c in conflicts
        ],
    )


# ---------------------------------------------------------------------------------------------
# machine writes


def is_protected(figure: Figure) -> bool:
    """A figure a person made or confirmed; machine runs must leave it alone."""
    return figure.is_keyframe or figure.source in PROTECTED_SOURCES


@dataclass
class MachineWriteResult:
    created: int = 0
    updated: int = 0
    skipped: int = 0  # frames where a manual/imported/keyframe figure was kept


def write_machine_figures(track: Track, figures: Iterable[dict], source: str, job=None) -> MachineWriteResult:
    """Store a machine's figures for one track, never overwriting what a person made.

    ``figures``: dicts with "frame", "data" (geometry for the label's shape), optional
    "confidence" and "outside". Frames holding a manual or imported figure, or a keyframe, are
    skipped; earlier machine figures on other frames are replaced (their version goes up so an
    editor holding the old one gets a conflict, not a silent overwrite)."""
    if source not in FigureSource.machine():
        raise ValidationError(f"'{source}' is not a machine source; use one of {', '.join(FigureSource.machine())}.")
    track = _track_for_write(track)
    video, label = track.video, track.label
    incoming: dict[int, dict] = {}
    for item in figures:
        frame = _check_frame(video, item["frame"])
        clean, bbox = validate_geometry(label, video, item["data"])
        confidence = item.get("confidence")
        incoming[frame] = {
            "data": clean,
            "bbox": bbox,
            "confidence": None if confidence is None else float(confidence),
            "outside": bool(item.get("outside", False)),
        }
    result = MachineWriteResult()
    if not incoming:
        return result
    now = timezone.now()
    with transaction.atomic():
        existing = {
            f.frame: f
            for f in Figure.objects.select_for_update().filter(
                track=track, frame__gte=min(incoming), frame__lte=max(incoming)
            )
        }
        to_update, to_create = [], []
        for frame, item in sorted(incoming.items()):
            row = existing.get(frame)
            if row is not None and is_protected(row):
                result.skipped += 1
                continue
            if row is None:
                row = Figure(track=track, video=video, frame=frame, is_keyframe=False)
                to_create.append(row)
            else:
                row.version += 1
                to_update.append(row)
            row.data = item["data"]
            row.x1, row.y1, row.x2, row.y2 = item["bbox"]
            row.confidence, row.outside = item["confidence"], item["outside"]
            row.source, row.job, row.updated_at = source, job, now
        Figure.objects.bulk_update(
            to_update,
            ["data", "x1", "y1", "x2", "y2", "confidence", "outside", "source", "job", "version", "updated_at"],
            batch_size=500,
        )
        Figure.objects.bulk_create(to_create, batch_size=500)
    result.created, result.updated = len(to_create), len(to_update)
    return result
