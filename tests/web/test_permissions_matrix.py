"""Every endpoint × every role, with the expected status written out.

Columns: owner, manager, annotator, viewer, outsider (signed in, no project), anonymous.
Rows with ``other=True`` act on an object of *another* project (none of these users is in it):
that must be 404 for every signed-in caller (never 403, so ids do not leak) and 401 without
credentials.
"""

from __future__ import annotations

import pytest

ROLES = ["owner", "manager", "annotator", "viewer", "outsider", "anonymous"]

BOX = {"x1": 5, "y1": 5, "x2": 40, "y2": 60}


def expect(owner, manager, annotator, viewer, outsider, anonymous):
    return dict(zip(ROLES, (owner, manager, annotator, viewer, outsider, anonymous), strict=True))


OTHER = expect(404, 404, 404, 404, 404, 401)

# name: (method, url(world, objects), body(world, objects) or None, expected)
# fmt: off
# ``objects`` is world.a for own-project rows; the OTHER rows repeat the same call on world.b.
ENDPOINTS = {
    # projects
    "project-list": ("get", lambda w, o: "/api/projects/", None, expect(200, 200, 200, 200, 200, 401)),
    "project-create": ("post", lambda w, o: "/api/projects/", lambda w, o: {"name": "New"},
                       expect(201, 201, 201, 201, 201, 401)),
    "project-retrieve": ("get", lambda w, o: f"/api/projects/{o.project.pk}/", None,
                         expect(200, 200, 200, 200, 404, 401)),
    "project-patch": ("patch", lambda w, o: f"/api/projects/{o.project.pk}/", lambda w, o: {"name": "Renamed"},
                      expect(200, 403, 403, 403, 404, 401)),
    "project-put": ("put", lambda w, o: f"/api/projects/{o.project.pk}/",
                    lambda w, o: {"name": "Renamed", "description": "d"},
                    expect(200, 403, 403, 403, 404, 401)),
    "project-delete": ("delete", lambda w, o: f"/api/projects/{o.project.pk}/", None,
                       expect(204, 403, 403, 403, 404, 401)),
    # members
    "member-list": ("get", lambda w, o: f"/api/projects/{o.project.pk}/members/", None,
                    expect(200, 200, 200, 200, 404, 401)),
    "member-create": ("post", lambda w, o: f"/api/projects/{o.project.pk}/members/",
                      lambda w, o: {"username": "outsider", "role": "viewer"}, expect(201, 201, 403, 403, 404, 401)),
    "member-retrieve": ("get", lambda w, o: f"/api/projects/{o.project.pk}/members/{o.viewer_membership.pk}/", None,
                        expect(200, 200, 200, 200, 404, 401)),
    "member-patch": ("patch", lambda w, o: f"/api/projects/{o.project.pk}/members/{o.viewer_membership.pk}/",
                     lambda w, o: {"role": "annotator"}, expect(200, 200, 403, 403, 404, 401)),
    "member-put": ("put", lambda w, o: f"/api/projects/{o.project.pk}/members/{o.viewer_membership.pk}/",
                   lambda w, o: {"role": "annotator", "settings": {}}, expect(200, 200, 403, 403, 404, 401)),
    "member-delete": ("delete", lambda w, o: f"/api/projects/{o.project.pk}/members/{o.viewer_membership.pk}/", None,
                      expect(204, 204, 403, 403, 404, 401)),
    # label classes
    "label-list": ("get", lambda w, o: f"/api/projects/{o.project.pk}/labels/", None,
                   expect(200, 200, 200, 200, 404, 401)),
    "label-create": ("post", lambda w, o: f"/api/projects/{o.project.pk}/labels/",
                     lambda w, o: {"name": "car", "shape": "box"}, expect(201, 201, 403, 403, 404, 401)),
    "label-retrieve": ("get", lambda w, o: f"/api/projects/{o.project.pk}/labels/{o.label.pk}/", None,
                       expect(200, 200, 200, 200, 404, 401)),
    "label-patch": ("patch", lambda w, o: f"/api/projects/{o.project.pk}/labels/{o.label.pk}/",
                    lambda w, o: {"color": "#00ff00"}, expect(200, 200, 403, 403, 404, 401)),
    "label-put": ("put", lambda w, o: f"/api/projects/{o.project.pk}/labels/{o.label.pk}/",
                  lambda w, o: {"name": "pedestrian", "color": "#00ff00"}, expect(200, 200, 403, 403, 404, 401)),
    "label-delete": ("delete", lambda w, o: f"/api/projects/{o.project.pk}/labels/{o.spare_label.pk}/", None,
                     expect(204, 204, 403, 403, 404, 401)),
    # tracks
    "track-list": ("get", lambda w, o: f"/api/tracks/?video={o.video.pk}", None, expect(200, 200, 200, 200, 200, 401)),
    "track-create": ("post", lambda w, o: "/api/tracks/", lambda w, o: {"video": o.video.pk, "label": o.label.pk},
                     expect(201, 201, 201, 403, 404, 401)),
    "track-retrieve": ("get", lambda w, o: f"/api/tracks/{o.track.pk}/", None, expect(200, 200, 200, 200, 404, 401)),
    "track-patch": ("patch", lambda w, o: f"/api/tracks/{o.track.pk}/", lambda w, o: {"attributes": {"note": "x"}},
                    expect(200, 200, 200, 403, 404, 401)),
    "track-put": ("put", lambda w, o: f"/api/tracks/{o.track.pk}/", lambda w, o: {"label": o.label.pk, "number": 7},
                  expect(200, 200, 200, 403, 404, 401)),
    "track-delete": ("delete", lambda w, o: f"/api/tracks/{o.track.pk}/", None, expect(204, 204, 204, 403, 404, 401)),
    # figures
    "figure-list": ("get", lambda w, o: f"/api/figures/?video={o.video.pk}&track={o.track.pk}", None,
                    expect(200, 200, 200, 200, 200, 401)),
    "figure-create": ("post", lambda w, o: "/api/figures/", lambda w, o: {"track": o.track.pk, "frame": 5, "data": BOX},
                      expect(201, 201, 201, 403, 404, 401)),
    "figure-retrieve": ("get", lambda w, o: f"/api/figures/{o.figure.pk}/", None, expect(200, 200, 200, 200, 404, 401)),
    "figure-patch": ("patch", lambda w, o: f"/api/figures/{o.figure.pk}/", lambda w, o: {"version": 1, "data": BOX},
                     expect(200, 200, 200, 403, 404, 401)),
    "figure-put": ("put", lambda w, o: f"/api/figures/{o.figure.pk}/",
                   lambda w, o: {"version": 1, "data": BOX, "is_keyframe": True, "outside": False},
                   expect(200, 200, 200, 403, 404, 401)),
    "figure-delete": ("delete", lambda w, o: f"/api/figures/{o.figure.pk}/", None,
                      expect(204, 204, 204, 403, 404, 401)),
    "figure-range": ("get", lambda w, o: f"/api/videos/{o.video.pk}/figures/?frames=0..99", None,
                     expect(200, 200, 200, 200, 404, 401)),
    "figure-bulk": ("post", lambda w, o: f"/api/videos/{o.video.pk}/figures/bulk/",
                    lambda w, o: {"figures": [{"track": o.track.pk, "frame": 3, "data": BOX}]},
                    expect(200, 200, 200, 403, 404, 401)),
    # jobs
    "job-list": ("get", lambda w, o: f"/api/jobs/?project={o.project.pk}", None, expect(200, 200, 200, 200, 200, 401)),
    "job-retrieve": ("get", lambda w, o: f"/api/jobs/{o.job.pk}/", None, expect(200, 200, 200, 200, 404, 401)),
    "job-cancel": ("post", lambda w, o: f"/api/jobs/{o.job.pk}/cancel/", None, expect(200, 200, 200, 403, 404, 401)),
    # you
    "me": ("get", lambda w, o: "/api/me/", None, expect(200, 200, 200, 200, 200, 401)),
}
# fmt: on

# Endpoints that name an object (or a parent) and so can be pointed at project B.
OBJECT_ENDPOINTS = [
    name for name in ENDPOINTS if name not in {"project-list", "project-create", "me", "track-list", "figure-list",
                                               "job-list"}
]  # fmt: skip


def _call(world, role, method, url, body):
    client = world.client(role)
    return getattr(client, method)(url, body, format="json") if body is not None else getattr(client, method)(url)


@pytest.mark.django_db
@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("endpoint", list(ENDPOINTS))
def test_own_project(world, endpoint, role):
    method, url, body, expected = ENDPOINTS[endpoint]
    response = _call(world, role, method, url(world, world.a), body(world, world.a) if body else None)
    assert response.status_code == expected[role], (endpoint, role, response.content[:300])
    if response.status_code in (401, 403, 404):
        assert "detail" in response.json()


@pytest.mark.django_db
@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("endpoint", OBJECT_ENDPOINTS)
def test_object_of_another_project(world, endpoint, role):
    method, url, body, _ = ENDPOINTS[endpoint]
    response = _call(world, role, method, url(world, world.b), body(world, world.b) if body else None)
    assert response.status_code == OTHER[role], (endpoint, role, response.content[:300])


@pytest.mark.django_db
@pytest.mark.parametrize(
    "url",
    ["/api/projects/", "/api/tracks/", "/api/figures/", "/api/jobs/",
     "/api/tracks/?video={video}", "/api/figures/?video={video}", "/api/figures/?track={track}",
     "/api/jobs/?project={project}", "/api/jobs/?video={video}"],
)  # fmt: skip
@pytest.mark.parametrize("role", ["owner", "viewer", "outsider"])
def test_lists_never_show_another_projects_objects(world, url, role):
    b = world.b
    response = world.client(role).get(url.format(video=b.video.pk, track=b.track.pk, project=b.project.pk))
    assert response.status_code == 200
    results = response.json()["results"]
    b_ids = {
        "/api/projects/": {b.project.pk},
        "/api/tracks/": {b.track.pk},
        "/api/figures/": {b.figure.pk},
        "/api/jobs/": {b.job.pk},
    }[url.split("?")[0]]
    assert not b_ids & {item["id"] for item in results}
    if "?" in url or role == "outsider":  # filtered to B, or a caller with no projects: nothing at all
        assert results == []
    else:  # unfiltered lists do show the caller's own project's objects
        assert results


@pytest.mark.django_db
def test_anonymous_gets_401_with_token_challenge(world):
    response = world.client("anonymous").get("/api/projects/")
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Token")
