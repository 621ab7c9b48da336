"""Figure.doc, the stored JSON object the range read concatenates: the database writes it on every
insert and update whatever the code path (ORM create, bulk_create, save, queryset update, raw SQL),
the range read returns exactly what the columns say, in (frame, id) order, and still answers
correctly for a row whose doc is missing."""

from __future__ import annotations

import json

import pytest
from django.db import connection
from django.db.models import F

from labeling import selectors
from labeling.models import Figure, Track
from tests.web.conftest import make_box_figure

pytestmark = pytest.mark.django_db


def _expected(figure: Figure) -> dict:
    figure.refresh_from_db()
    return {
        "id": figure.pk, "track": figure.track_id, "frame": figure.frame, "is_keyframe": figure.is_keyframe,
        "outside": figure.outside, "source": figure.source, "confidence": figure.confidence,
        "version": figure.version, "data": figure.data,
    }  # fmt: skip


def _doc(figure: Figure) -> dict:
    figure.refresh_from_db()
    assert figure.doc, "the database did not write doc"
    return json.loads(figure.doc)


def test_doc_is_written_on_create_save_update_and_bulk(world):
    track = world.a.track
    figure = make_box_figure(track, 7, confidence=0.25, source="detector")
    assert _doc(figure) == _expected(figure)

    figure.data = {"x1": 1.5, "y1": 2.0, "x2": 30.0, "y2": 40.0}
    figure.is_keyframe = True
    figure.save()
    assert _doc(figure) == _expected(figure) and _doc(figure)["is_keyframe"] is True

    Figure.objects.filter(pk=figure.pk).update(version=F("version") + 1, outside=True, confidence=None)
    doc = _doc(figure)
    assert doc == _expected(figure) and doc["outside"] is True and doc["confidence"] is None

    created = Figure.objects.bulk_create(
        [Figure(track=track, video=track.video, frame=f, x1=0, y1=0, x2=5, y2=5, data={"x1": 0, "y1": 0, "x2": 5, "y2": 5})
         for f in (20, 21)]
    )  # fmt: skip
    for made in Figure.objects.filter(track=track, frame__in=(20, 21)):
        assert _doc(made) == _expected(made)
    assert len(created) == 2

    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {Figure._meta.db_table} SET source = 'sot' WHERE id = %s", [figure.pk])
    assert _doc(figure)["source"] == "sot"


def test_range_read_matches_the_columns_in_frame_then_id_order(world):
    video = world.a.video
    track_b = Track.objects.create(video=video, label=world.a.label, number=99)
    # Written out of order on purpose: frames descending, two tracks interleaved.
    for frame in (30, 12, 25, 12, 40):
        for track in (track_b, world.a.track):
            if not Figure.objects.filter(track=track, frame=frame).exists():
                make_box_figure(track, frame, x1=frame, source="detector", confidence=frame / 100)
    text = selectors.figures_in_range_json(video.pk, 10, 35)
    got = json.loads(text)
    expected = [_expected(f) for f in Figure.objects.filter(video=video, frame__gte=10, frame__lte=35).order_by("frame", "id")]
    assert got == expected and len(got) == 6
    assert json.loads(selectors.figures_in_range_json(video.pk, 10, 35, [track_b.pk])) == [
        e for e in expected if e["track"] == track_b.pk
    ]
    assert selectors.figures_in_range_json(video.pk, 500, 600) == "[]"
    assert selectors.figures_in_range_json(video.pk, 0, 99, []) == "[]"


def test_a_row_without_doc_is_still_answered_correctly(world):
    figure = make_box_figure(world.a.track, 50, confidence=0.5)
    table = Figure._meta.db_table
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET session_replication_role = replica")  # user triggers off, as if lost
        cursor.execute(f"UPDATE {table} SET doc = '' WHERE id = %s", [figure.pk])  # SQLite: doc is not a trigger column
        if connection.vendor == "postgresql":
            cursor.execute("SET session_replication_role = origin")
    figure.refresh_from_db()
    assert figure.doc == ""
    got = json.loads(selectors.figures_in_range_json(world.a.video.pk, 50, 50))
    assert got == [_expected(figure)]


def test_the_triggers_exist_after_all_migrations():
    """A later migration that rebuilds the figure table on SQLite drops its triggers: this fails then,
    and the fix is to run 0005_figure_doc's install statements again in that migration."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT tgname FROM pg_trigger WHERE tgrelid = 'labeling_figure'::regclass AND NOT tgisinternal")
        else:
            cursor.execute("SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'labeling_figure'")
        names = {row[0] for row in cursor.fetchall()}
    expected = {"labeling_figure_doc"} if connection.vendor == "postgresql" else {
        "labeling_figure_doc_insert", "labeling_figure_doc_update"}  # fmt: skip
    assert expected <= names
