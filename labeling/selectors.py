"""Reads. Every query that returns project data is scoped by the caller's membership: an object of
a project the caller is not in is simply not in their querysets (so the API answers 404)."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db import connection
from django.db.models import OuterRef, Prefetch, QuerySet, Subquery, TextField
from django.db.models.expressions import RawSQL
from django.db.models.functions import Cast

from .models import Figure, Job, LabelClass, Membership, Project, Track, Video


def projects_for_user(user) -> QuerySet[Project]:
    """The caller's projects, each annotated with ``my_role``."""
    if not user.is_authenticated:
        return Project.objects.none()
    role = Membership.objects.filter(project=OuterRef("pk"), user=user).values("role")[:1]
    return Project.objects.filter(memberships__user=user).annotate(my_role=Subquery(role))


def _member_project_ids(user):
    return Membership.objects.filter(user=user).values("project_id")


def memberships_of_user(user) -> QuerySet[Membership]:
    return Membership.objects.filter(user=user).select_related("project").order_by("project_id")


def user_with_memberships(user):
    """The user with ``memberships`` (and their projects) loaded in two queries."""
    return (
        get_user_model()
        .objects.prefetch_related(Prefetch("memberships", queryset=memberships_of_user(user)))
        .get(pk=user.pk)
    )


def memberships_of_project(project: Project | int) -> QuerySet[Membership]:
    return Membership.objects.filter(project=project).select_related("user")


def label_classes_of_project(project: Project | int) -> QuerySet[LabelClass]:
    return LabelClass.objects.filter(project=project)


def videos_for_user(user) -> QuerySet[Video]:
    if not user.is_authenticated:
        return Video.objects.none()
    return Video.objects.filter(project_id__in=_member_project_ids(user))


def label_classes_for_user(user) -> QuerySet[LabelClass]:
    if not user.is_authenticated:
        return LabelClass.objects.none()
    return LabelClass.objects.filter(project_id__in=_member_project_ids(user))


def tracks_for_user(user) -> QuerySet[Track]:
    if not user.is_authenticated:
        return Track.objects.none()
    return Track.objects.filter(video__project_id__in=_member_project_ids(user)).select_related("video")


def tracks_of_video(video: Video | int) -> QuerySet[Track]:
    return Track.objects.filter(video=video).select_related("label")


def figures_for_user(user) -> QuerySet[Figure]:
    if not user.is_authenticated:
        return Figure.objects.none()
    return Figure.objects.filter(video__project_id__in=_member_project_ids(user)).select_related("video")


def jobs_for_user(user) -> QuerySet[Job]:
    if not user.is_authenticated:
        return Job.objects.none()
    return Job.objects.filter(project_id__in=_member_project_ids(user))


# --- the hot read: figures of a frame window -------------------------------------------------
#
# The labeling tool asks for ~1,000 frames at a time: tens of thousands of figures. Model
# instances plus a DRF serializer cost ~200 µs a figure, so this read builds the JSON text
# directly from plain column values, and keeps ``data`` as the JSON text the database already
# holds (no decode and re-encode). Only the columns the tool needs are read: ``data`` is the
# geometry, so the x1..y2 bbox columns (which repeat it) are left out.
#   SQLite: json_object() in C is the cheapest way there (measured against Python formatting).
#   PostgreSQL: its json_build_object/concatenation cost ~7 µs a row server-side; reading the
#   plain columns and formatting them in Python is about three times cheaper.
# Rows come in (frame, id) order, the (video, frame) index's own order on SQLite: no sort step.

RANGE_KEYS = ("id", "track", "frame", "is_keyframe", "outside", "source", "confidence", "version", "data")
_RANGE_COLUMNS = ("id", "track_id", "frame", "is_keyframe", "outside", "source", "confidence", "version")
_ROW_TEMPLATE = (
    '{"id":%d,"track":%d,"frame":%d,"is_keyframe":%s,"outside":%s,"source":"%s","confidence":%s,'
    '"version":%d,"data":%s}'
)
_JSON_BOOL = ("false", "true")


def _sqlite_row_json() -> RawSQL:
    # Booleans are 0/1 integers in SQLite: json('true') makes them JSON booleans (a constant,
    # so SQLite computes it once). json(data) marks the stored text as JSON so it is embedded,
    # not quoted as a string.
    args = []
    for key, column in zip(RANGE_KEYS, (*_RANGE_COLUMNS, "data"), strict=True):
        if column in ("is_keyframe", "outside"):
            args.append(f"'{key}', CASE WHEN {column} THEN json('true') ELSE json('false') END")
        elif column == "data":
            args.append(f"'{key}', json({column})")
        else:
            args.append(f"'{key}', {column}")
    return RawSQL("json_object(" + ", ".join(args) + ")", (), output_field=TextField())


def _range_query(video: Video | int, first: int, last: int, track_ids=None) -> QuerySet[Figure]:
    query = Figure.objects.filter(video=video, frame__gte=first, frame__lte=last)
    if track_ids is not None:
        query = query.filter(track_id__in=list(track_ids))
    return query.order_by("frame", "id")


def _fetch_all(query: QuerySet) -> list[tuple]:
    # The ORM writes the SQL; the rows are fetched in one go, skipping Django's per-row iterator
    # (these columns need no converters: strings, numbers and PostgreSQL booleans).
    sql, params = query.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def figures_in_range_json(video: Video | int, first: int, last: int, track_ids=None) -> str:
    """The figures of frames ``first..last`` (inclusive) as JSON array text, in frame order.

    Each figure: {"id", "track", "frame", "is_keyframe", "outside", "source", "confidence",
    "version", "data"}."""
    query = _range_query(video, first, last, track_ids)
    if connection.vendor == "sqlite":
        return "[" + ",".join(row[0] for row in _fetch_all(query.values_list(_sqlite_row_json()))) + "]"
    rows = _fetch_all(query.values_list(*_RANGE_COLUMNS, Cast("data", TextField())))
    # source is one of FigureSource's values (no quotes to escape); confidence is finite.
    parts = [
        _ROW_TEMPLATE
        % (pk, track, frame, _JSON_BOOL[key], _JSON_BOOL[out], source, "null" if c is None else repr(c), ver, data)
        for pk, track, frame, key, out, source, c, ver, data in rows
    ]
    return "[" + ",".join(parts) + "]"


def figures_in_range(video: Video | int, first: int, last: int, track_ids=None) -> list[dict]:
    """The same figures as ``figures_in_range_json``, as dicts (for Python callers)."""
    rows = _range_query(video, first, last, track_ids).values_list(*_RANGE_COLUMNS, "data")
    return [dict(zip(RANGE_KEYS, row, strict=True)) for row in rows]
