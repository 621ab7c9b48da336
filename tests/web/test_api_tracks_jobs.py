"""Tracks (numbering, label rules) and jobs (read, cancel)."""

from __future__ import annotations

import pytest

from labeling.models import Job, JobKind, JobStatus, LabelClass, Membership, Role, ShapeKind, Track

pytestmark = pytest.mark.django_db


def test_track_numbers_default_to_next_free(world):
    api = world.client("annotator")
    video, label = world.a.video, world.a.label
    numbers = [api.post("/api/tracks/", {"video": video.pk, "label": label.pk}, format="json").json()["number"]
               for _ in range(2)]  # fmt: skip
    assert numbers == [2, 3]
    response = api.post("/api/tracks/", {"video": video.pk, "label": label.pk, "number": 10}, format="json")
    assert response.status_code == 201 and response.json()["number"] == 10
    assert api.post("/api/tracks/", {"video": video.pk, "label": label.pk}, format="json").json()["number"] == 11
    response = api.post("/api/tracks/", {"video": video.pk, "label": label.pk, "number": 10}, format="json")
    assert response.status_code == 400 and "already used" in response.json()["detail"]
    assert response.json()["detail"]


def test_track_label_must_belong_to_the_videos_project(world):
    # A user in both projects can see B's label, but it cannot label a video of A.
    Membership.objects.create(user=world.users["owner"], project=world.b.project, role=Role.VIEWER)
    response = world.client("owner").post(
        "/api/tracks/", {"video": world.a.video.pk, "label": world.b.label.pk}, format="json"
    )
    assert response.status_code == 400 and "another project" in response.json()["detail"]
    # For someone not in B, B's label does not exist at all.
    response = world.client("annotator").post(
        "/api/tracks/", {"video": world.a.video.pk, "label": world.b.label.pk}, format="json"
    )
    assert response.status_code == 404


def test_track_relabel_keeps_the_shape_kind(world):
    api = world.client("annotator")
    mask = LabelClass.objects.create(project=world.a.project, name="blob", shape=ShapeKind.MASK)
    url = f"/api/tracks/{world.a.track.pk}/"
    response = api.patch(url, {"label": mask.pk}, format="json")
    assert response.status_code == 400 and "same shape" in response.json()["detail"]
    response = api.patch(url, {"label": world.a.spare_label.pk, "version": 1}, format="json")
    assert response.status_code == 200 and response.json()["label"] == world.a.spare_label.pk
    assert response.json()["version"] == 2
    response = api.patch(url, {"attributes": {"a": 1}, "version": 1}, format="json")
    assert response.status_code == 400 and "Someone else changed this track" in response.json()["detail"]


def test_tracks_filter_by_video(world, make):
    other_video = make.video(world.a.project, name="second.avi")
    Track.objects.create(video=other_video, label=world.a.label, number=1)
    api = world.client("viewer")
    assert api.get("/api/tracks/").json()["count"] == 2
    only = api.get(f"/api/tracks/?video={world.a.video.pk}").json()["results"]
    assert [t["id"] for t in only] == [world.a.track.pk]


def test_deleting_a_track_deletes_its_figures(world):
    assert world.client("annotator").delete(f"/api/tracks/{world.a.track.pk}/").status_code == 204
    assert not world.a.video.figures.exists()


# --- jobs -----------------------------------------------------------------------------------------------


def test_cancel_queued_running_and_finished_jobs(world):
    api = world.client("annotator")
    queued = world.a.job
    response = api.post(f"/api/jobs/{queued.pk}/cancel/")
    assert response.status_code == 200
    assert response.json()["status"] == "cancelled" and response.json()["finished_at"]

    running = Job.objects.create(project=world.a.project, kind=JobKind.AUTO_TRACK, status=JobStatus.RUNNING)
    response = api.post(f"/api/jobs/{running.pk}/cancel/")
    assert response.json()["status"] == "running" and response.json()["cancel_requested"] is True

    done = Job.objects.create(project=world.a.project, kind=JobKind.RENDER, status=JobStatus.DONE)
    response = api.post(f"/api/jobs/{done.pk}/cancel/")
    assert response.status_code == 400 and "already finished (done)" in response.json()["detail"]


def test_jobs_filter(world):
    Job.objects.create(project=world.a.project, kind=JobKind.RENDER, status=JobStatus.DONE)
    api = world.client("viewer")
    assert api.get("/api/jobs/").json()["count"] == 2
    done = api.get("/api/jobs/?status=done").json()["results"]
    assert [j["kind"] for j in done] == ["render"]
    by_video = api.get(f"/api/jobs/?video={world.a.video.pk}").json()["results"]
    assert [j["id"] for j in by_video] == [world.a.job.pk]
    assert api.get("/api/jobs/?status=bogus").status_code == 400
