"""Import and export of annotations (MOTChallenge, CVAT for video 1.1, YOLO per frame, COCO video JSON).

Export streams: figures are read from the database in the order the format's writer wants, in
chunks, and written piece by piece (tracking.formats). Import is all or nothing: the whole file is
parsed and every row checked (format, frame range, label, geometry, track numbers) before a single
row is written, then tracks and figures are created in one transaction.

Track IDs are track numbers. Label mapping on import, in this order: the ``label`` asked for (every
row goes there); the label the file names (CVAT, COCO, YOLO with classes.txt; same name in the
project); a class id (MOT's 9-column class = 1-based position in the project's label list, as
Trackroom writes it; YOLO without classes.txt = 0-based position); else the project's first box label.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import Max

from labeling.models import DetectionSet, Figure, FigureSource, LabelClass, Project, ShapeKind, Track, Video
from labeling.services.annotations import validate_geometry
from tracking.formats import FormatError, LabelSpec, RowError, Shape, VideoMeta, export_bytes, get_format, zip_stream
from tracking.formats import mot as mot_format
from tracking.formats.base import chunked

AS_TRACKS, AS_DETECTIONS = "tracks", "detections"
FETCH_CHUNK = 2000
DEFAULT_MAX_IMPORT_BYTES = 256 * 1024**2


class ImportInvalid(FormatError):
    """Rows that cannot be imported; nothing was stored. ``errors``: [RowError]."""


def max_import_bytes() -> int:
    return int(getattr(settings, "TRACKROOM_MAX_IMPORT_BYTES", DEFAULT_MAX_IMPORT_BYTES))


# --------------------------------------------------------------------------------------------- export


def project_labels(project_id: int) -> list[LabelClass]:
    return list(LabelClass.objects.filter(project_id=project_id).order_by("id"))


def video_meta(video: Video, labels: list[LabelClass] | None = None) -> VideoMeta:
    labels = project_labels(video.project_id) if labels is None else labels
    specs = [
        LabelSpec(label.name, label.shape, label.color, tuple((label.skeleton or {}).get("keypoints") or ()))
        for label in labels
    ]
    return VideoMeta(video.name, video.width, video.height, video.frame_count, video.fps, specs)


_COLUMNS = ("frame", "track__number", "track__label__name", "track__label__shape", "x1", "y1", "x2", "y2",
            "data", "confidence", "outside", "is_keyframe")  # fmt: skip


def video_shapes(video: Video | int, order: str = "frame", track_ids=None) -> Iterator[Shape]:
    """The video's figures as format shapes, sorted by (frame, track number) or (track number, frame),
    read from the database in chunks."""
    query = Figure.objects.filter(video=video)
    if track_ids is not None:
        query = query.filter(track_id__in=list(track_ids))
    ordering = ("frame", "track__number") if order == "frame" else ("track__number", "frame")
    rows = query.order_by(*ordering).values_list(*_COLUMNS).iterator(chunk_size=FETCH_CHUNK)
    for frame, number, label, kind, x1, y1, x2, y2, data, conf, outside, keyframe in rows:
        data = data or {}
        yield Shape(
            frame=frame, track=number, kind=kind, bbox=(x1, y1, x2, y2), data=data, label=label,
            confidence=conf, outside=outside, keyframe=keyframe, visibility=float(data.get("visibility", 1.0)),
        )  # fmt: skip


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("._") or "video"


def export_filename(video: Video, format_name: str) -> str:
    fmt = get_format(format_name)
    stem = _slug(video.name.rsplit(".", 1)[0])
    return f"{stem}-{format_name}.{fmt.extension}"


def export_video(video: Video, format_name: str) -> tuple[str, str, Iterator[bytes]]:
    """(file name, content type, bytes piece by piece). Nothing is read until the pieces are."""
    fmt = get_format(format_name)

    def pieces() -> Iterator[bytes]:
        meta = video_meta(video)
        yield from export_bytes(fmt, meta, video_shapes(video, fmt.order))

    return export_filename(video, format_name), fmt.content_type, pieces()


def export_project(project: Project, format_name: str, videos=None) -> tuple[str, str, Iterator[bytes]]:
    """A zip with one folder per video holding that video's export (YOLO: its classes.txt and labels/)."""
    fmt = get_format(format_name)
    videos = list(videos if videos is not None else Video.objects.filter(project=project).order_by("id"))

    def entries():
        labels = project_labels(project.pk)
        for video in videos:
            folder = f"{video.pk:05d}-{_slug(video.name.rsplit('.', 1)[0])}"
            meta = video_meta(video, labels)
            default = f"annotations.{fmt.extension}" if not fmt.multi_file else None
            for name, pieces in fmt.write(meta, video_shapes(video, fmt.order)):
                yield f"{folder}/{default or name}", pieces

    return f"{_slug(project.name)}-{format_name}.zip", "application/zip", zip_stream(entries())


# --------------------------------------------------------------------------------------------- import


@dataclass
class ImportResult:
    tracks: list[Track] = field(default_factory=list)
    figures: int = 0
    detection_set: DetectionSet | None = None


def _where(shape: Shape) -> tuple[int | None, str | None]:
    return shape.line, shape.where


def _label_resolver(video: Video, label: LabelClass | None, fmt_name: str):
    labels = project_labels(video.project_id)
    by_name = {l.name: l for l in labels}
    first_box = next((l for l in labels if l.shape == ShapeKind.BOX), None)

    def resolve(shape: Shape) -> LabelClass:
        if label is not None:
            return label
        if shape.label is not None:
            found = by_name.get(shape.label)
            if found is None:
                names = ", ".join(by_name) or "none yet"
                raise ValidationError(
                    f"this project has no label named '{shape.label}' (its labels: {names}); create it, or import "
                    "with label=<id> to put every row under one label."
                )
            return found
        if shape.cls is not None:
            index = shape.cls - 1 if fmt_name == "mot" else shape.cls
            if 0 <= index < len(labels):
                return labels[index]
            raise ValidationError(
                f"class {shape.cls} has no label: this project has {len(labels)} label(s), and class ids count them "
                f"in order ({'from 1' if fmt_name == 'mot' else 'from 0'}); import with label=<id> to put every row "
                "under one label."
            )
        if first_box is None:
            raise ValidationError("this project has no box label to put the rows under; create one or give label=<id>.")
        return first_box

    return resolve


def _geometry_for(label: LabelClass, shape: Shape) -> dict:
    if label.shape == ShapeKind.BOX:
        x1, y1, x2, y2 = shape.bbox
        return {"x1": x1, "y1": y1, "x2": x2, "y2": y2}
    if label.shape == shape.kind:
        return shape.data
    raise ValidationError(f"label '{label.name}' holds {label.shape} figures but this row is a {shape.kind}.")


def _read(video: Video, data: bytes, format_name: str, require_ids: bool) -> list[Shape]:
    fmt = get_format(format_name)
    if len(data) > max_import_bytes():
        raise ImportInvalid([RowError(None, f"the file is {len(data)} bytes; imports take at most {max_import_bytes()}.")])
    if not data.strip():
        raise ImportInvalid([RowError(None, "the file is empty.")])
    try:
        return fmt.read(data, video_meta(video), require_ids=require_ids)
    except FormatError as exc:
        raise ImportInvalid(exc.errors) from None


def import_annotations(
    *,
    video: Video,
    data: bytes,
    format_name: str,
    as_: str = AS_TRACKS,
    label: LabelClass | None = None,
    user=None,
    name: str | None = None,
    renumber: bool = False,
) -> ImportResult:
    """Import a file as tracks (source imported) or as a detection set. All or nothing: raises
    ImportInvalid listing every bad row (with its line) and stores nothing."""
    if as_ not in (AS_TRACKS, AS_DETECTIONS):
        raise ValidationError(f"'as' must be '{AS_TRACKS}' or '{AS_DETECTIONS}', got {as_!r}.")
    if label is not None and label.project_id != video.project_id:
        raise ValidationError("The label belongs to another project than the video.")
    get_format(format_name)  # unknown names fail before reading
    user = user if getattr(user, "is_authenticated", False) else None
    shapes = _read(video, data, format_name, require_ids=as_ == AS_TRACKS)
    if as_ == AS_DETECTIONS:
        return _import_detections(video, shapes, user, name or f"{format_name} detections")
    return _import_tracks(video, shapes, format_name, label, user, renumber)


def _import_tracks(video, shapes, format_name, label, user, renumber) -> ImportResult:
    resolve = _label_resolver(video, label, format_name)
    errors: list[RowError] = []
    track_labels: dict[int, tuple[LabelClass, Shape]] = {}
    rows: list[tuple[Shape, dict, tuple]] = []
    for shape in shapes:
        if len(errors) >= 100:
            break
        line, where = _where(shape)
        try:
            lab = resolve(shape)
            first = track_labels.setdefault(shape.track, (lab, shape))
            if first[0].pk != lab.pk:
                raise ValidationError(
                    f"track {shape.track} is '{lab.name}' here but '{first[0].name}' at "
                    f"{first[1].where or f'line {first[1].line}'}; a track has one label."
                )
            clean, bbox = validate_geometry(lab, video, _geometry_for(lab, shape))
        except ValidationError as exc:
            errors.append(RowError(line, exc.messages[0], where))
            continue
        if shape.visibility != 1.0:
            clean["visibility"] = shape.visibility
        rows.append((shape, clean, bbox))
    if not shapes:
        errors.append(RowError(None, "the file holds no annotations."))
    if errors:
        raise ImportInvalid(errors)

    with transaction.atomic():
        Video.objects.select_for_update().filter(pk=video.pk).values_list("pk").first()
        numbers = sorted(track_labels)
        taken = set(Track.objects.filter(video=video, number__in=numbers).values_list("number", flat=True))
        mapping = {n: n for n in numbers}
        if renumber:
            top = Track.objects.filter(video=video).aggregate(top=Max("number"))["top"] or 0
            mapping = {n: top + i for i, n in enumerate(numbers, 1)}
        elif taken:
            clash = [
                RowError(
                    track_labels[n][1].line,
                    f"track {n} is already used in this video; delete that track first, or import with "
                    "renumber=true to give the imported tracks the next free numbers.",
                    track_labels[n][1].where,
                )
                for n in sorted(taken)
            ]
            raise ImportInvalid(clash)
        tracks = Track.objects.bulk_create(
            [
                Track(video=video, label=track_labels[n][0], number=mapping[n], source=FigureSource.IMPORTED,
                      created_by=user)
                for n in numbers
            ]  # fmt: skip
        )
        if tracks and tracks[0].pk is None:  # backends without RETURNING
            tracks = list(Track.objects.filter(video=video, number__in=list(mapping.values())).order_by("number"))
        by_number = {t.number: t for t in tracks}
        figures = [
            Figure(
                track=by_number[mapping[s.track]], video=video, frame=s.frame, data=clean,
                x1=bbox[0], y1=bbox[1], x2=bbox[2], y2=bbox[3], is_keyframe=s.keyframe, outside=s.outside,
                source=FigureSource.IMPORTED, confidence=s.confidence, created_by=user, updated_by=user,
            )
            for s, clean, bbox in rows
        ]  # fmt: skip
        Figure.objects.bulk_create(figures, batch_size=1000)
        _publish_import(video, tracks, len(figures), user)
    return ImportResult(tracks=tracks, figures=len(figures))


def _publish_import(video: Video, tracks: list[Track], figures: int, user) -> None:
    from labeling import realtime

    by = getattr(user, "pk", None)
    track_ids = [t.pk for t in tracks]

    def event() -> dict:
        fresh = Track.objects.filter(pk__in=track_ids).order_by("number")
        return {
            "type": "annotations.imported",
            "video": video.pk,
            "tracks": [realtime.track_event_dict(t) for t in fresh],
            "figures": figures,
            "by": by,
        }

    realtime.publish_on_commit(video.pk, event)


def _import_detections(video, shapes, user, name) -> ImportResult:
    errors = []
    w, h = video.width, video.height
    for s in shapes:
        x1, y1, x2, y2 = s.bbox
        if not (-w <= x1 <= 2 * w and -h <= y1 <= 2 * h and -w <= x2 <= 2 * w and -h <= y2 <= 2 * h):
            errors.append(RowError(s.line, f"the box is far outside the {w}x{h} video; coordinates are frame pixels.", s.where))
    if not shapes:
        errors.append(RowError(None, "the file holds no detections."))
    if errors:
        raise ImportInvalid(errors[:100])
    shapes = sorted(shapes, key=lambda s: s.frame)
    text = "".join(chunked(mot_format.write_detections(shapes)))
    stored = None
    try:
        with transaction.atomic():
            detection_set = DetectionSet(video=video, name=name[:255], rows=len(shapes), created_by=user)
            detection_set.file.save("det.txt", ContentFile(text.encode()), save=False)
            stored = detection_set.file.name
            detection_set.save()
    except BaseException:
        if stored:
            detection_set.file.storage.delete(stored)
        raise
    return ImportResult(detection_set=detection_set)


def detection_set_delete(*, detection_set: DetectionSet) -> None:
    name = detection_set.file.name
    storage = detection_set.file.storage
    detection_set.delete()
    transaction.on_commit(lambda: storage.delete(name))


__all__ = [
    "AS_DETECTIONS", "AS_TRACKS", "ImportInvalid", "ImportResult", "export_project", "export_video",
    "import_annotations", "video_meta", "video_shapes",
]  # fmt: skip
