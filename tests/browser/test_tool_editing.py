"""The labeling tool's editor in a real browser: frame stepping, drawing and editing boxes with the
mouse (checked against the API, within a pixel after zooming), undo/redo, delete, polygons,
skeletons and masks, a viewer who cannot change anything, and a conflict that is shown, never
silently overwritten."""

from __future__ import annotations

import re
import time

import pytest
from playwright.sync_api import expect

KEYPOINTS = ["head", "hip", "foot"]


def wait_until(check, timeout=10.0, what="condition"):
    """Polls `check()` until it returns something truthy (the page saves asynchronously)."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}; last value: {last!r}")


@pytest.fixture(scope="module")
def setup(server, short_clip):
    made = server.create_project(
        "Editor tests",
        labels=[
            {"name": "person", "shape": "box", "color": "#ff6b00"},
            {"name": "zone", "shape": "polygon", "color": "#3d8bfd"},
            {"name": "body", "shape": "points", "color": "#3ccf7a",
             "skeleton": {"keypoints": KEYPOINTS, "edges": [[0, 1], [1, 2]]}},
            {"name": "blob", "shape": "mask", "color": "#d45cff"},
            {"name": "car", "shape": "box", "color": "#ffd166"},
        ],
        members=[("alice", "annotator"), ("bob", "annotator"), ("vera", "viewer")],
        video=short_clip,
    )  # fmt: skip
    pid, video = made["project"]["id"], made["video"]
    labels = {name: label["id"] for name, label in made["labels"].items()}
    return {"project": pid, "video": video, "labels": labels}


def figures(server, video_id, user="admin"):
    status, body = server.api("GET", f"/api/videos/{video_id}/figures/?frames=0..59", user=user)
    assert status == 200, body
    return body["figures"]


def tracks(server, video_id):
    status, body = server.api("GET", f"/api/tracks/?video={video_id}&limit=1000")
    assert status == 200, body
    return body["results"]


def open_tool(signed_in, server, setup, user="alice"):
    page = signed_in(user)
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(f"{server.url}/videos/{setup['video']['id']}/label/")
    expect(page.get_by_test_id("tool")).to_have_attribute("data-ready", "1")
    expect(page.get_by_test_id("canvas")).to_have_attribute("data-image-frame", "0")
    page.js_errors = errors
    return page


def to_screen(page, x, y):
    return page.evaluate(
        """([x, y]) => { const v = window.trackroom.view; const r = v.canvas.getBoundingClientRect();
                          const [sx, sy] = v.toScreen(x, y); return [r.left + sx, r.top + sy]; }""",
        [x, y],
    )


def drag(page, a, b, steps=6):
    page.mouse.move(*to_screen(page, *a))
    page.mouse.down()
    page.mouse.move(*to_screen(page, *b), steps=steps)
    page.mouse.up()


def click_at(page, x, y):
    sx, sy = to_screen(page, x, y)
    page.mouse.click(sx, sy)


def seek(page, frame):
    page.get_by_test_id("frame-input").fill(str(frame))
    page.get_by_test_id("frame-input").press("Enter")
    expect(page.get_by_test_id("canvas")).to_have_attribute("data-image-frame", str(frame))


def canvas_digest(page):
    return page.evaluate(
        """() => { const c = window.trackroom.view.imageCanvas; const d = c.getContext('2d')
                     .getImageData(0, 0, c.width, c.height).data; let h = 0;
                   for (let i = 0; i < d.length; i += 97) h = (h * 31 + d[i]) | 0; return h; }"""
    )


def near(a, b, tol=1.0):
    return all(abs(a[k] - b[k]) <= tol for k in ("x1", "y1", "x2", "y2"))


def test_frame_stepping_and_jumps(server, setup, signed_in, shot):
    page = open_tool(signed_in, server, setup)
    counter = page.get_by_test_id("frame-counter")
    expect(page.get_by_test_id("frame-last")).to_have_text("59")
    before = canvas_digest(page)
    page.keyboard.press("ArrowRight")
    expect(counter).to_have_text("1")
    expect(page.get_by_test_id("canvas")).to_have_attribute("data-image-frame", "1")
    page.wait_for_function("() => !window.trackroom.view._pending")
    assert canvas_digest(page) != before, "the image did not change with the frame"
    page.keyboard.press("Shift+ArrowRight")
    expect(counter).to_have_text("11")
    page.keyboard.press("ArrowLeft")
    expect(counter).to_have_text("10")
    seek(page, 42)
    expect(counter).to_have_text("42")
    page.keyboard.press("End")
    expect(counter).to_have_text("59")
    page.keyboard.press("Home")
    expect(counter).to_have_text("0")
    # Play runs through frames at the video's rate; Space pauses.
    page.keyboard.press("Space")
    page.wait_for_function("() => window.trackroom.store.frame >= 3")
    page.keyboard.press("Space")
    expect(page.get_by_test_id("tool")).to_have_attribute("data-playing", "0")
    page.keyboard.press("?")
    expect(page.get_by_test_id("help")).to_be_visible()
    expect(page.get_by_test_id("help")).to_contain_text("Keyboard shortcuts")
    shot(page, "editor-help")
    page.keyboard.press("Escape")
    expect(page.get_by_test_id("help")).to_be_hidden()
    assert not page.js_errors, page.js_errors


def test_draw_move_resize_undo_redo_delete_a_box(server, setup, signed_in, shot):
    vid = setup["video"]["id"]
    page = open_tool(signed_in, server, setup)
    seek(page, 3)
    # Zoom in at a point: drawing must still land on the right frame pixels.
    cx, cy = to_screen(page, 300, 250)
    page.mouse.move(cx, cy)
    page.mouse.wheel(0, -400)
    page.wait_for_function("() => window.trackroom.view.scale > 1.2")
    page.keyboard.press("n")
    expect(page.get_by_test_id("tool")).to_have_attribute("data-mode", "draw")
    drag(page, (250, 200), (330, 310))
    figs = wait_until(lambda: [f for f in figures(server, vid) if f["frame"] == 3], what="the new box")
    assert len(figs) == 1
    box = figs[0]
    assert box["source"] == "manual" and box["is_keyframe"]
    assert near(box["data"], {"x1": 250, "y1": 200, "x2": 330, "y2": 310}), box["data"]
    track_id = box["track"]
    expect(page.locator(f'[data-testid=object-row][data-track="{track_id}"]')).to_be_visible()
    shot(page, "editor-box-drawn")

    # Move: drag the body by (+40, +20).
    drag(page, (290, 260), (330, 280))
    wait_until(lambda: near(next(f for f in figures(server, vid) if f["track"] == track_id)["data"],
                            {"x1": 290, "y1": 220, "x2": 370, "y2": 330}), what="the moved box")
    # Resize: drag the bottom-right handle to (400, 360).
    drag(page, (370, 330), (400, 360))
    wait_until(lambda: near(next(f for f in figures(server, vid) if f["track"] == track_id)["data"],
                            {"x1": 290, "y1": 220, "x2": 400, "y2": 360}), what="the resized box")
    shot(page, "editor-box-resized")

    def current():
        found = [f for f in figures(server, vid) if f["track"] == track_id]
        return found[0]["data"] if found else None

    # Undo the resize, then the move; redo the move.
    expect(page.get_by_test_id("undo")).to_be_enabled()
    page.keyboard.press("Control+z")
    wait_until(lambda: near(current(), {"x1": 290, "y1": 220, "x2": 370, "y2": 330}), what="undo of the resize")
    page.keyboard.press("Control+z")
    wait_until(lambda: near(current(), {"x1": 250, "y1": 200, "x2": 330, "y2": 310}), what="undo of the move")
    page.keyboard.press("Control+Shift+z")
    wait_until(lambda: near(current(), {"x1": 290, "y1": 220, "x2": 370, "y2": 330}), what="redo of the move")
    page.keyboard.press("Control+y")
    wait_until(lambda: near(current(), {"x1": 290, "y1": 220, "x2": 400, "y2": 360}), what="redo of the resize")

    # Change its class with the shortcut (Shift+5 = the 5th class, "car"); undo changes it back.
    page.keyboard.press("Shift+Digit5")
    wait_until(lambda: next(t for t in tracks(server, vid) if t["id"] == track_id)["label"] == setup["labels"]["car"],
               what="the class change")
    expect(page.locator(f'[data-testid=object-row][data-track="{track_id}"] [data-testid=object-class]')).to_have_value(
        str(setup["labels"]["car"]))
    page.keyboard.press("Control+z")
    wait_until(lambda: next(t for t in tracks(server, vid) if t["id"] == track_id)["label"] == setup["labels"]["person"],
               what="undo of the class change")
    # And with the objects panel's dropdown.
    page.locator(f'[data-testid=object-row][data-track="{track_id}"] [data-testid=object-class]').select_option(
        str(setup["labels"]["car"]))
    wait_until(lambda: next(t for t in tracks(server, vid) if t["id"] == track_id)["label"] == setup["labels"]["car"],
               what="the class change from the panel")
    page.keyboard.press("Control+z")
    wait_until(lambda: next(t for t in tracks(server, vid) if t["id"] == track_id)["label"] == setup["labels"]["person"],
               what="undo of the panel's class change")

    # Delete with Del (the box is still selected), then undo brings it back.
    page.keyboard.press("Delete")
    wait_until(lambda: current() is None, what="the deleted box")
    page.keyboard.press("Control+z")
    wait_until(lambda: current() is not None and near(current(), {"x1": 290, "y1": 220, "x2": 400, "y2": 360}),
               what="undo of the delete")

    # Undo past the creation removes the track; redo creates it again.
    for _ in range(3):
        page.keyboard.press("Control+z")
        page.wait_for_function("() => !window.trackroom.store.undoStack.pending")
    wait_until(lambda: all(t["id"] != track_id for t in tracks(server, vid)), what="undo of the creation")
    page.keyboard.press("Control+Shift+z")
    wait_until(lambda: any(f["frame"] == 3 for f in figures(server, vid)), what="redo of the creation")
    assert not page.js_errors, page.js_errors


def test_interpolation_and_keyframe_flags(server, setup, signed_in):
    vid = setup["video"]["id"]
    status, track = server.api("POST", "/api/tracks/", {"video": vid, "label": setup["labels"]["person"]})
    assert status == 201
    status, body = server.api("POST", f"/api/videos/{vid}/figures/bulk/", {"figures": [
        {"track": track["id"], "frame": 20, "data": {"x1": 100, "y1": 100, "x2": 140, "y2": 200}},
        {"track": track["id"], "frame": 30, "data": {"x1": 200, "y1": 100, "x2": 240, "y2": 200}},
    ]})
    assert status == 200, body
    page = open_tool(signed_in, server, setup)
    seek(page, 25)
    row = page.locator(f'[data-testid=object-row][data-track="{track["id"]}"]')
    expect(row).to_have_attribute("data-source", "interpolated")
    fig = page.evaluate(f"() => window.trackroom.store.figure({track['id']}, 25)")
    assert fig["interpolated"] and abs(fig["data"]["x1"] - 150) < 1e-6
    # Jump to the track's last and first frames from the objects panel.
    row.get_by_test_id("object-last").click()
    expect(page.get_by_test_id("frame-counter")).to_have_text("30")
    page.locator(f'[data-testid=object-row][data-track="{track["id"]}"]').get_by_test_id("object-first").click()
    expect(page.get_by_test_id("frame-counter")).to_have_text("20")
    # Hide takes it off the canvas (and H brings it back).
    page.locator(f'[data-testid=object-row][data-track="{track["id"]}"]').get_by_test_id("object-hide").click()
    assert page.evaluate("() => window.trackroom.view.items.length") == 0
    page.keyboard.press("h")
    page.wait_for_function("() => window.trackroom.view.items.length === 1")
    seek(page, 25)
    # Editing an interpolated frame stores a manual keyframe there (K on the selected object).
    page.keyboard.press("Escape")  # the jumps selected it; a click on the row selects it again
    row.click()
    expect(row).to_have_class(re.compile("selected"))
    page.keyboard.press("k")
    stored = wait_until(lambda: [f for f in figures(server, vid) if f["track"] == track["id"] and f["frame"] == 25],
                        what="the keyframe on frame 25")
    assert stored[0]["is_keyframe"] and stored[0]["source"] == "manual" and abs(stored[0]["data"]["x1"] - 150) < 0.01
    # O marks it outside: nothing is interpolated after it.
    page.keyboard.press("o")
    wait_until(lambda: [f for f in figures(server, vid) if f["track"] == track["id"] and f["frame"] == 25][0]["outside"],
               what="outside flag")
    seek(page, 27)
    assert page.evaluate(f"() => window.trackroom.store.figure({track['id']}, 27)") is None
    assert not page.js_errors, page.js_errors


def test_polygon_skeleton_and_mask(server, setup, signed_in, shot):
    vid = setup["video"]["id"]
    labels = setup["labels"]
    page = open_tool(signed_in, server, setup)
    seek(page, 40)

    def on_frame(label_id):
        ids = {t["id"] for t in tracks(server, vid) if t["label"] == label_id}
        return [f for f in figures(server, vid) if f["frame"] == 40 and f["track"] in ids]

    # Polygon: class 2, click four points, Enter closes.
    page.keyboard.press("2")
    page.keyboard.press("n")
    for x, y in [(100, 400), (220, 380), (260, 500), (120, 520)]:
        click_at(page, x, y)
    page.keyboard.press("Enter")
    poly = wait_until(lambda: on_frame(labels["zone"]), what="the polygon")[0]
    assert [[round(x), round(y)] for x, y in poly["data"]["points"]] == [[100, 400], [220, 380], [260, 500], [120, 520]]

    # Skeleton: class 3, the keypoints are placed in the template's order; the last one finishes it.
    page.keyboard.press("3")
    page.keyboard.press("n")
    expect(page.get_by_test_id("hint")).to_contain_text("head")
    for x, y in [(500, 150), (505, 230), (510, 320)]:
        click_at(page, x, y)
    pts = wait_until(lambda: on_frame(labels["body"]), what="the skeleton")[0]
    assert [[round(x), round(y), v] for x, y, v in pts["data"]["points"]] == [[500, 150, 2], [505, 230, 2], [510, 320, 2]]
    shot(page, "editor-polygon-skeleton")

    # Drag the hip keypoint; V on it makes it occluded.
    drag(page, (505, 230), (530, 240))
    wait_until(lambda: [round(v) for v in on_frame(labels["body"])[0]["data"]["points"][1][:2]] == [530, 240],
               what="the dragged keypoint")
    page.keyboard.press("v")
    wait_until(lambda: on_frame(labels["body"])[0]["data"]["points"][1][2] == 1, what="occluded keypoint")

    # Mask: class 4, brush a stroke, Enter saves COCO RLE (column-major) of the video's size.
    page.keyboard.press("4")
    page.keyboard.press("n")
    expect(page.get_by_test_id("mask-brush")).to_be_visible()
    drag(page, (600, 400), (680, 400), steps=10)
    page.keyboard.press("e")  # eraser: cut the stroke in two
    expect(page.get_by_test_id("mask-eraser")).to_have_class(re.compile("active"))
    drag(page, (640, 390), (640, 410), steps=4)
    page.keyboard.press("p")  # a polygon filled into the same mask
    for x, y in [(600, 460), (700, 460), (650, 540)]:
        click_at(page, x, y)
    page.keyboard.press("Enter")  # fills the polygon
    page.keyboard.press("Enter")  # saves the mask
    mask = wait_until(lambda: on_frame(labels["blob"]), what="the mask")[0]
    rle = mask["data"]["rle"]
    assert rle["size"] == [576, 768] and sum(rle["counts"]) == 576 * 768
    # Decode column-major and check the painted stroke is where we painted it.
    bits, pos, val = set(), 0, 0
    for run in rle["counts"]:
        if val:
            bits.update(range(pos, pos + run))
        pos += run
        val ^= 1
    def at(x, y):  # column-major: (x, y) -> x * h + y
        return x * 576 + y in bits

    assert at(605, 400) and at(675, 400) and not at(640, 400) and not at(640, 300)
    assert at(650, 490) and not at(610, 530)  # inside / outside the filled triangle
    shot(page, "editor-mask")
    assert not page.js_errors, page.js_errors


def test_viewer_sees_view_only_and_cannot_draw(server, setup, signed_in, shot):
    vid = setup["video"]["id"]
    before = len(figures(server, vid))
    page = open_tool(signed_in, server, setup, user="vera")
    expect(page.get_by_test_id("view-only")).to_be_visible()
    expect(page.get_by_test_id("tool-draw")).to_be_disabled()
    page.keyboard.press("n")
    expect(page.get_by_test_id("tool")).to_have_attribute("data-mode", "select")
    drag(page, (100, 100), (200, 200))
    page.keyboard.press("Delete")
    page.keyboard.press("Control+z")
    expect(page.get_by_test_id("objects-all")).to_be_visible()
    assert len(figures(server, vid)) == before
    shot(page, "editor-viewer")
    assert not page.js_errors, page.js_errors


def test_conflict_is_shown_and_theirs_is_kept(server, setup, signed_in, shot):
    vid = setup["video"]["id"]
    status, track = server.api("POST", "/api/tracks/", {"video": vid, "label": setup["labels"]["person"]}, user="alice")
    assert status == 201
    status, fig = server.api("POST", "/api/figures/", {"track": track["id"], "frame": 50,
                                                       "data": {"x1": 300, "y1": 300, "x2": 360, "y2": 420}}, user="alice")
    assert status == 201, fig
    page = open_tool(signed_in, server, setup)
    seek(page, 50)
    # Live first: bob's change reaches the open page by itself.
    status, fig = server.api("PATCH", f"/api/figures/{fig['id']}/", {"version": fig["version"],
                             "data": {"x1": 310, "y1": 300, "x2": 370, "y2": 420}}, user="bob")
    assert status == 200, fig
    page.wait_for_function(f"() => window.trackroom.store.storedFigure({track['id']}, 50)?.data.x1 === 310")
    # Now a change the page cannot hear about in time (its socket is cut, as on a slow link):
    page.evaluate("() => window.trackroom.store.socket.close()")
    status, fig = server.api("PATCH", f"/api/figures/{fig['id']}/", {"version": fig["version"],
                             "data": {"x1": 320, "y1": 300, "x2": 380, "y2": 420}}, user="bob")
    assert status == 200, fig
    click_at(page, 340, 360)
    drag(page, (340, 360), (300, 330))
    notice = page.get_by_test_id("notice")
    expect(notice).to_contain_text("bob changed this box a moment ago — your change was not saved; showing theirs")
    expect(notice).to_have_attribute("data-level", "conflict")
    # The server kept bob's box, and the page now shows it.
    status, stored = server.api("GET", f"/api/figures/{fig['id']}/")
    assert stored["data"]["x1"] == 320 and stored["version"] == fig["version"]
    page.wait_for_function(f"() => window.trackroom.store.storedFigure({track['id']}, 50)?.data.x1 === 320")
    shot(page, "editor-conflict")
    assert not page.js_errors, page.js_errors


def test_only_a_window_of_figures_is_loaded(server, setup, signed_in, pets09_video):
    """On a long video the page holds the figures around the current frame and reloads as you move."""
    with pets09_video.open("rb") as fh:
        status, video = server.api("POST", f"/api/projects/{setup['project']}/videos/", files={"file": ("pets09.avi", fh)})
    assert status == 201, video
    status, track = server.api("POST", "/api/tracks/", {"video": video["id"], "label": setup["labels"]["person"]})
    assert status == 201
    status, body = server.api("POST", f"/api/videos/{video['id']}/figures/bulk/", {"figures": [
        {"track": track["id"], "frame": f, "data": {"x1": 10 + f / 10, "y1": 50, "x2": 60 + f / 10, "y2": 150}}
        for f in (5, 700)
    ]})
    assert status == 200, body
    page = signed_in("alice")
    page.goto(f"{server.url}/videos/{video['id']}/label/")
    expect(page.get_by_test_id("tool")).to_have_attribute("data-ready", "1")
    expect(page.get_by_test_id("frame-last")).to_have_text("794")
    first, last = page.evaluate("() => window.trackroom.store.loadedRange()")
    assert first == 0 and 100 <= last < 700
    assert page.evaluate(f"() => !!window.trackroom.store.storedFigure({track['id']}, 5)")
    seek(page, 700)
    page.wait_for_function(f"() => !!window.trackroom.store.storedFigure({track['id']}, 700)")
    first, last = page.evaluate("() => window.trackroom.store.loadedRange()")
    assert first <= 700 <= last and first > 5
    assert page.evaluate(f"() => window.trackroom.store.storedFigure({track['id']}, 5)") is None
    expect(page.locator(f'[data-testid=object-row][data-track="{track["id"]}"]')).to_be_visible()
