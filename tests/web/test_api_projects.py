"""Projects, members, label classes and /api/me/."""

from __future__ import annotations

import pytest

from labeling.models import Figure, LabelClass, Membership, Project, Role, Video

pytestmark = pytest.mark.django_db


def test_creator_becomes_owner_and_sees_role(world):
    api = world.client("outsider")
    response = api.post("/api/projects/", {"name": "  Birds  ", "description": "gulls"}, format="json")
    assert response.status_code == 201
    body = response.json()
    assert body["name"] == "Birds" and body["role"] == "owner"
    assert Membership.objects.get(project_id=body["id"]).user == world.users["outsider"]
    listed = api.get("/api/projects/").json()
    assert listed["count"] == 1 and listed["results"][0]["id"] == body["id"]


def test_project_list_shows_each_callers_role_and_orders(world):
    Project.objects.filter(pk=world.a.project.pk).update(name="Zebra")
    response = world.client("annotator").get("/api/projects/?ordering=name")
    assert [(p["name"], p["role"]) for p in response.json()["results"]] == [("Zebra", "annotator")]


def test_blank_project_name_is_refused(world):
    response = world.client("owner").post("/api/projects/", {"name": "   "}, format="json")
    assert response.status_code == 400 and "name" in response.json()["detail"]


def test_owner_deletes_project_with_everything_in_it(world):
    project = world.a.project
    assert world.client("owner").delete(f"/api/projects/{project.pk}/").status_code == 204
    assert not Project.objects.filter(pk=project.pk).exists()
    assert not Video.objects.filter(project_id=project.pk).exists()
    assert not Figure.objects.filter(track__video__project_id=project.pk).exists()
    assert Project.objects.filter(pk=world.b.project.pk).exists()


# --- members ---------------------------------------------------------------------------------------


def _members_url(world):
    return f"/api/projects/{world.a.project.pk}/members/"


def test_manager_manages_annotators_and_viewers_only(world):
    api = world.client("manager")
    url = _members_url(world)
    response = api.post(url, {"username": "outsider", "role": "annotator"}, format="json")
    assert response.status_code == 201 and response.json()["username"] == "outsider"
    for role in ("manager", "owner"):
        response = api.post(url, {"username": "newcomer", "role": role}, format="json")
        assert response.status_code == 400 and "Only an owner" in response.json()["detail"]
    owner_membership = Membership.objects.get(project=world.a.project, role=Role.OWNER)
    response = api.patch(f"{url}{owner_membership.pk}/", {"role": "viewer"}, format="json")
    assert response.status_code == 400
    response = api.delete(f"{url}{owner_membership.pk}/")
    assert response.status_code == 400
    # Promoting a viewer to manager is an owner's call too.
    response = api.patch(f"{url}{world.a.viewer_membership.pk}/", {"role": "manager"}, format="json")
    assert response.status_code == 400
    assert Membership.objects.get(pk=world.a.viewer_membership.pk).role == "viewer"


def test_owner_adds_by_id_and_promotes_owners(world):
    api = world.client("owner")
    url = _members_url(world)
    response = api.post(url, {"user": world.users["newcomer"].pk, "role": "owner"}, format="json")
    assert response.status_code == 201 and response.json()["role"] == "owner"
    response = api.patch(f"{url}{world.a.viewer_membership.pk}/", {"role": "manager"}, format="json")
    assert response.status_code == 200 and response.json()["role"] == "manager"


def test_project_keeps_at_least_one_owner(world):
    api = world.client("owner")
    url = _members_url(world)
    owner_membership = Membership.objects.get(project=world.a.project, user=world.users["owner"])
    response = api.patch(f"{url}{owner_membership.pk}/", {"role": "manager"}, format="json")
    assert response.status_code == 400 and "at least one owner" in response.json()["detail"]
    response = api.delete(f"{url}{owner_membership.pk}/")
    assert response.status_code == 400 and "at least one owner" in response.json()["detail"]
    assert Membership.objects.get(pk=owner_membership.pk).role == "owner"
    # With a second owner, the first may step down.
    api.post(url, {"username": "newcomer", "role": "owner"}, format="json")
    assert api.patch(f"{url}{owner_membership.pk}/", {"role": "manager"}, format="json").status_code == 200


def test_member_errors_are_clear(world):
    api = world.client("owner")
    url = _members_url(world)
    response = api.post(url, {"username": "viewer", "role": "viewer"}, format="json")
    assert response.status_code == 400 and "already a member" in response.json()["detail"]
    response = api.post(url, {"username": "nobody", "role": "viewer"}, format="json")
    assert response.status_code == 400 and "No active user" in response.json()["detail"]
    response = api.post(url, {"username": "outsider", "role": "boss"}, format="json")
    assert response.status_code == 400 and response.json()["detail"].startswith("role:")
    response = api.post(url, {"role": "viewer"}, format="json")
    assert response.status_code == 400 and "username" in response.json()["detail"]


def test_every_member_sets_their_own_preferences_but_not_their_role(world):
    api = world.client("viewer")
    own = f"{_members_url(world)}{world.a.viewer_membership.pk}/"
    response = api.patch(own, {"settings": {"auto_track": False}}, format="json")
    assert response.status_code == 200 and response.json()["settings"] == {"auto_track": False}
    response = api.patch(own, {"role": "owner"}, format="json")
    assert response.status_code == 403 and "roles are changed by a manager" in response.json()["detail"]
    annotator = Membership.objects.get(project=world.a.project, user=world.users["annotator"])
    response = api.patch(f"{_members_url(world)}{annotator.pk}/", {"settings": {"x": 1}}, format="json")
    assert response.status_code == 403
    assert Membership.objects.get(pk=world.a.viewer_membership.pk).role == "viewer"


def test_members_list_filters_by_role(world):
    response = world.client("viewer").get(_members_url(world) + "?role=annotator")
    assert [m["username"] for m in response.json()["results"]] == ["annotator"]


# --- label classes --------------------------------------------------------------------------------------


def _labels_url(world):
    return f"/api/projects/{world.a.project.pk}/labels/"


def test_points_label_with_skeleton(world):
    api = world.client("manager")
    skeleton = {"keypoints": ["head", "hip", "foot"], "edges": [[0, 1], [1, 2]]}
    response = api.post(_labels_url(world), {"name": "walker", "shape": "points", "skeleton": skeleton}, format="json")
    assert response.status_code == 201
    assert response.json()["skeleton"] == skeleton and response.json()["project"] == world.a.project.pk


@pytest.mark.parametrize(
    "shape, skeleton, message",
    [
        ("points", {"keypoints": ["a", "b"], "edges": [[0, 2]]}, "indices 0..1"),
        ("points", {"keypoints": ["a", "a"]}, "unique"),
        ("points", {"keypoints": []}, "non-empty list"),
        ("points", {"keypoints": ["a", "b"], "edges": [[0]]}, "pair of keypoint indices"),
        ("points", {"keypoints": ["a", "b"], "bones": []}, "Unknown skeleton keys"),
        ("box", {"keypoints": ["a"]}, "Only labels of shape 'points'"),
    ],
)
def test_bad_skeletons_are_clear_400s(world, shape, skeleton, message):
    response = world.client("owner").post(
        _labels_url(world), {"name": "x", "shape": shape, "skeleton": skeleton}, format="json"
    )
    assert response.status_code == 400 and message in response.json()["detail"]
    assert not LabelClass.objects.filter(name="x").exists()


def test_label_rules(world):
    api = world.client("manager")
    url = _labels_url(world)
    response = api.post(url, {"name": "person"}, format="json")
    assert response.status_code == 400 and "already has a label called 'person'" in response.json()["detail"]
    response = api.post(url, {"name": "car", "color": "red"}, format="json")
    assert response.status_code == 400 and "#RRGGBB" in response.json()["detail"]
    in_use = f"{url}{world.a.label.pk}/"
    response = api.patch(in_use, {"shape": "mask"}, format="json")
    assert response.status_code == 400 and "shape cannot change" in response.json()["detail"]
    response = api.delete(in_use)
    assert response.status_code == 400 and "used by 1 track" in response.json()["detail"]
    assert api.patch(in_use, {"name": "pedestrian", "color": "#123abc"}, format="json").json()["name"] == "pedestrian"
    response = api.patch(f"{url}{world.a.spare_label.pk}/", {"shape": "polygon"}, format="json")
    assert response.json()["shape"] == "polygon"


# --- me ---------------------------------------------------------------------------------------------------


def test_me_lists_memberships(world):
    Membership.objects.create(user=world.users["annotator"], project=world.b.project, role=Role.VIEWER)
    body = world.client("annotator").get("/api/me/").json()
    assert body["username"] == "annotator"
    assert {(m["project"], m["role"]) for m in body["memberships"]} == {
        (world.a.project.pk, "annotator"),
        (world.b.project.pk, "viewer"),
    }
    assert world.client("outsider").get("/api/me/").json()["memberships"] == []
