"""The labeling tool's tracking panels in Chromium, against a real server and worker:

(a) Track on real PETS09 footage with the bundled model: tracks appear on the canvas, in the objects list
    and on the timeline WHILE the job runs (progress seen before done); Cancel stops a second run.
(b) Auto-Track on: a box drawn with the mouse is followed on later frames (the timeline shows the sot
    range); moving the box on a later frame re-tracks from there.
(c) Two people on one video: bob sees alice's new box within a second, her presence and an editing hint.
(d) A viewer cannot draw and has no Track / Auto-Track controls enabled.
"""

from __future__ import annotations

import json
import time

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.timeout(180)

# A person walking in the first frames of PETS09-S2L1 (frame 0, image pixels; MOT ground truth id 1's box).
PERSON = (500.0, 158.0, 531.0, 233.0)


def by_id(page, name):
    return page.get_by_test_id(name)


@pytest.fixture(scope="module")
def world(server, short_clip):
    """A project with a `person` box label, alice and bob annotators, vera viewer, and the short clip."""
    status, project = server.api("POST", "/api/projects/", json={"name": "Panels: tracking"})
    assert status == 201, project
    # CSRT is deterministic (MIL samples at random): the re-track assertions below stay stable.
    base = f"/api/projects/{project['id']}"
    status, body = server.api("PATCH", f"{base}/", json={"settings": {"auto_track_tracker": "csrt"}})
    assert status == 200, body
    status, label = server.api("POST", f"{base}/labels/", json={"name": "person", "shape": "box"})
    assert status == 201, label
    members = {}
    for user, role in (("alice", "annotator"), ("bob", "annotator"), ("vera", "viewer")):
        status, member = server.api("POST", f"{base}/members/", json={"username": user, "role": role})
        assert status == 201, member
        members[user] = member
    videos = []
    for name in ("track.avi", "autotrack.avi", "together.avi"):
        with short_clip.open("rb") as fh:
            status, video = server.api("POST", f"{base}/videos/", files={"file": (name, fh)})
        assert status == 201, video
        videos.append(video)
    videos = dict(zip(("track", "auto", "together"), videos, strict=True))
    return {"project": project, "label": label, "members": members, "videos": videos}


def set_auto_track(server, world, user: str, on: bool):
    member = world["members"][user]
    status, body = server.api(
        "PATCH", f"/api/projects/{world['project']['id']}/members/{member['id']}/", user=user,
        json={"settings": {"auto_track": on}},
    )  # fmt: skip
    assert status == 200, body


def open_tool(page, server, video_id: int):
    page.goto(f"{server.url}/videos/{video_id}/label/")
    expect(by_id(page, "tool")).to_have_attribute("data-ready", "1", timeout=30_000)
    expect(by_id(page, "timeline")).to_have_attribute("data-loaded", "1")


def screen_point(page, x: float, y: float) -> tuple[float, float]:
    return tuple(page.evaluate(
        """([x, y]) => { const v = window.trackroom.view, r = v.canvas.getBoundingClientRect();
                         const [sx, sy] = v.toScreen(x, y); return [sx + r.left, sy + r.top]; }""",
        [x, y],
    ))  # fmt: skip


def drag(page, a, b, steps=6):
    page.mouse.move(*a)
    page.mouse.down()
    page.mouse.move(*b, steps=steps)
    page.mouse.up()


def draw_box(page, box):
    by_id(page, "canvas").focus()
    page.keyboard.press("n")
    drag(page, screen_point(page, box[0], box[1]), screen_point(page, box[2], box[3]))


def figures(server, track_id: int, user="admin") -> list[dict]:
    status, body = server.api("GET", f"/api/figures/?track={track_id}&limit=1000&ordering=frame", user=user)
    assert status == 200, body
    return body["results"]


def row_of(page, track_id: int):
    return page.locator(f"[data-testid=timeline-row][data-track='{track_id}']")


def segments(page, track_id: int) -> list:
    return json.loads(row_of(page, track_id).get_attribute("data-segments"))


# --- (a) Track ------------------------------------------------------------------------------------


def test_track_button_streams_tracks_while_the_job_runs_and_cancel_stops_it(server, world, signed_in, shot):
    video = world["videos"]["track"]
    page = signed_in("alice")
    open_tool(page, server, video["id"])
    # Record, at every job event, what the person sees: timeline rows, objects on the canvas.
    page.evaluate("""() => {
        window.__seen = [];
        window.trackroom.store.addEventListener("job", (e) => window.__seen.push({
            status: e.detail.job.status, done: e.detail.job.frames_done,
            rows: document.querySelectorAll("[data-testid=timeline-row]").length,
            canvas: window.trackroom.store.figuresAt(window.trackroom.store.frame).length,
            objects: document.querySelectorAll("[data-testid=object-row]").length,
        }));
    }""")

    by_id(page, "track-button").click()
    dialog = by_id(page, "track-dialog")
    expect(dialog).to_be_visible()
    expect(by_id(page, "track-model")).to_have_value("default")
    expect(by_id(page, "track-class-person")).to_be_checked()  # the class with a project label of that name
    expect(by_id(page, "track-tracker")).to_have_value("trackroom")
    expect(by_id(page, "track-end")).to_have_value(str(video["frame_count"] - 1))  # whole video by default
    by_id(page, "track-end").fill(str(video["frame_count"]))  # one past the end: a clear message, no job
    by_id(page, "track-start-button").click()
    expect(by_id(page, "track-error")).to_contain_text(f"to ≤ {video['frame_count'] - 1}")
    by_id(page, "track-end").fill("29")
    shot(page, "panels-track-dialog")
    by_id(page, "track-start-button").click()
    expect(dialog).to_be_hidden()

    progress = by_id(page, "job-progress").first
    expect(progress).to_have_attribute("data-status", "running", timeout=60_000)
    expect(progress).to_have_attribute("data-status", "done", timeout=120_000)
    shot(page, "panels-track-done")
    seen = page.evaluate("window.__seen")
    running = [s for s in seen if s["status"] == "running"]
    assert running, seen
    # Tracks were on the timeline and boxes on the canvas before the job finished.
    assert any(s["rows"] > 0 and s["done"] < 30 for s in running), seen
    assert any(s["canvas"] > 0 and s["done"] < 30 for s in running), seen
    assert any(s["objects"] > 0 and s["done"] < 30 for s in running), seen
    assert "running" in progress.get_attribute("data-seen")

    status, tracks = server.api("GET", f"/api/tracks/?video={video['id']}&limit=100")
    assert status == 200 and tracks["count"] >= 2, tracks
    expect(page.locator("[data-testid=timeline-row]")).to_have_count(tracks["count"])
    first = tracks["results"][0]["id"]
    assert {seg[2] for seg in segments(page, first)} == {"detector"}
    assert all(0 <= seg[0] < seg[1] <= 30 for seg in segments(page, first))
    assert page.locator("[data-testid=object-row]").count() > 0

    # A second run over the whole clip, cancelled while it runs.
    by_id(page, "track-button").click()
    by_id(page, "track-range-all").click()
    by_id(page, "track-start-button").click()
    progress = page.locator("[data-testid=job-progress][data-status=running]")
    expect(progress).to_have_count(1, timeout=60_000)
    job_id = int(progress.get_attribute("data-job"))
    progress.get_by_test_id("job-cancel").click()
    cancelled = page.locator(f"[data-testid=job-progress][data-job='{job_id}']")
    expect(cancelled).to_have_attribute("data-status", "cancelled", timeout=30_000)
    job = server.wait_job(job_id)
    assert job["status"] == "cancelled" and job["frames_done"] < video["frame_count"], job
    shot(page, "panels-track-cancelled")


# --- (b) Auto-Track -------------------------------------------------------------------------------


def test_auto_track_follows_a_drawn_box_and_re_tracks_after_an_edit(server, world, signed_in, shot):
    video = world["videos"]["auto"]
    set_auto_track(server, world, "alice", False)
    page = signed_in("alice")
    open_tool(page, server, video["id"])
    toggle = by_id(page, "autotrack-toggle")
    expect(toggle).not_to_be_checked()
    expect(toggle).to_be_enabled()
    page.locator(".pn-switch").click()
    expect(toggle).to_be_checked()
    expect(by_id(page, "autotrack")).to_have_attribute("data-autotrack", "true")  # saved
    member_path = f"/api/projects/{world['project']['id']}/members/{world['members']['alice']['id']}/"
    status, member = server.api("GET", member_path)
    assert member["settings"]["auto_track"] is True

    draw_box(page, PERSON)
    expect(page.locator("[data-testid=timeline-row]")).to_have_count(1)
    track_id = int(page.locator("[data-testid=timeline-row]").get_attribute("data-track"))
    # Figures arrive on later frames: the timeline shows a single-object-tracker range after the keyframe.
    row = row_of(page, track_id)
    expect(row).to_have_attribute("data-sources", "manual,sot", timeout=60_000)
    expect(row).to_have_attribute("data-last", str(video["frame_count"] - 1), timeout=60_000)
    shot(page, "panels-autotrack")
    figs = figures(server, track_id)
    assert figs[0]["frame"] == 0 and figs[0]["source"] == "manual"
    assert {f["source"] for f in figs[1:]} == {"sot"} and len(figs) == video["frame_count"]

    # Move the box on frame 20: that frame becomes a keyframe and the object is tracked again from there.
    by_id(page, "canvas").focus()
    page.keyboard.press("Escape")
    by_id(page, "frame-input").fill("20")
    by_id(page, "frame-input").press("Enter")
    expect(by_id(page, "tool")).to_have_attribute("data-frame", "20")
    before = {f["frame"]: f for f in figures(server, track_id)}
    b = before[20]["data"]
    centre = screen_point(page, (b["x1"] + b["x2"]) / 2, (b["y1"] + b["y2"]) / 2)
    page.mouse.click(*centre)  # select it
    drag(page, centre, (centre[0] + 12, centre[1] + 6))
    expect(row).to_have_attribute("data-keyframes", "2", timeout=15_000)
    # The machine figures after the edit are rewritten in place (same rows, new versions), live.
    page.wait_for_function(
        """([track, old]) => { const s = window.trackroom.store, f = s.storedFigure(track, 30);
                               return f && f.source === "sot" && f.version > old; }""",
        arg=[track_id, before[30]["version"]], timeout=60_000,
    )  # fmt: skip
    expect(row).to_have_attribute("data-last", str(video["frame_count"] - 1), timeout=60_000)
    after = {f["frame"]: f for f in figures(server, track_id)}
    assert after[20]["is_keyframe"] and after[20]["source"] == "manual"
    assert after[20]["data"]["x1"] > b["x1"] + 5  # moved right
    assert after[30]["source"] == "sot" and after[30]["version"] > before[30]["version"]  # re-tracked from frame 20
    assert all(after[f]["version"] == before[f]["version"] for f in range(1, 20))  # before the edit: untouched
    assert segments(page, track_id)[:3] == [[0, 1, "manual"], [1, 20, "sot"], [20, 21, "manual"]]
    shot(page, "panels-autotrack-retracked")
    set_auto_track(server, world, "alice", False)


# --- (c) two people -------------------------------------------------------------------------------


def test_bob_sees_alices_box_within_a_second_and_where_she_is(server, world, signed_in, shot):
    video = world["videos"]["together"]
    set_auto_track(server, world, "alice", False)
    alice = signed_in("alice")
    bob = signed_in("bob")
    open_tool(alice, server, video["id"])
    open_tool(bob, server, video["id"])
    # Presence: each sees the other, with the frame they are on.
    expect(bob.locator("[data-testid=presence-user][data-username=alice]")).to_be_visible()
    alice.keyboard.press("End")
    last = str(video["frame_count"] - 1)
    expect(bob.locator("[data-testid=presence-user][data-username=alice]")).to_have_attribute("data-frame", last)
    alice.keyboard.press("Home")
    expect(bob.locator("[data-testid=presence-user][data-username=alice]")).to_have_attribute("data-frame", "0")
    expect(alice.locator("[data-testid=presence-user][data-username=bob]")).to_be_visible()

    rows = bob.locator("[data-testid=object-row]")
    expect(rows).to_have_count(0)
    draw_box(alice, PERSON)
    started = time.monotonic()
    expect(rows).to_have_count(1, timeout=1_000)
    seen_after = time.monotonic() - started
    assert seen_after < 1.0
    expect(bob.locator("[data-testid=timeline-row]")).to_have_count(1, timeout=2_000)
    expect(by_id(bob, "editing-hint")).to_contain_text("alice")
    shot(bob, "panels-presence-bob")

    # Clicking alice's avatar takes bob to her frame.
    alice.keyboard.press("ArrowRight")
    alice.keyboard.press("ArrowRight")
    avatar = bob.locator("[data-testid=presence-user][data-username=alice]")
    expect(avatar).to_have_attribute("data-frame", "2")
    avatar.click()
    expect(by_id(bob, "tool")).to_have_attribute("data-frame", "2")


# --- (d) a viewer ---------------------------------------------------------------------------------


def test_viewer_cannot_track_or_draw(server, world, signed_in, shot):
    video = world["videos"]["together"]
    page = signed_in("vera")
    open_tool(page, server, video["id"])
    expect(by_id(page, "view-only")).to_be_visible()
    expect(by_id(page, "track-button")).to_be_disabled()
    expect(by_id(page, "track-frame-button")).to_be_disabled()
    expect(by_id(page, "autotrack-toggle")).to_be_disabled()
    for name in ("edit-merge", "edit-split", "edit-outside"):
        expect(by_id(page, name)).to_be_disabled()
    status, tracks = server.api("GET", f"/api/tracks/?video={video['id']}")
    before = tracks["count"]
    draw_box(page, (100.0, 100.0, 160.0, 220.0))
    expect(page.locator("[data-testid=toast]").filter(has_text="View only")).to_be_visible()
    page.wait_for_timeout(300)  # a refused draw sends nothing; give a wrong request time to land
    status, tracks = server.api("GET", f"/api/tracks/?video={video['id']}")
    assert tracks["count"] == before
    shot(page, "panels-viewer")

