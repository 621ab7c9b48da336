"""Reads. Every query that returns project data is scoped by the caller's membership: an object of
a project the caller is not in is simply not in their querysets (so the API answers 404)."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db import connection
from django.db.models import OuterRef, Prefetch, QuerySet, Subquery

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
# The labeling tool asks for up to ~1,000 frames at a time: tens of thousands of figures. Model
# instances plus a DRF serializer cost ~200 µs a figure; building each JSON object at read time
# (SQLite json_object, or Python formatting of the columns) still cost 3-4 µs a figure. So the
# database keeps every figure's JSON object in ``doc`` (written by triggers, migration
# 0005_figure_doc) and the read is one aggregate that concatenates the stored text in the
# database: no per-row Python work at all. Should a row's doc be empty (triggers lost by a table
# rebuild), the same statement builds that row's object instead, so the answer is never wrong.

RANGE_KEYS = ("id", "track", "frame", "is_keyframe", "outside", "source", "confidence", "version", "data")
_RANGE_COLUMNS = ("id", "track_id", "frame", "is_keyframe", "outside", "source", "confidence", "version")

_SQLITE_BUILD = (
    "json_object('id', id, 'track', track_id, 'frame', frame, "
    "'is_keyframe', CASE WHEN is_keyframe THEN json('true') ELSE json('false') END, "
    "'outside', CASE WHEN outside THEN json('true') ELSE json('false') END, "
    "'source', source, 'confidence', confidence, 'version', version, 'data', json(data))"
)
_POSTGRES_BUILD = (
    "json_build_object('id', id, 'track', track_id, 'frame', frame, 'is_keyframe', is_keyframe, "
    "'outside', outside, 'source', source, 'confidence', confidence, 'version', version, 'data', data)::text"
)


def figures_in_range_json(video: Video | int, first: int, last: int, track_ids=None) -> str:
    """The figures of frames ``first..last`` (inclusive) as JSON array text, in (frame, id) order.

    Each figure: {"id", "track", "frame", "is_keyframe", "outside", "source", "confidence",
    "version", "data"}."""
    video_id = video.pk if isinstance(video, Video) else int(video)
    table = Figure._meta.db_table
    where, params = "video_id = %s AND frame >= %s AND frame <= %s", [video_id, first, last]
    if track_ids is not None:
        ids = [int(t) for t in track_ids]
        if not ids:
            return "[]"
        where += " AND track_id IN (" + ", ".join(["%s"] * len(ids)) + ")"
        params += ids
    if connection.vendor == "postgresql":
        sql = (
            f"SELECT string_agg(COALESCE(NULLIF(doc, ''), {_POSTGRES_BUILD}), ',' ORDER BY frame, id) "
            f"FROM {table} WHERE {where}"
        )
    else:
        # SQLite (3.40 here) has no ORDER BY inside an aggregate; an ordered subquery is not
        # flattened into an aggregate query, so group_concat sees its rows in that order
        # (tests/web/test_figure_doc.py checks the order on rows written out of order).
        # The subquery hands on one column: passing whole rows to the outer query cost twice as much.
        sql = (
            f"SELECT group_concat(j, ',') FROM (SELECT COALESCE(NULLIF(doc, ''), {_SQLITE_BUILD}) AS j "
            f"FROM {table} WHERE {where} ORDER BY frame, id)"
        )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        (text,) = cursor.fetchone()
    return "[" + (text or "") + "]"


def _range_query(video: Video | int, first: int, last: int, track_ids=None) -> QuerySet[Figure]:
    query = Figure.objects.filter(video=video, frame__gte=first, frame__lte=last)
    if track_ids is not None:
        query = query.filter(track_id__in=list(track_ids))
    return query.order_by("frame", "id")


def figures_in_range(video: Video | int, first: int, last: int, track_ids=None) -> list[dict]:
    """The same figures as ``figures_in_range_json``, as dicts (for Python callers)."""
    rows = _range_query(video, first, last, track_ids).values_list(*_RANGE_COLUMNS, "data")
    return [dict(zip(RANGE_KEYS, row, strict=True)) for row in rows]
