"""The login page, the projects list and the project page, driven in Chromium as a person would:
sign in (wrong password first), create a project, add labels, upload the real PETS09 video and see it
listed with its exact frame count and a thumbnail, refuse a bad file with the server's sentence, add a
member, change a role, see what a viewer sees, export annotations as a download."""

from __future__ import annotations

import io
import json
import re
import zipfile
from pathlib import Path

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.timeout(120)


def by_id(page, name):
    return page.get_by_test_id(name)


def open_project(page, server, project_id: int, tab: str = "videos"):
    page.goto(f"{server.url}/projects/{project_id}/#{tab}")
    expect(by_id(page, f"panel-{tab}")).to_be_visible()


def watch_errors(page) -> list:
    """Uncaught JavaScript exceptions of the page, collected as they happen."""
    errors: list = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    return errors


def assert_no_junk(page):
    """No leaked placeholders ("null", "undefined", "NaN", "[object Object]") in what people read."""
    text = page.inner_text("main")
    assert not re.search(r"\bnull\b|\bundefined\b|\bNaN\b|\[object Object\]", text), text


@pytest.fixture(scope="module")
def ready_project(server, short_clip):
    """A project made through the API: admin owns it, one short video with one manual track."""
    made = server.create_project("Export checks", video=short_clip)
    project, label, video = made["project"], made["labels"]["person"], made["video"]
    status, track = server.api("POST", "/api/tracks/", json={"video": video["id"], "label": label["id"]})
    assert status == 201, track
    figures = [{"track": track["id"], "frame": f, "data": {"x1": 100 + f, "y1": 80, "x2": 140 + f, "y2": 170}}
               for f in range(0, 10)]  # fmt: skip
    status, body = server.api("POST", f"/api/videos/{video['id']}/figures/bulk/", json={"figures": figures})
    assert status in (200, 201), body
    return {"project": project, "video": video, "label": label, "track": track}


def test_login_refuses_a_wrong_password_then_signs_in(server, browser, shot):
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    page.goto(server.url + "/")
    expect(page).to_have_url(f"{server.url}/accounts/login/?next=/")
    page.fill("#id_username", "admin")
    page.fill("#id_password", "not the password")
    page.click("[data-testid=login-submit]")
    expect(by_id(page, "login-error")).to_contain_text("didn't match")
    expect(page.locator("#id_username")).to_have_value("admin")  # the username is kept
    shot(page, "pages-login-error")
    page.fill("#id_password", server.password("admin"))
    page.click("[data-testid=login-submit]")
    expect(page).to_have_url(server.url + "/")
    expect(by_id(page, "current-user")).to_have_text("admin")
    card = by_id(page, "project-card").filter(has_text="Demo project")
    expect(card.get_by_test_id("project-role")).to_have_text("owner")
    context.close()


def sign_in_new_user(server, browser, username: str):
    """A user made just now (the shared users may already belong to projects of other tests)."""
    password = f"pw-{username}-Trackroom1"
    server.manage("shell", "-c", "from django.contrib.auth import get_user_model as g\n"
                  f"g().objects.filter(username='{username}').exists() or "
                  f"g().objects.create_user('{username}', password='{password}')")  # fmt: skip
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    page.goto(server.url + "/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("[data-testid=login-submit]")
    expect(page).to_have_url(server.url + "/")
    return context, page


def test_new_user_sees_the_empty_state_and_creates_a_project(server, browser, shot):
    context, page = sign_in_new_user(server, browser, "nina")
    expect(by_id(page, "projects-empty")).to_be_visible()
    shot(page, "pages-projects-empty")
    by_id(page, "create-project-submit").click()  # the browser refuses an empty name
    expect(page).to_have_url(server.url + "/")
    by_id(page, "project-name").fill("Nina's first")
    by_id(page, "create-project-submit").click()
    expect(by_id(page, "project-title")).to_contain_text("Nina's first")
    expect(by_id(page, "my-role")).to_have_text("owner")
    page.goto(server.url + "/")
    expect(by_id(page, "project-card").filter(has_text="Nina's first")).to_contain_text("0 videos")
    context.close()


def test_project_labels_upload_and_bad_file(server, signed_in, shot, pets09_video, tmp_path):
    page = signed_in("admin")
    errors = watch_errors(page)
    by_id(page, "project-name").fill("Campus")
    by_id(page, "project-description").fill("PETS09 footage, people crossing a campus.")
    by_id(page, "create-project-submit").click()
    expect(by_id(page, "project-title")).to_contain_text("Campus")
    project_id = int(page.url.split("/projects/")[1].split("/")[0])
    expect(by_id(page, "videos-empty")).to_be_visible()

    # Labels: a box label, and a points label with the COCO skeleton preset.
    by_id(page, "tab-labels").click()
    expect(by_id(page, "labels-empty")).to_be_visible()
    create = by_id(page, "label-create-form")
    create.get_by_test_id("label-name-input").fill("person")
    create.get_by_test_id("label-submit").click()
    expect(by_id(page, "label-row")).to_have_count(1)
    create.get_by_test_id("label-name-input").fill("pose")
    create.get_by_test_id("label-shape-input").select_option("points")
    expect(create.get_by_test_id("skeleton-editor")).to_be_visible()
    create.get_by_test_id("skeleton-keypoints").fill("head\nneck")
    create.get_by_test_id("skeleton-edges").fill("head - elbow")
    create.get_by_test_id("label-submit").click()
    expect(create.get_by_test_id("label-form-error")).to_contain_text('no keypoint named "elbow"')
    create.get_by_test_id("skeleton-coco").click()
    shot(page, "pages-skeleton-editor")
    create.get_by_test_id("label-submit").click()
    expect(by_id(page, "label-row")).to_have_count(2)
    pose = by_id(page, "label-row").filter(has_text="pose")
    expect(pose).to_contain_text("17 keypoints, 19 edges")
    expect(pose.get_by_test_id("label-shape")).to_have_text("Points / skeleton")
    # Same name twice: the server's sentence, shown in the form.
    create.get_by_test_id("label-name-input").fill("person")
    create.get_by_test_id("label-shape-input").select_option("box")
    create.get_by_test_id("label-submit").click()
    expect(create.get_by_test_id("label-form-error")).to_be_visible()
    expect(by_id(page, "label-row")).to_have_count(2)
    status, labels = server.api("GET", f"/api/projects/{project_id}/labels/")
    pose_api = next(label for label in labels["results"] if label["name"] == "pose")
    assert len(pose_api["skeleton"]["keypoints"]) == 17 and [15, 13] in pose_api["skeleton"]["edges"]
    # Edit: rename a label in the dialog.
    by_id(page, "label-row").filter(has_text="person").get_by_test_id("label-edit").click()
    dialog = by_id(page, "label-dialog")
    dialog.get_by_test_id("label-name-input").fill("pedestrian")
    dialog.get_by_test_id("label-submit").click()
    expect(dialog).to_be_hidden()
    expect(by_id(page, "label-row").filter(has_text="pedestrian")).to_have_count(1)
    shot(page, "pages-labels")

    # Videos: upload the real 795-frame PETS09 file with a progress bar.
    by_id(page, "tab-videos").click()
    by_id(page, "upload-input").set_input_files(str(pets09_video))
    by_id(page, "upload-button").click()
    row = by_id(page, "video-row")
    expect(row).to_have_count(1, timeout=60_000)
    expect(row.get_by_test_id("video-frames")).to_have_text("795")
    expect(row.get_by_test_id("video-name")).to_have_text("vtest.avi")
    thumb = row.get_by_test_id("video-thumb")
    expect(thumb).to_be_visible()
    page.wait_for_function("img => img.complete && img.naturalWidth === 768", arg=thumb.element_handle())
    shot(page, "pages-videos")

    # Its header says 10 fps; the camera ran at 7. A manager corrects it.
    expect(row.get_by_test_id("video-fps")).to_have_text("10")
    row.get_by_test_id("video-edit").click()
    edit = by_id(page, "video-edit-dialog")
    edit.get_by_test_id("video-edit-fps").fill("7")
    edit.get_by_test_id("video-edit-submit").click()
    expect(edit).to_be_hidden()
    expect(by_id(page, "video-row").get_by_test_id("video-fps")).to_have_text("7")

    # A text file named .mp4: the server's sentence, visible in the page, and no video added.
    bad = tmp_path / "notes.mp4"
    bad.write_text("this is not a video\n" * 20)
    by_id(page, "upload-input").set_input_files(str(bad))
    by_id(page, "upload-button").click()
    error = by_id(page, "upload-error")
    expect(error).to_be_visible()
    status, listed = server.api("GET", f"/api/projects/{project_id}/videos/")
    assert status == 200 and len(listed) == 1, listed
    text = error.inner_text()
    assert "video" in text.lower() and "HTTP" not in text, text  # a sentence, not a status code
    expect(by_id(page, "video-row")).to_have_count(1)
    shot(page, "pages-upload-error")

    # The projects list shows the count and the first frame as a thumbnail.
    page.goto(server.url + "/")
    card = by_id(page, "project-card").filter(has_text="Campus")
    expect(card.get_by_test_id("project-video-count")).to_have_text("1 video")
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=card.locator("img").element_handle())
    shot(page, "pages-projects")
    assert not errors, errors


def test_members_roles_and_the_servers_refusals(server, signed_in, shot, ready_project):
    project_id = ready_project["project"]["id"]
    page = signed_in("admin")
    open_project(page, server, project_id, "members")
    form = by_id(page, "member-form")
    form.get_by_test_id("member-username").fill("alice")
    form.get_by_test_id("member-role").select_option("manager")
    form.get_by_test_id("member-add").click()
    expect(by_id(page, "member-row").filter(has_text="alice")).to_have_attribute("data-role", "manager")
    form.get_by_test_id("member-username").fill("nobody-by-that-name")
    form.get_by_test_id("member-add").click()
    expect(by_id(page, "member-add-error")).to_be_visible()
    assert "HTTP" not in by_id(page, "member-add-error").inner_text()
    form.get_by_test_id("member-username").fill("bob")
    form.get_by_test_id("member-role").select_option("viewer")
    form.get_by_test_id("member-add").click()
    expect(by_id(page, "member-row")).to_have_count(3)
    shot(page, "pages-members")

    # alice is a manager: she may not make an owner. The page shows the API's 403 sentence.
    alice = signed_in("alice")
    open_project(alice, server, project_id, "members")
    bob_role = by_id(alice, "member-row").filter(has_text="bob").get_by_test_id("member-role-select")
    bob_role.select_option("owner")
    expect(by_id(alice, "members-error")).to_contain_text("owner")
    expect(bob_role).to_have_value("viewer")
    bob_role.select_option("annotator")
    expect(by_id(alice, "member-row").filter(has_text="bob")).to_have_attribute("data-role", "annotator")
    status, members = server.api("GET", f"/api/projects/{project_id}/members/")
    assert {m["username"]: m["role"] for m in members["results"]}["bob"] == "annotator"


def test_a_viewer_sees_everything_and_no_editing_controls(server, signed_in, shot, ready_project):
    project_id = ready_project["project"]["id"]
    status, members = server.api("GET", f"/api/projects/{project_id}/members/")
    if "vera" not in {m["username"] for m in members["results"]}:
        status, body = server.api("POST", f"/api/projects/{project_id}/members/", json={"username": "vera", "role": "viewer"})
        assert status == 201, body
    page = signed_in("vera")
    errors = watch_errors(page)
    open_project(page, server, project_id, "videos")
    expect(by_id(page, "my-role")).to_have_text("viewer")
    row = by_id(page, "video-row")
    expect(row).to_have_count(1)
    expect(row.get_by_test_id("video-open")).to_be_visible()
    expect(row.get_by_test_id("export-button")).to_be_visible()
    for hidden in ("upload-input", "upload-button", "video-delete", "import-button", "render-button"):
        expect(by_id(page, hidden)).to_have_count(0)
    assert_no_junk(page)
    shot(page, "pages-viewer")
    by_id(page, "tab-labels").click()
    expect(by_id(page, "label-row")).to_have_count(1)
    expect(by_id(page, "label-create-form")).to_have_count(0)
    expect(by_id(page, "label-delete")).to_have_count(0)
    assert_no_junk(page)
    by_id(page, "tab-members").click()
    expect(by_id(page, "member-row").first).to_be_visible()
    expect(by_id(page, "member-form")).to_have_count(0)
    expect(by_id(page, "member-remove")).to_have_count(0)
    expect(by_id(page, "member-role-select")).to_have_count(0)
    assert_no_junk(page)
    by_id(page, "tab-models").click()
    expect(by_id(page, "detector-row").first).to_be_visible()
    expect(by_id(page, "model-upload")).to_have_count(0)
    expect(by_id(page, "reid-train")).to_have_count(0)
    expect(by_id(page, "reid-list")).not_to_be_empty()
    assert_no_junk(page)
    by_id(page, "tab-jobs").click()
    expect(by_id(page, "jobs-table")).to_be_visible()
    expect(by_id(page, "job-cancel")).to_have_count(0)
    assert_no_junk(page)
    assert not errors, errors


@pytest.mark.parametrize("fmt", ["mot", "cvat", "yolo", "coco"])
def test_export_downloads_the_annotations(server, signed_in, ready_project, fmt, tmp_path):
    page = signed_in("admin")
    open_project(page, server, ready_project["project"]["id"], "videos")
    row = by_id(page, "video-row")
    row.get_by_test_id("export-format").select_option(fmt)
    with page.expect_download() as info:
        row.get_by_test_id("export-button").click()
    download = info.value
    path = Path(download.path())
    data = path.read_bytes()
    assert data, "empty download"
    if fmt == "mot":
        rows = [line.split(",") for line in data.decode().splitlines() if line.strip()]
        assert len(rows) == 10 and rows[0][0] == "1"  # 1-based frames, one row per figure
    elif fmt == "cvat":
        assert data.lstrip().startswith(b"<?xml") and b"<track" in data
    elif fmt == "yolo":
        assert zipfile.is_zipfile(io.BytesIO(data))
    else:
        doc = json.loads(data)
        assert len(doc["annotations"]) == 10 and "track_id" in doc["annotations"][0]


def test_import_shows_the_line_numbered_error_then_imports(server, signed_in, shot, ready_project, tmp_path):
    video_id = ready_project["video"]["id"]
    page = signed_in("admin")
    open_project(page, server, ready_project["project"]["id"], "videos")
    status, before = server.api("GET", f"/api/tracks/?video={video_id}")
    good = "".join(f"{f},{tid},{100 + 5 * f},{50 + tid * 60},40,90,1,1,1\n" for tid in (1, 2) for f in range(1, 11))
    bad = tmp_path / "gt-bad.txt"
    lines = good.splitlines(keepends=True)
    lines[2] = "3,1,oops,110,40,90,1,1,1\n"
    bad.write_text("".join(lines))
    by_id(page, "video-row").get_by_test_id("import-button").click()
    dialog = by_id(page, "import-dialog")
    dialog.get_by_test_id("import-file").set_input_files(str(bad))
    dialog.get_by_test_id("import-format").select_option("mot")
    dialog.get_by_test_id("import-as").select_option("tracks")
    dialog.get_by_test_id("import-submit").click()
    expect(dialog.get_by_test_id("import-error")).to_contain_text("Line 3")
    shot(page, "pages-import-error")
    status, after = server.api("GET", f"/api/tracks/?video={video_id}")
    assert after["count"] == before["count"], "a bad file imported something"

    # A good file whose track 1 clashes with the video's track 1: the server says so, renumbering fixes it.
    gt = tmp_path / "gt.txt"
    gt.write_text(good)
    dialog.get_by_test_id("import-file").set_input_files(str(gt))
    dialog.get_by_test_id("import-submit").click()
    expect(dialog.get_by_test_id("import-error")).to_contain_text("renumber")
    dialog.get_by_test_id("import-renumber").check()
    dialog.get_by_test_id("import-submit").click()
    expect(dialog.get_by_test_id("import-result")).to_have_text("Imported 2 tracks with 20 figures.")
    status, after = server.api("GET", f"/api/tracks/?video={video_id}")
    assert after["count"] == before["count"] + 2

    # The same rows as detections: a detection set the ReID training form offers.
    dialog.get_by_test_id("import-as").select_option("detections")
    expect(dialog.get_by_test_id("import-renumber")).to_be_hidden()
    dialog.get_by_test_id("import-submit").click()
    expect(dialog.get_by_test_id("import-result")).to_contain_text("detection set")
    dialog.get_by_test_id("dialog-close").click()
    by_id(page, "tab-models").click()
    options = by_id(page, "reid-detections").locator("option")
    expect(options.filter(has_text="gt.txt")).to_have_count(1)
    status, sets = server.api("GET", f"/api/videos/{video_id}/detection-sets/")
    assert options.filter(has_text="gt.txt").get_attribute("value") == f"detections:{sets[0]['id']}"


def test_owner_settings_and_deleting_a_project(server, signed_in):
    status, project = server.api("POST", "/api/projects/", json={"name": "Scratch"})
    assert status == 201, project
    status, body = server.api("POST", f"/api/projects/{project['id']}/members/", json={"username": "alice", "role": "manager"})
    assert status == 201, body
    alice = signed_in("alice")
    open_project(alice, server, project["id"], "videos")
    expect(by_id(alice, "tab-settings")).to_have_count(0)  # owners only

    page = signed_in("admin")
    open_project(page, server, project["id"], "settings")
    expect(by_id(page, "settings-name")).to_have_value("Scratch")
    by_id(page, "settings-name").fill("Scratch pad")
    by_id(page, "settings-auto-track").check()
    by_id(page, "settings-auto-tracker").select_option("csrt")
    by_id(page, "settings-save").click()
    expect(by_id(page, "crumb-project")).to_have_text("Scratch pad")
    status, saved = server.api("GET", f"/api/projects/{project['id']}/")
    assert saved["name"] == "Scratch pad"
    assert saved["settings"]["auto_track"] is True and saved["settings"]["auto_track_tracker"] == "csrt"

    by_id(page, "project-delete").click()
    by_id(page, "confirm-yes").click()
    expect(page).to_have_url(server.url + "/")
    expect(by_id(page, "project-card").filter(has_text="Scratch pad")).to_have_count(0)
    status, _ = server.api("GET", f"/api/projects/{project['id']}/")
    assert status == 404
