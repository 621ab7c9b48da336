"""Track edits through the API: merge (overlap rule), split, relabel, renumber, delete a range, mark
outside; each one undoable and redoable, refused (409) when later changes touched the same tracks;
roles: annotators edit, viewers 403, strangers 404."""

from __future__ import annotations

import pytest

from labeling.models import EditRecord, Figure, FigureSource, LabelClass, ShapeKind, Track

pytestmark = pytest.mark.django_db


def make_track(world, number, frames, source=FigureSource.DETECTOR, x=10.0, label=None, keyframes=()):
    track = Track.objects.create(video=world.a.video, label=label or world.a.label, number=number, source=source)
    for f in frames:
        protected = f in keyframes
        Figure.objects.create(
            track=track, video=world.a.video, frame=f, x1=x + f, y1=20, x2=x + f + 30, y2=80,
            data={"x1": x + f, "y1": 20, "x2": x + f + 30, "y2": 80},
            source=FigureSource.MANUAL if protected else source, is_keyframe=protected,
            confidence=None if protected else 0.9,
        )  # fmt: skip
    return track


def state(video) -> dict:
    """Everything an edit may change, keyed by ids: tracks and their figures' content."""
    tracks = {t.pk: (t.number, t.label_id, t.source) for t in Track.objects.filter(video=video)}
    figures = {
        f.pk: (f.track_id, f.frame, f.x1, f.x2, f.data, f.source, f.is_keyframe, f.outside, f.confidence)
        for f in Figure.objects.filter(video=video)
    }
    return {"tracks": tracks, "figures": figures}


def edit(world, body, role="annotator"):
    return world.client(role).post(f"/api/videos/{world.a.video.pk}/edits/", body, format="json")


def undo(world, edit_id, role="annotator", redo=False):
    return world.client(role).post(f"/api/edits/{edit_id}/{'redo' if redo else 'undo'}/")


def test_merge_overlap_rule_and_undo_redo(world):
    a = make_track(world, 5, range(0, 10), x=10)
    b = make_track(world, 6, range(8, 20), x=100, keyframes={8})  # frame 8: a manual keyframe
    before = state(world.a.video)
    response = edit(world, {"op": "merge", "tracks": [a.pk, b.pk]})
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["edit"]["op"] == "merge" and body["edit"]["undone"] is False
    assert body["edit"]["params"]["result"] == {"keep": a.pk, "moved": 10, "overlap_frames": 2, "overlap_taken_from_other": 1}
    assert [t["id"] for t in body["tracks"]] == [a.pk] and body["tracks"][0]["number"] == 5
    assert body["deleted_tracks"] == [b.pk] and body["frames"] == [8, 19]
    merged = {f.frame: f for f in Figure.objects.filter(track=a)}
    assert sorted(merged) == list(range(20))
    assert merged[8].x1 == 108 and merged[8].source == FigureSource.MANUAL  # the person's figure won
    assert merged[9].x1 == 19  # neither protected: the kept track's stays
    assert not Track.objects.filter(pk=b.pk).exists()
    after = state(world.a.video)

    undone = undo(world, body["edit"]["id"])
    assert undone.status_code == 200, undone.json()
    assert undone.json()["edit"]["undone"] is True
    assert sorted(t["id"] for t in undone.json()["tracks"]) == [a.pk, b.pk] and undone.json()["deleted_tracks"] == []
    assert state(world.a.video) == before  # same ids, numbers, figures and content
    redone = undo(world, body["edit"]["id"], redo=True)
    assert redone.status_code == 200 and redone.json()["deleted_tracks"] == [b.pk]
    assert state(world.a.video) == after


def test_merge_keep_and_refusals(world):
    a = make_track(world, 5, range(0, 5))
    b = make_track(world, 6, range(6, 9))
    response = edit(world, {"op": "merge", "tracks": [a.pk, b.pk], "keep": b.pk})
    assert response.status_code == 201 and response.json()["deleted_tracks"] == [a.pk]
    assert Figure.objects.filter(track=b).count() == 8
    mask = LabelClass.objects.create(project=world.a.project, name="blob", shape=ShapeKind.MASK)
    c = Track.objects.create(video=world.a.video, label=mask, number=9)
    cases = [
        ({"op": "merge", "tracks": [b.pk, c.pk]}, "only tracks of the same shape can be merged"),
        ({"op": "merge", "tracks": [b.pk, b.pk]}, "two different tracks"),
        ({"op": "merge", "tracks": [b.pk]}, "ids of two tracks"),
        ({"op": "merge", "tracks": [b.pk, c.pk], "keep": 12345}, "'keep' must be one of"),
        ({"op": "merge", "tracks": [b.pk, world.b.track.pk]}, f"Track {world.b.track.pk} is not a track of this video"),
        ({"op": "glue", "tracks": [b.pk, c.pk]}, "Unknown op 'glue'"),
    ]
    for body, message in cases:
        response = edit(world, body)
        assert response.status_code == 400 and message in response.json()["detail"], (body, response.json())
    assert EditRecord.objects.count() == 1


def test_split_undo_redo_keeps_the_new_tracks_id(world):
    t = make_track(world, 3, range(0, 20))
    before = state(world.a.video)
    response = edit(world, {"op": "split", "track": t.pk, "frame": 12})
    assert response.status_code == 201, response.json()
    body = response.json()
    new = next(x for x in body["tracks"] if x["id"] != t.pk)
    assert new["number"] == 4 and body["frames"] == [12, 19]
    assert list(Figure.objects.filter(track_id=new["id"]).values_list("frame", flat=True).order_by("frame")) == list(range(12, 20))
    after = state(world.a.video)
    assert undo(world, body["edit"]["id"]).json()["deleted_tracks"] == [new["id"]]
    assert state(world.a.video) == before
    assert undo(world, body["edit"]["id"], redo=True).status_code == 200
    assert state(world.a.video) == after
    for bad, message in [
        ({"op": "split", "track": t.pk, "frame": 0}, "no figures on both sides of frame 0"),
        ({"op": "split", "track": t.pk, "frame": 5, "number": 1}, "Track number 1 is already used"),
        ({"op": "split", "track": t.pk, "frame": -1}, "'frame' must be a whole number from 0"),
    ]:
        response = edit(world, bad)
        assert response.status_code == 400 and message in response.json()["detail"]


def test_relabel_and_renumber(world):
    t = make_track(world, 3, range(0, 4))
    response = edit(world, {"op": "relabel", "track": t.pk, "label": world.a.spare_label.pk})
    assert response.status_code == 201 and response.json()["tracks"][0]["label"] == world.a.spare_label.pk
    assert response.json()["frames"] == [0, 3]
    mask = LabelClass.objects.create(project=world.a.project, name="blob", shape=ShapeKind.MASK)
    response = edit(world, {"op": "relabel", "track": t.pk, "label": mask.pk})
    assert response.status_code == 400 and "same shape" in response.json()["detail"]
    response = edit(world, {"op": "relabel", "track": t.pk, "label": world.b.label.pk})
    assert response.status_code == 400 and "not a label of this project" in response.json()["detail"]

    response = edit(world, {"op": "renumber", "track": t.pk, "number": 1})
    assert response.status_code == 400
    assert response.json()["detail"].startswith("Track number 1 is already used in this video")
    response = edit(world, {"op": "renumber", "track": t.pk, "number": 42})
    assert response.status_code == 201 and response.json()["tracks"][0]["number"] == 42
    assert undo(world, response.json()["edit"]["id"]).json()["tracks"][0]["number"] == 3
    # undoing the relabel now is fine: the renumber was undone, the tracks are as the relabel left them
    first = EditRecord.objects.filter(op="relabel").get()
    assert undo(world, first.pk).status_code == 200
    assert Track.objects.get(pk=t.pk).label_id == world.a.label.pk


def test_delete_range_is_inclusive_and_undoable(world):
    t = make_track(world, 3, range(0, 10))
    before = state(world.a.video)
    response = edit(world, {"op": "delete_range", "track": t.pk, "start": 2, "stop": 4})
    assert response.status_code == 201 and response.json()["frames"] == [2, 4]
    assert list(Figure.objects.filter(track=t).values_list("frame", flat=True).order_by("frame")) == [0, 1, 5, 6, 7, 8, 9]
    undo(world, response.json()["edit"]["id"])
    assert state(world.a.video) == before
    for bad, message in [
        ({"op": "delete_range", "track": t.pk, "start": 50, "stop": 60}, "no figures on frames 50..60"),
        ({"op": "delete_range", "track": t.pk, "start": 5, "stop": 4}, "backwards"),
    ]:
        response = edit(world, bad)
        assert response.status_code == 400 and message in response.json()["detail"]


def test_outside_removes_machine_figures_until_the_next_person_made_one(world):
    t = make_track(world, 3, range(0, 10), keyframes={0, 7})
    response = edit(world, {"op": "outside", "track": t.pk, "frame": 3})
    assert response.status_code == 201, response.json()
    assert response.json()["frames"] == [3, 6] and response.json()["edit"]["params"]["result"] == {"removed_after": 3}
    figures = {f.frame: f for f in Figure.objects.filter(track=t)}
    assert sorted(figures) == [0, 1, 2, 3, 7, 8, 9]
    assert figures[3].outside and figures[3].is_keyframe and figures[3].source == FigureSource.MANUAL
    # a frame without a figure: one is made from the nearest earlier figure
    response = edit(world, {"op": "outside", "track": t.pk, "frame": 5})
    assert response.status_code == 201
    made = Figure.objects.get(track=t, frame=5)
    assert made.outside and made.x1 == 13  # copied from frame 3


def test_undo_refused_when_later_edits_or_figure_changes_touched_the_tracks(world):
    a = make_track(world, 5, range(0, 5))
    b = make_track(world, 6, range(6, 9))
    merge = edit(world, {"op": "merge", "tracks": [a.pk, b.pk]}).json()["edit"]["id"]
    relabel = edit(world, {"op": "relabel", "track": a.pk, "label": world.a.spare_label.pk}).json()["edit"]["id"]
    response = undo(world, merge)
    assert response.status_code == 409
    assert response.json()["detail"] == (
        f"Cannot undo edit {merge} (merge): Later edits touched the same tracks: relabel (edit {relabel}). Undo those first."
    )
    assert undo(world, relabel).status_code == 200 and undo(world, merge).status_code == 200
    assert undo(world, merge).status_code == 409  # already undone
    assert "already undone" in undo(world, merge).json()["detail"]

    split = edit(world, {"op": "split", "track": a.pk, "frame": 3}).json()
    new_track = next(x["id"] for x in split["tracks"] if x["id"] != a.pk)
    figure = Figure.objects.filter(track_id=new_track).first()
    patched = world.client("annotator").patch(
        f"/api/figures/{figure.pk}/", {"version": figure.version, "data": {"x1": 1, "y1": 1, "x2": 9, "y2": 9}}, format="json"
    )
    assert patched.status_code == 200
    response = undo(world, split["edit"]["id"])
    assert response.status_code == 409 and "would lose that work" in response.json()["detail"]
    assert Track.objects.filter(pk=new_track).exists()
    response = undo(world, split["edit"]["id"], redo=True)
    assert response.status_code == 409 and "nothing to redo" in response.json()["detail"]


def test_restored_figures_get_newer_versions(world):
    t = make_track(world, 3, range(0, 4))
    figure = Figure.objects.get(track=t, frame=2)
    response = edit(world, {"op": "delete_range", "track": t.pk, "start": 2, "stop": 2})
    undo(world, response.json()["edit"]["id"])
    restored = Figure.objects.get(pk=figure.pk)
    assert restored.version > figure.version  # a client holding the old copy gets a conflict, not a silent write


@pytest.mark.parametrize("role, code", [("viewer", 403), ("outsider", 404), ("anonymous", 401), ("manager", 201)])
def test_edit_roles(world, role, code):
    t = make_track(world, 3, range(0, 4))
    response = edit(world, {"op": "renumber", "track": t.pk, "number": 8}, role=role)
    assert response.status_code == code
    assert Track.objects.get(pk=t.pk).number == (8 if code == 201 else 3)


@pytest.mark.parametrize("role, code", [("viewer", 403), ("outsider", 404), ("anonymous", 401), ("owner", 200)])
def test_undo_roles(world, role, code):
    t = make_track(world, 3, range(0, 4))
    edit_id = edit(world, {"op": "renumber", "track": t.pk, "number": 8}).json()["edit"]["id"]
    assert undo(world, edit_id, role=role).status_code == code
    assert Track.objects.get(pk=t.pk).number == (3 if code == 200 else 8)


def test_edit_list(world):
    t = make_track(world, 3, range(0, 4))
    edit(world, {"op": "renumber", "track": t.pk, "number": 8})
    listed = world.client("viewer").get(f"/api/videos/{world.a.video.pk}/edits/").json()
    assert [(e["op"], e["params"]["number"], e["by"]) for e in listed] == [("renumber", 8, world.users["annotator"].pk)]
    assert world.client("outsider").get(f"/api/videos/{world.a.video.pk}/edits/").status_code == 404


def test_undo_after_the_job_and_label_were_deleted(world):
    a = make_track(world, 5, range(0, 3))
    b = Track.objects.create(video=world.a.video, label=world.a.spare_label, number=6)
    Figure.objects.create(track=b, video=world.a.video, frame=7, x1=1, y1=1, x2=9, y2=9,
                          data={"x1": 1, "y1": 1, "x2": 9, "y2": 9}, source=FigureSource.DETECTOR, job=world.a.job)  # fmt: skip
    merge = edit(world, {"op": "merge", "tracks": [a.pk, b.pk]}).json()["edit"]["id"]
    world.a.job.delete()  # the job that made the moved figure is gone: undo still works
    response = undo(world, merge)
    assert response.status_code == 200, response.json()
    assert Figure.objects.get(track=b, frame=7).job_id is None
    assert undo(world, merge, redo=True).status_code == 200
    world.a.spare_label.delete()  # b's label, free again after the merge
    response = undo(world, merge)
    assert response.status_code == 409 and "label these tracks had was deleted" in response.json()["detail"]
    assert not Track.objects.filter(pk=b.pk).exists()
