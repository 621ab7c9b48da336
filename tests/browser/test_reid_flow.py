"""Issue 6's "Done when" through the project page, on the 60-frame PETS09 clip: Track with the default
detector (set up through the API), train a ReID model in the Models tab and watch its loss curve draw
live, see the model listed with its download, track again with it, then render the tracks and play the
WebM in the page. Also: cancelling a training from the page keeps no model."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.timeout(240)

STEPS = 20
IMGSZ = 640  # fast on CPU; still finds the people of the clip's first frames
TRACK_FRAMES = 30


def by_id(page, name):
    return page.get_by_test_id(name)


@pytest.fixture(scope="module")
def tracked_clip(server, short_clip):
    """A project with the short clip, tracked by the default detector (its boxes are the training data)."""
    made = server.create_project("ReID flow", video=short_clip)
    project, label, video = made["project"], made["labels"]["person"], made["video"]
    status, job = server.api("POST", f"/api/videos/{video['id']}/jobs/track/",
                             json={"model": "default", "classes": ["person"], "tracker": "trackroom", "imgsz": IMGSZ,
                                   "stop": TRACK_FRAMES})  # fmt: skip
    assert status == 201, job
    job = server.wait_job(job["id"], timeout=150)
    assert job["status"] == "done", job["error"]
    status, tracks = server.api("GET", f"/api/tracks/?video={video['id']}")
    assert status == 200 and tracks["count"] > 0, tracks
    return {"project": project, "video": video, "label": label}


def test_train_reid_watch_the_loss_then_render_and_play(server, signed_in, shot, tracked_clip):
    project, video = tracked_clip["project"], tracked_clip["video"]
    page = signed_in("admin")
    errors: list = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(f"{server.url}/projects/{project['id']}/#models")
    form = by_id(page, "reid-train-form")
    expect(form).to_be_visible()
    expect(form.get_by_test_id("reid-video-checkbox")).to_be_checked()
    form.get_by_test_id("reid-name").fill("campus-reid")
    form.get_by_test_id("reid-detections").select_option("track-job")
    form.get_by_test_id("reid-steps").fill(str(STEPS))
    chart = by_id(page, "loss-chart")
    # Record every redraw of the curve (its point count) while the job runs.
    chart.evaluate("""c => { window.pointsSeen = [];
        new MutationObserver(() => window.pointsSeen.push(Number(c.dataset.points)))
            .observe(c, {attributes: true, attributeFilter: ['data-points']}); }""")
    form.get_by_test_id("reid-train").click()

    # The live curve: it grows while the job runs, then the final loss is shown.
    expect(by_id(page, "reid-live")).to_be_visible()
    page.wait_for_function("c => Number(c.dataset.points) >= 2", arg=chart.element_handle(), timeout=120_000)
    expect(by_id(page, "reid-live")).to_have_attribute("data-status", "done", timeout=120_000)
    final = by_id(page, "loss-final")
    expect(final).to_contain_text("Final loss")
    points = int(chart.get_attribute("data-points"))
    assert points >= 2
    seen = page.evaluate("window.pointsSeen")
    assert seen and seen[-1] == points and seen == sorted(seen), seen  # drawn as it grew, never shrank
    # Something was really drawn: the curve's orange pixels are on the canvas.
    orange = page.evaluate("""c => {
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        let n = 0;
        for (let i = 0; i < d.length; i += 4) if (d[i] > 200 && d[i + 1] > 80 && d[i + 1] < 140 && d[i + 2] < 60) n++;
        return n; }""", chart.element_handle())  # fmt: skip
    assert orange > 50, orange
    status, models = server.api("GET", f"/api/projects/{project['id']}/reid-models/")
    assert status == 200, models
    model = next(m for m in models if m["name"] == "campus-reid")
    assert model["status"] == "ready" and len(model["losses"]) == points, model
    assert f"{model['losses'][-1][1]:.3f}" in final.inner_text()

    # The model is listed with its videos, parameters and a download link.
    card = by_id(page, "reid-model").filter(has_text="campus-reid")
    expect(card).to_have_count(1)
    expect(card).to_have_attribute("data-status", "ready")
    expect(card.get_by_test_id("reid-videos")).to_have_text(video["name"])
    expect(card.get_by_test_id("reid-params")).to_contain_text(f"steps {STEPS}")
    form.evaluate("el => el.closest('.panel').scrollIntoView({block: 'start'})")
    shot(page, "pages-reid-trained")
    with page.expect_download() as info:
        card.get_by_test_id("reid-download").click()
    assert info.value.path().stat().st_size > 1000

    # Track again with the learned model (the Track dialog lives in the labeling tool; the API here).
    status, job = server.api("POST", f"/api/videos/{video['id']}/jobs/track/", json={
        "model": "default", "classes": ["person"], "tracker": "reid", "tracker_params": {"reid_model": model["id"]},
        "imgsz": IMGSZ, "stop": TRACK_FRAMES})
    assert status == 201, job
    job = server.wait_job(job["id"], timeout=150)
    assert job["status"] == "done", job["error"]
    assert job["params"]["tracker"] == "reid" and job["params"]["reid_model_id"] == model["id"], job["params"]

    # Render from the Videos tab, then play the WebM in the dialog.
    by_id(page, "tab-videos").click()
    by_id(page, "video-row").get_by_test_id("render-button").click()
    dialog = by_id(page, "render-dialog")
    dialog.get_by_test_id("render-start").click()
    player = dialog.get_by_test_id("render-video")
    expect(player).to_be_visible(timeout=120_000)
    page.wait_for_function("v => v.readyState >= 2 && v.duration > 0", arg=player.element_handle(), timeout=30_000)
    duration = player.evaluate("v => v.duration")
    assert abs(duration - 60 / 7) < 0.5, duration  # all 60 frames at the clip's 7 fps
    href = dialog.get_by_test_id("render-download").get_attribute("href")
    render_id = int(re.fullmatch(r"/api/jobs/(\d+)/file/\?download=1", href).group(1))
    status, render = server.api("GET", f"/api/jobs/{render_id}/")
    assert render["kind"] == "render" and render["status"] == "done" and render["result"]["frames"] == 60, render
    # Show a frame where the tracked people are (the tracks cover the first TRACK_FRAMES frames).
    player.evaluate("""v => new Promise(done => { v.pause(); v.addEventListener('seeked', done, {once: true});
                                                 v.currentTime = 2.5; })""")
    shot(page, "pages-render-playing")

    # The Jobs tab lists the jobs, newest first, all done.
    dialog.get_by_test_id("dialog-close").click()
    by_id(page, "tab-jobs").click()
    expect(by_id(page, "job-row").first).to_have_attribute("data-job-id", str(render_id))  # newest first
    for kind in ("track", "reid_train", "render"):
        expect(page.locator(f"[data-testid=job-row][data-kind={kind}][data-status=done]").first).to_be_visible()
    expect(page.locator("[data-testid=job-row][data-kind=track]").first).to_contain_text("reid")
    shot(page, "pages-jobs")
    # A finished render plays from the Jobs tab too.
    page.locator(f"[data-testid=job-row][data-job-id='{render_id}']").get_by_test_id("job-play").click()
    replay = by_id(page, "render-dialog").get_by_test_id("render-video")
    page.wait_for_function("v => v.readyState >= 2 && v.duration > 0", arg=replay.element_handle(), timeout=30_000)
    assert not errors, errors


def test_cancel_a_training_from_the_page(server, signed_in, tracked_clip):
    project = tracked_clip["project"]
    page = signed_in("admin")
    page.goto(f"{server.url}/projects/{project['id']}/#models")
    form = by_id(page, "reid-train-form")
    form.get_by_test_id("reid-name").fill("too-long")
    form.get_by_test_id("reid-steps").fill("20000")
    form.get_by_test_id("reid-train").click()
    chart = by_id(page, "loss-chart")
    # Cancel once it is really training (a first loss is on the curve).
    page.wait_for_function("c => Number(c.dataset.points) >= 1", arg=chart.element_handle(), timeout=120_000)
    by_id(page, "reid-cancel").click()
    expect(by_id(page, "reid-live")).to_have_attribute("data-status", "cancelled", timeout=60_000)
    expect(by_id(page, "reid-job-error")).to_contain_text("cancelled")
    card = by_id(page, "reid-model").filter(has_text="too-long")
    expect(card).to_have_attribute("data-status", "failed")
    expect(card.get_by_test_id("reid-download")).to_have_count(0)
    status, models = server.api("GET", f"/api/projects/{project['id']}/reid-models/")
    assert {m["name"]: m["status"] for m in models}["too-long"] == "failed"
    by_id(page, "tab-jobs").click()
    expect(page.locator("[data-testid=job-row][data-kind=reid_train][data-status=cancelled]")).to_have_count(1)
