// Videos tab: list with thumbnails, upload with progress, open in the tool, export / import
// annotations, render the tracks to a WebM and play it, delete.

import { request, uploadWithProgress } from "../api.js";
import { watchJob } from "./jobs.js";
import {
  badge, call, clear, confirmDialog, explain, fmtBytes, fmtDuration, getAll, h, openDialog, progressBar,
  setProgress, showError, toast, saveResponse, videoPlayer,
} from "./ui.js";

export const EXPORT_FORMATS = [
  ["mot", "MOTChallenge (txt)"],
  ["cvat", "CVAT for video 1.1 (XML)"],
  ["yolo", "YOLO per frame (zip)"],
  ["coco", "COCO-style (JSON)"],
];

export function mountVideos(ctx, panel) {
  const count = h("span", { class: "muted", testid: "video-count" });
  const list = h("div", { class: "video-list", testid: "video-list" });
  const listError = h("p", { class: "alert alert-error", role: "alert", hidden: true, testid: "videos-error" });
  panel.append(h("div", { class: "section-head" }, h("h2", {}, "Videos ", count)));
  if (ctx.canManage) panel.append(uploadCard(ctx));
  panel.append(listError, list);

  async function load() {
    try {
      const videos = await ctx.videos();
      showError(listError, null);
      render(videos);
    } catch (err) {
      showError(listError, err, "The video list");
    }
  }

  function render(videos) {
    count.textContent = `(${videos.length})`;
    clear(list);
    if (!videos.length) {
      list.append(h("div", { class: "empty-state small", testid: "videos-empty" },
        h("h3", {}, "No videos yet"),
        h("p", { class: "muted" }, ctx.canManage
          ? "Upload a video above: Trackroom reads its exact frame count and frame rate, then you can label it."
          : "A manager of this project has not uploaded any video yet.")));
      return;
    }
    for (const video of videos) list.append(videoRow(ctx, video));
  }

  ctx.addEventListener("videos", (e) => render(e.detail.videos));
  return { show: load, hide() {} };
}

function uploadCard(ctx) {
  const file = h("input", { type: "file", id: "video-file", accept: "video/*,.avi,.mp4,.mkv,.mov,.webm,.mpg,.mpeg",
    testid: "upload-input", required: true });
  const name = h("input", { type: "text", id: "video-name", placeholder: "defaults to the file name",
    maxlength: "255", testid: "upload-name" });
  const button = h("button", { class: "btn btn-primary", type: "submit", testid: "upload-button" }, "Upload");
  const bar = progressBar(0, "upload-progress");
  const state = h("span", { class: "muted small", testid: "upload-state" });
  const progressRow = h("div", { class: "upload-progress", hidden: true }, bar, state);
  const error = h("p", { class: "alert alert-error", role: "alert", hidden: true, testid: "upload-error" });
  const form = h("form", { class: "upload-form", testid: "upload-form" },
    h("div", { class: "field" }, h("label", { for: "video-file" }, "Video file"), file),
    h("div", { class: "field" }, h("label", { for: "video-name" }, "Name ", h("span", { class: "muted" }, "(optional)")), name),
    h("div", { class: "field field-button" }, button));

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!file.files.length) return;
    showError(error, null);
    button.disabled = true;
    progressRow.hidden = false;
    setProgress(bar, 0);
    state.textContent = "Uploading…";
    const body = new FormData();
    body.append("file", file.files[0]);
    if (name.value.trim()) body.append("name", name.value.trim());
    try {
      const video = await uploadWithProgress(`/api/projects/${ctx.projectId}/videos/`, body, (fraction) => {
        setProgress(bar, fraction);
        state.textContent = fraction < 1 ? `Uploading… ${Math.round(fraction * 100)} %`
          : "Checking the video on the server (exact frame count)…";
      });
      toast(`Uploaded ${video.name}: ${video.frame_count} frames at ${video.fps} fps.`);
      form.reset();
      progressRow.hidden = true;
      await ctx.reloadVideos();
    } catch (err) {
      progressRow.hidden = true;
      showError(error, err, "Upload");
    } finally {
      button.disabled = false;
    }
  });

  return h("div", { class: "panel upload-card" },
    h("h3", {}, "Upload a video"),
    form, progressRow, error,
    h("p", { class: "muted small" }, "Any format FFmpeg reads (AVI, MP4, MKV, WebM…). Nothing is stored if the file is not a usable video."));
}

function videoRow(ctx, video) {
  const thumb = h("img", { src: `/api/videos/${video.id}/frames/0/`, alt: `First frame of ${video.name}`,
    loading: "lazy", testid: "video-thumb" });
  const exportFormat = h("select", { testid: "export-format", "aria-label": "Export format" },
    EXPORT_FORMATS.map(([value, label]) => h("option", { value }, label)));
  const message = h("p", { class: "alert alert-error", role: "alert", hidden: true, testid: "video-error" });

  const exportButton = h("button", { class: "btn", type: "button", testid: "export-button", onclick: async () => {
    showError(message, null);
    exportButton.disabled = true;
    try {
      const format = exportFormat.value;
      const response = await request("GET", `/api/videos/${video.id}/export/?format=${format}`, { raw: true });
      const saved = await saveResponse(response, `${video.name}.${format}`);
      toast(`Exported ${saved.name} (${fmtBytes(saved.size)}).`);
    } catch (err) {
      showError(message, err, "Export");
    } finally {
      exportButton.disabled = false;
    }
  } }, "Export");

  const actions = h("div", { class: "video-actions" },
    h("a", { class: "btn btn-primary", href: `/videos/${video.id}/label/`, testid: "video-open" }, "Open"),
    h("span", { class: "btn-group" }, exportFormat, exportButton),
    ctx.canAnnotate ? h("button", { class: "btn", type: "button", testid: "import-button",
      onclick: () => importDialog(ctx, video) }, "Import…") : null,
    ctx.canAnnotate ? h("button", { class: "btn", type: "button", testid: "render-button",
      onclick: () => renderDialog(ctx, video) }, "Render…") : null,
    ctx.canManage ? h("button", { class: "btn", type: "button", testid: "video-edit",
      onclick: () => editDialog(ctx, video) }, "Edit…") : null,
    ctx.canManage ? h("button", { class: "btn btn-danger-outline", type: "button", testid: "video-delete",
      onclick: async () => {
        const ok = await confirmDialog(`Delete "${video.name}" with all its tracks, figures and files? This cannot be undone.`);
        if (!ok) return;
        try {
          await call("DELETE", `/api/videos/${video.id}/`);
          toast(`Deleted ${video.name}.`);
          await ctx.reloadVideos();
        } catch (err) {
          showError(message, err);
        }
      } }, "Delete") : null,
  );

  return h("article", { class: "video-row", testid: "video-row", dataset: { videoId: String(video.id) } },
    h("a", { class: "video-thumb", href: `/videos/${video.id}/label/`, tabindex: "-1" }, thumb),
    h("div", { class: "video-info" },
      h("h3", { testid: "video-name" }, video.name),
      h("dl", { class: "facts" },
        fact("Frames", h("span", { testid: "video-frames" }, String(video.frame_count))),
        fact("Size", `${video.width}×${video.height}`),
        fact("FPS", h("span", { testid: "video-fps" }, String(Math.round(video.fps * 1000) / 1000))),
        fact("Length", fmtDuration(video.duration)),
        fact("File", `${fmtBytes(video.size)}${video.codec ? ` · ${video.codec}` : ""}`),
        fact("Status", badge(video.status))),
      actions, message),
  );
}

function fact(term, value) {
  return h("div", {}, h("dt", {}, term), h("dd", {}, value));
}

// --- edit name and frame rate ---------------------------------------------------------------

function editDialog(ctx, video) {
  const { body, close } = openDialog(`Edit ${video.name}`, { testid: "video-edit-dialog" });
  const name = h("input", { id: "video-edit-name", required: true, maxlength: "255", testid: "video-edit-name" });
  name.value = video.name;
  const fps = h("input", { id: "video-edit-fps", type: "number", step: "any", min: "0.001", max: "1000",
    required: true, testid: "video-edit-fps" });
  fps.value = String(video.fps);
  const error = h("p", { class: "alert alert-error", role: "alert", hidden: true, testid: "video-edit-error" });
  const submit = h("button", { class: "btn btn-primary", type: "submit", testid: "video-edit-submit" }, "Save");
  const form = h("form", { class: "stack" },
    h("label", { for: "video-edit-name" }, "Name"), name,
    h("label", { for: "video-edit-fps" }, "Frames per second"), fps,
    h("p", { class: "muted small" }, "Some files carry a wrong rate in their header (PETS09 says 10, the camera ran at 7). "
      + "Trackers scale their time-based settings with it, and playback uses it."),
    error,
    h("div", { class: "dialog-actions" }, h("button", { class: "btn", type: "button", onclick: close }, "Cancel"), submit));
  body.append(form);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    showError(error, null);
    submit.disabled = true;
    try {
      await call("PATCH", `/api/videos/${video.id}/`, { json: { name: name.value.trim(), fps: Number(fps.value) } });
      close();
      await ctx.reloadVideos();
    } catch (err) {
      showError(error, err);
      submit.disabled = false;
    }
  });
}

// --- import ---------------------------------------------------------------------------------

async function importDialog(ctx, video) {
  const { body, close } = openDialog(`Import annotations into ${video.name}`, { testid: "import-dialog" });
  const file = h("input", { type: "file", id: "import-file", required: true, testid: "import-file" });
  const format = h("select", { id: "import-format", testid: "import-format" },
    EXPORT_FORMATS.map(([value, label]) => h("option", { value }, label)));
  const as = h("select", { id: "import-as", testid: "import-as" },
    h("option", { value: "tracks" }, "as ground truth (tracks people can edit)"),
    h("option", { value: "detections" }, "as detections (for a Track or ReID job)"));
  const label = h("select", { id: "import-label", testid: "import-label" },
    h("option", { value: "" }, "the project's first box label"));
  const renumber = h("input", { type: "checkbox", id: "import-renumber", testid: "import-renumber" });
  const submit = h("button", { class: "btn btn-primary", type: "submit", testid: "import-submit" }, "Import");
  const error = h("div", { class: "alert alert-error", role: "alert", hidden: true, testid: "import-error" });
  const result = h("p", { class: "alert alert-ok", hidden: true, testid: "import-result" });
  const form = h("form", { class: "stack" },
    h("label", { for: "import-file" }, "File"), file,
    h("label", { for: "import-format" }, "Format"), format,
    h("label", { for: "import-as" }, "Import"), as,
    h("div", { class: "import-label-row" }, h("label", { for: "import-label" }, "Label for the tracks"), label,
      h("label", { class: "check", for: "import-renumber" }, renumber,
        " Give the imported tracks the next free numbers (keep this video's tracks as they are)")),
    error, result,
    h("div", { class: "dialog-actions" },
      h("button", { class: "btn", type: "button", onclick: close }, "Close"), submit));
  body.append(form);
  as.addEventListener("change", () => { form.querySelector(".import-label-row").hidden = as.value !== "tracks"; });

  getAll(`/api/projects/${ctx.projectId}/labels/`).then((labels) => {
    for (const l of labels) label.append(h("option", { value: String(l.id) }, `${l.name} (${l.shape})`));
  }).catch(() => {});

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!file.files.length) return;
    error.hidden = true;
    result.hidden = true;
    submit.disabled = true;
    const data = new FormData();
    data.append("file", file.files[0]);
    data.append("format", format.value);
    data.append("as", as.value);
    if (as.value === "tracks" && label.value) data.append("label", label.value);
    if (as.value === "tracks" && renumber.checked) data.append("renumber", "true");
    try {
      const answer = await call("POST", `/api/videos/${video.id}/import/`, { form: data });
      result.hidden = false;
      result.textContent = as.value === "tracks"
        ? `Imported ${answer.tracks} tracks with ${answer.figures} figures.`
        : `Stored detection set ${answer.detection_set ?? ""} (${answer.figures ?? answer.rows ?? "?"} detections). `
          + "Choose it in a Track job or when training a ReID model.";
      toast(result.textContent);
    } catch (err) {
      showLineErrors(error, err);
    } finally {
      submit.disabled = false;
    }
  });
}

// The server's sentence plus its line-numbered list ({"errors": [{"line", "message"}]}), first 20.
function showLineErrors(box, err) {
  clear(box);
  box.hidden = false;
  box.append(h("p", { testid: "import-error-detail" }, explain(err, "Import")));
  const rows = err && err.body && Array.isArray(err.body.errors) ? err.body.errors : [];
  if (rows.length > 1) {
    const ul = h("ul", { class: "line-errors" });
    for (const row of rows.slice(0, 20)) {
      ul.append(h("li", {}, row.line !== undefined ? h("strong", {}, `Line ${row.line}: `) : null, row.message || row.detail || ""));
    }
    if (rows.length > 20) ul.append(h("li", { class: "muted" }, `… and ${rows.length - 20} more`));
    box.append(ul);
  }
}

// --- render ---------------------------------------------------------------------------------

function renderDialog(ctx, video) {
  let stopWatching = null;
  const { body } = openDialog(`Render ${video.name}`, { testid: "render-dialog", wide: true,
    onClose: () => stopWatching && stopWatching() });
  const trail = h("input", { type: "number", id: "render-trail", min: "0", max: "300", value: "15", testid: "render-trail" });
  const start = h("button", { class: "btn btn-primary", type: "button", testid: "render-start" }, "Start render");
  const bar = progressBar(0, "render-progress");
  const state = h("p", { class: "muted small", testid: "render-state" });
  const error = h("p", { class: "alert alert-error", role: "alert", hidden: true, testid: "render-error" });
  const player = h("div", { testid: "render-result" });
  const progressRow = h("div", { hidden: true }, bar, state);
  body.append(
    h("p", { class: "muted" }, "Draws every track into a browser-playable WebM: a colour per track, its ID and a short trail."),
    h("div", { class: "inline-form" }, h("label", { for: "render-trail" }, "Trail (frames)"), trail, start),
    progressRow, error, player);

  start.addEventListener("click", async () => {
    showError(error, null);
    clear(player);
    start.disabled = true;
    try {
      const job = await call("POST", `/api/videos/${video.id}/jobs/render/`, { json: { trail: Number(trail.value) } });
      progressRow.hidden = false;
      stopWatching = watchJob(job.id, (current) => {
        setProgress(bar, current.progress);
        state.textContent = `${current.status} · ${current.frames_done} / ${current.frames_total} frames`;
        if (current.status === "done") {
          start.disabled = false;
          showRender(player, current.result.url, video);
        } else if (current.status === "failed" || current.status === "cancelled") {
          start.disabled = false;
          showError(error, current.error || `The render was ${current.status}.`);
        }
      }, (err) => showError(error, err));
    } catch (err) {
      start.disabled = false;
      showError(error, err, "Rendering");
    }
  });
}

function showRender(box, url, video) {
  clear(box);
  const player = videoPlayer(url, `${video.name}-tracks.webm`);
  box.append(player);
  player.querySelector("video").play().catch(() => { /* autoplay may be refused; the controls are there */ });
}
