"""Track editing in the browser (issue 7's tool UI): merge two tracks picked in the timeline, see it live in a
colleague's page, undo the merge with the tool's undo, and split a track at the current frame."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.timeout(120)


def by_id(page, name):
    return page.get_by_test_id(name)


@pytest.fixture(scope="module")
def world(server, short_clip):
    """Two manual tracks of one person: #1 on frames 0..9, #2 on frames 12..20 (its ID broke)."""
    status, project = server.api("POST", "/api/projects/", json={"name": "Panels: track edits"})
    assert status == 201, project
    base = f"/api/projects/{project['id']}"
    status, label = server.api("POST", f"{base}/labels/", json={"name": "person", "shape": "box"})
    assert status == 201, label
    for user in ("alice", "bob"):
        status, member = server.api("POST", f"{base}/members/", json={"username": user, "role": "annotator"})
        assert status == 201, member
    with short_clip.open("rb") as fh:
        status, video = server.api("POST", f"{base}/videos/", files={"file": ("edits.avi", fh)})
    assert status == 201, video
    tracks = []
    for frames in (range(0, 10), range(12, 21)):
        status, track = server.api("POST", "/api/tracks/", json={"video": video["id"], "label": label["id"]})
        assert status == 201, track
        figures = []
        for f in frames:  # walking left and down a little, like the person at (500, 158)
            box = {"x1": 500 - 3 * f, "y1": 158 + f, "x2": 531 - 3 * f, "y2": 233 + f}
            figures.append({"track": track["id"], "frame": f, "data": box})
        status, body = server.api("POST", f"/api/videos/{video['id']}/figures/bulk/", json={"figures": figures})
        assert status in (200, 201), body
        tracks.append(track)
    return {"video": video, "tracks": tracks}


def open_tool(page, server, video_id: int):
    page.goto(f"{server.url}/videos/{video_id}/label/")
    expect(by_id(page, "tool")).to_have_attribute("data-ready", "1", timeout=30_000)
    expect(by_id(page, "timeline")).to_have_attribute("data-loaded", "1")


def frames_by_track(server, video_id: int) -> dict[int, list[int]]:
    status, body = server.api("GET", f"/api/figures/?video={video_id}&limit=1000&ordering=frame")
    assert status == 200, body
    out: dict[int, list[int]] = {}
    for f in body["results"]:
        out.setdefault(f["track"], []).append(f["frame"])
    return out


def test_merge_undo_and_split_in_the_browser(server, world, signed_in, shot):
    video, (a, b) = world["video"], world["tracks"]
    page = signed_in("alice")
    bob = signed_in("bob")
    open_tool(page, server, video["id"])
    open_tool(bob, server, video["id"])
    rows = page.locator("[data-testid=timeline-row]")
    bob_rows = bob.locator("[data-testid=timeline-row]")
    expect(rows).to_have_count(2)
    # The timeline shows each track's range: manual keyframes with the interpolated run between them.
    expect(rows.nth(0)).to_have_attribute("data-first", "0")
    expect(rows.nth(0)).to_have_attribute("data-last", "9")
    expect(rows.nth(1)).to_have_attribute("data-first", "12")

    # Pick the two pieces in the timeline, then Merge: the dialog explains the overlap rule.
    page.locator(f"[data-testid=timeline-row][data-track='{b['id']}']").click()
    page.locator(f"[data-testid=timeline-row][data-track='{a['id']}']").click()
    expect(by_id(page, "edit-selected")).to_have_attribute("data-track", str(a["id"]))
    by_id(page, "edit-merge").click()
    expect(by_id(page, "merge-dialog")).to_be_visible()
    expect(by_id(page, "merge-a")).to_have_value(str(a["id"]))
    expect(by_id(page, "merge-b")).to_have_value(str(b["id"]))
    expect(by_id(page, "merge-rule")).to_contain_text("a person made or confirmed")
    shot(page, "panels-merge-dialog")
    by_id(page, "merge-confirm").click()
    expect(by_id(page, "merge-dialog")).to_have_count(0)
    expect(rows).to_have_count(1)
    expect(rows.nth(0)).to_have_attribute("data-last", "20")
    assert frames_by_track(server, video["id"]) == {a["id"]: [*range(0, 10), *range(12, 21)]}
    expect(bob_rows).to_have_count(1, timeout=5_000)  # live for the colleague
    shot(page, "panels-merged")

    # Undo (the tool's own undo button): both tracks are back as they were.
    expect(by_id(page, "undo")).to_be_enabled()
    by_id(page, "undo").click()
    expect(rows).to_have_count(2)
    assert frames_by_track(server, video["id"]) == {a["id"]: list(range(0, 10)), b["id"]: list(range(12, 21))}
    expect(bob_rows).to_have_count(2, timeout=5_000)

    # Split #1 at frame 5: frames 5..9 become a new track.
    page.locator(f"[data-testid=timeline-row][data-track='{a['id']}']").click()
    by_id(page, "frame-input").fill("5")
    by_id(page, "frame-input").press("Enter")
    expect(by_id(page, "edit-split")).to_have_text("Split at frame 5")
    by_id(page, "edit-split").click()
    expect(rows).to_have_count(3)
    tracks = frames_by_track(server, video["id"])
    assert tracks[a["id"]] == list(range(0, 5)) and tracks[b["id"]] == list(range(12, 21))
    (new_id,) = set(tracks) - {a["id"], b["id"]}
    assert tracks[new_id] == list(range(5, 10))
    expect(page.locator(f"[data-testid=timeline-row][data-track='{new_id}']")).to_have_attribute("data-first", "5")
    expect(bob_rows).to_have_count(3, timeout=5_000)
    shot(page, "panels-split")


def test_timeline_seeks_and_zooms_review_lists_the_broken_pair(server, world, signed_in):
    video = world["video"]
    page = signed_in("alice")
    open_tool(page, server, video["id"])
    timeline = by_id(page, "timeline")
    ruler = by_id(page, "timeline-ruler")
    box = ruler.bounding_box()
    n = video["frame_count"]
    # Fitted: the whole video spans the ruler. A click seeks to the frame under the pointer.
    page.mouse.click(box["x"] + (15.5 / n) * box["width"], box["y"] + box["height"] / 2)
    expect(by_id(page, "tool")).to_have_attribute("data-frame", "15")
    expect(by_id(page, "timeline-frame")).to_have_text(f"frame 15 / {n - 1}")
    # Dragging along the strip scrubs.
    strip = by_id(page, "timeline-canvas").bounding_box()
    page.mouse.move(strip["x"] + (15.5 / n) * strip["width"], strip["y"] + 5)
    page.mouse.down()
    page.mouse.move(strip["x"] + (30.5 / n) * strip["width"], strip["y"] + 5, steps=5)
    page.mouse.up()
    expect(by_id(page, "tool")).to_have_attribute("data-frame", "30")
    by_id(page, "timeline-zoom-in").click()
    expect(timeline).not_to_have_attribute("data-zoom", "1.00")
    assert float(timeline.get_attribute("data-zoom")) > 1.5
    # Zoomed in around the cursor: the current frame is still on screen, the pan slider can move.
    expect(by_id(page, "timeline-pan")).to_be_enabled()
    by_id(page, "timeline-zoom-fit").click()
    expect(timeline).to_have_attribute("data-zoom", "1.00")

    # Review: the two pieces of one person are suggested for merging (one ends, the other starts nearby).
    by_id(page, "tab-review").click()
    rows = page.locator("[data-testid=suggestion]")
    expect(rows.first).to_be_visible(timeout=30_000)
    pairs = [(int(r.get_attribute("data-a")), int(r.get_attribute("data-b"))) for r in rows.all()]
    numbers = page.evaluate(
        "() => Object.fromEntries([...window.trackroom.store.tracks.values()].map((t) => [t.id, t.number]))"
    )
    assert any(numbers[str(a)] < numbers[str(b)] for a, b in pairs), pairs
    rows.first.get_by_test_id("suggestion-dismiss").click()
    expect(rows).to_have_count(len(pairs) - 1)


def test_quality_tab_scores_against_imported_ground_truth_and_marks_id_switches(
    server, world, signed_in, shot, short_clip
):
    """Ground truth imported from a MOT gt.txt (two people); the manual tracks swap them halfway: the
    score shows the switches, the per-track table lists both tracks, the timeline marks the switch frames."""
    project = world["video"]["project"]
    with short_clip.open("rb") as fh:
        status, video = server.api("POST", f"/api/projects/{project}/videos/", files={"file": ("quality.avi", fh)})
    assert status == 201, video
    people = {1: (100.0, 300.0), 2: (500.0, 300.0)}  # id -> (x, y) of a 40x90 box, moving 2 px a frame
    box = lambda pid, f: (people[pid][0] + 2 * f, people[pid][1], 40.0, 90.0)  # noqa: E731
    gt = "".join(
        f"{f + 1},{pid},{x},{y},{w},{h},1,1,1\n" for f in range(20) for pid in people for x, y, w, h in [box(pid, f)]
    )
    status, body = server.api("POST", f"/api/videos/{video['id']}/import/", files={"file": ("gt.txt", gt.encode())},
                              data={"format": "mot", "as": "tracks"})  # fmt: skip
    assert status == 201, body
    status, labels = server.api("GET", f"/api/projects/{project}/labels/")
    label = labels["results"][0]["id"]
    for first, second in ((1, 2), (2, 1)):  # each annotated track jumps to the other person at frame 10
        status, track = server.api("POST", "/api/tracks/", json={"video": video["id"], "label": label}, user="alice")
        assert status == 201, track
        figures = []
        for f in range(20):
            x, y, w, h = box(first if f < 10 else second, f)
            figures.append({"track": track["id"], "frame": f, "data": {"x1": x, "y1": y, "x2": x + w, "y2": y + h}})
        status, body = server.api(
            "POST", f"/api/videos/{video['id']}/figures/bulk/", json={"figures": figures}, user="alice"
        )
        assert status in (200, 201), body

    page = signed_in("alice")
    open_tool(page, server, video["id"])
    by_id(page, "tab-quality").click()
    expect(by_id(page, "quality-gt")).to_have_value("imported")
    by_id(page, "quality-score").click()
    expect(by_id(page, "metric-switches")).to_be_visible(timeout=30_000)
    switches = int(by_id(page, "metric-switches").locator(".pn-metric-value").inner_text())
    assert switches >= 2
    idf1 = float(by_id(page, "metric-idf1").locator(".pn-metric-value").inner_text())
    assert 0.3 < idf1 < 0.7  # half of each track matches its person
    expect(by_id(page, "quality-tracks").locator("tbody tr")).to_have_count(2)
    expect(by_id(page, "timeline")).to_have_attribute("data-switches", str(switches))
    shot(page, "panels-quality")

    # No machine-made track: no drift, and "next suspicious frame" (Shift+D) says so.
    by_id(page, "drift-scan").click()
    expect(by_id(page, "drift-list")).to_contain_text("No drift found")
    by_id(page, "canvas").focus()
    page.keyboard.press("Shift+D")
    expect(page.locator("[data-testid=toast]").filter(has_text="No suspicious frame after frame 0")).to_be_visible()
