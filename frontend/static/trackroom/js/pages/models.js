// Models tab: detector models (bundled default + uploads, manager+) and ReID models: train one from the
// project's videos with a live loss curve, cancel, then list it with metrics, videos, parameters, download.

import { uploadWithProgress } from "../api.js";
import { cancelJob, watchJob } from "./jobs.js";
import { drawLossChart } from "./loss_chart.js";
import {
  badge, call, clear, confirmDialog, explain, fmtBytes, fmtDate, fmtNumber, get, getAll, h, isMissingEndpoint,
  progressBar, setProgress, showError, toast,
} from "./ui.js";

export function mountModels(ctx, panel) {
  const detectors = detectorSection(ctx);
  const reid = reidSection(ctx);
  panel.append(detectors.el, reid.el);
  return {
    show() { detectors.load(); reid.load(); },
    hide() {},
  };
}

// --- detector models ------------------------------------------------------------------------

function detectorSection(ctx) {
  const table = h("table", { class: "table", testid: "detector-table" });
  const error = h("p", { class: "alert alert-error", role: "alert", hidden: true, testid: "detector-error" });
  const el = h("section", { class: "models-section" },
    h("div", { class: "section-head" }, h("h2", {}, "Detector models")),
    h("p", { class: "muted small" }, "Track jobs choose one of these. The bundled default finds persons and their 17 keypoints."),
    ctx.canManage ? uploadForm() : null, error, table);

  function uploadForm() {
    const file = h("input", { type: "file", id: "model-file", accept: ".pt,.onnx", required: true, testid: "model-file" });
    const name = h("input", { id: "model-name", placeholder: "defaults to the file name", testid: "model-name" });
    const submit = h("button", { class: "btn btn-primary", type: "submit", testid: "model-upload" }, "Upload model");
    const bar = progressBar(0, "model-upload-progress");
    const state = h("span", { class: "muted small" });
    const progressRow = h("div", { class: "upload-progress", hidden: true }, bar, state);
    const formError = h("p", { class: "alert alert-error", role: "alert", hidden: true, testid: "model-upload-error" });
    const form = h("form", { class: "form-row" },
      h("div", { class: "field" }, h("label", { for: "model-file" }, "YOLO weights (.pt or .onnx)"), file),
      h("div", { class: "field" }, h("label", { for: "model-name" }, "Name ", h("span", { class: "muted" }, "(optional)")), name),
      h("div", { class: "field field-button" }, submit));
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      if (!file.files.length) return;
      showError(formError, null);
      submit.disabled = true;
      progressRow.hidden = false;
      const body = new FormData();
      body.append("file", file.files[0]);
      if (name.value.trim()) body.append("name", name.value.trim());
      try {
        const model = await uploadWithProgress(`/api/projects/${ctx.projectId}/models/`, body, (f) => {
          setProgress(bar, f);
          state.textContent = f < 1 ? `Uploading… ${Math.round(f * 100)} %` : "Loading the model to read its classes…";
        });
        toast(`Added ${model.name}: ${model.task}, ${model.class_names.length} classes.`);
        form.reset();
        await load();
      } catch (err) {
        showError(formError, err, "Model upload");
      } finally {
        submit.disabled = false;
        progressRow.hidden = true;
      }
    });
    return h("div", { class: "panel" }, h("h3", {}, "Upload a detector"), form, progressRow, formError,
      h("p", { class: "muted small" }, "A .pt file is a Python pickle that runs code when loaded: upload only files you trust. ONNX is the safer format."));
  }

  async function load() {
    try {
      const models = await get(`/api/projects/${ctx.projectId}/models/`);
      showError(error, null);
      render(Array.isArray(models) ? models : models.results);
    } catch (err) {
      showError(error, err, "The model list");
    }
  }

  function render(models) {
    clear(table);
    table.append(h("thead", {}, h("tr", {}, ["Name", "Format", "Task", "Classes", "Size", "Added", ""].map((t) => h("th", {}, t)))));
    const tbody = h("tbody");
    for (const m of models) {
      const classes = m.class_names || [];
      tbody.append(h("tr", { testid: "detector-row", dataset: { modelId: String(m.id) } },
        h("td", {}, h("strong", {}, m.name), m.id === "default" ? h("span", { class: "muted small" }, " (bundled)") : null),
        h("td", {}, m.format),
        h("td", {}, m.task),
        h("td", { class: "small", title: classes.join(", ") },
          `${classes.length}: ${classes.slice(0, 6).join(", ")}${classes.length > 6 ? ", …" : ""}`),
        h("td", {}, fmtBytes(m.size)),
        h("td", { class: "small muted" }, m.created_at ? fmtDate(m.created_at) : "—"),
        h("td", { class: "row-actions" }, ctx.canManage && m.deletable ? h("button", {
          class: "btn btn-small btn-danger-outline", type: "button", testid: "detector-delete", onclick: async () => {
            if (!await confirmDialog(`Delete the model "${m.name}" and its file?`)) return;
            try {
              await call("DELETE", `/api/projects/${ctx.projectId}/models/${m.id}/`);
              await load();
            } catch (err) {
              showError(error, err);
            }
          } }, "Delete") : null)));
    }
    table.append(tbody);
  }

  return { el, load };
}

// --- ReID models ----------------------------------------------------------------------------

function reidSection(ctx) {
  const list = h("div", { class: "reid-list", testid: "reid-list" });
  const error = h("p", { class: "alert alert-error", role: "alert", hidden: true, testid: "reid-error" });
  const trainer = ctx.canAnnotate ? trainPanel(ctx, () => load()) : null;
  const el = h("section", { class: "models-section" },
    h("div", { class: "section-head" }, h("h2", {}, "Re-identification (ReID) models")),
    h("p", { class: "muted small" },
      "Trained on this project's own unlabeled video and detector boxes: no track labels needed. Track with one by choosing the ReID tracker in the Track dialog."),
    trainer ? trainer.el : null, error, list);

  async function load() {
    let models;
    try {
      models = await getAll(`/api/projects/${ctx.projectId}/reid-models/`);
      showError(error, null);
    } catch (err) {
      showError(error, isMissingEndpoint(err)
        ? `ReID models are not available on this server yet (GET /api/projects/${ctx.projectId}/reid-models/ answered HTTP ${err.status}).`
        : explain(err));
      return;
    }
    const videos = await ctx.videos().catch(() => []);
    render(models, new Map(videos.map((v) => [v.id, v.name])));
    if (trainer) trainer.resume(models);
  }

  function render(models, videoNames) {
    clear(list);
    if (!models.length) {
      list.append(h("div", { class: "empty-state small", testid: "reid-empty" }, h("h3", {}, "No ReID model yet"),
        h("p", { class: "muted" }, "Run Track on a video first (its detections are the training data), then train one above.")));
      return;
    }
    for (const m of models) list.append(reidCard(ctx, m, videoNames, load));
  }

  return { el, load };
}

function reidCard(ctx, m, videoNames, reload) {
  const chart = h("canvas", { class: "loss-chart loss-chart-small", testid: "reid-loss-chart" });
  const card = h("article", { class: "reid-card", testid: "reid-model", dataset: { modelId: String(m.id), status: m.status } },
    h("div", { class: "reid-card-head" },
      h("h3", {}, m.name || `ReID model ${m.id}`), badge(m.status),
      h("span", { class: "spacer" }),
      m.status === "ready" && m.download_url ? h("a", { class: "btn btn-small", href: m.download_url, download: "",
        testid: "reid-download" }, "Download") : null,
      ctx.canManage ? h("button", { class: "btn btn-small btn-danger-outline", type: "button", testid: "reid-delete",
        onclick: async () => {
          if (!await confirmDialog(`Delete the ReID model "${m.name}"?`)) return;
          try {
            await call("DELETE", `/api/reid-models/${m.id}/`);
            await reload();
          } catch (err) {
            toast(explain(err), "error");
          }
        } }, "Delete") : null),
    h("div", { class: "reid-card-body" },
      h("div", { class: "reid-facts" },
        h("dl", { class: "facts" },
          h("div", {}, h("dt", {}, "Created"), h("dd", {}, fmtDate(m.created_at))),
          h("div", {}, h("dt", {}, "Videos"), h("dd", { testid: "reid-videos" },
            (m.videos || []).map((id) => videoNames.get(id) || `#${id}`).join(", ") || "—")),
          m.seconds ? h("div", {}, h("dt", {}, "Training time"), h("dd", {}, `${fmtNumber(m.seconds, 1)} s`)) : null,
          m.size ? h("div", {}, h("dt", {}, "File"), h("dd", {}, fmtBytes(m.size))) : null),
        h("dl", { class: "facts facts-vertical" },
          h("div", {}, h("dt", {}, "Parameters"), h("dd", { class: "kv", testid: "reid-params" }, keyValues(m.params, ["videos"]))),
          h("div", {}, h("dt", {}, "Metrics"), h("dd", { class: "kv", testid: "reid-metrics" }, keyValues(m.metrics))))),
      Array.isArray(m.losses) && m.losses.length ? chart : null));
  if (Array.isArray(m.losses) && m.losses.length) requestAnimationFrame(() => drawLossChart(chart, m.losses));
  return card;
}

// Scalars (and short lists) inline as "key value"; nested objects and long lists folded into <details>.
function keyValues(obj, skip = []) {
  if (!obj || typeof obj !== "object" || !Object.keys(obj).length) return "—";
  const inline = [];
  const folded = [];
  for (const [k, v] of Object.entries(obj)) {
    if (skip.includes(k)) continue;
    const short = Array.isArray(v) && v.length <= 4 && v.every((x) => x === null || typeof x !== "object");
    if (v !== null && typeof v === "object" && !short) {
      const size = Array.isArray(v) ? v.length : Object.keys(v).length;
      folded.push(h("details", { class: "kv-more" }, h("summary", {}, `${k} (${size})`),
        h("pre", {}, JSON.stringify(v, null, 1))));
    } else {
      inline.push(h("span", { class: "kv-item" }, h("span", { class: "muted" }, `${k} `),
        Array.isArray(v) ? `[${v.join(", ")}]` : fmtNumber(v)));
    }
  }
  return [...inline, ...folded];
}

// The "Train ReID model" form and the live view of a training job (loss curve, progress, cancel).
function trainPanel(ctx, onFinished) {
  const name = h("input", { id: "reid-name", placeholder: "e.g. campus-reid-v1", maxlength: "200", testid: "reid-name" });
  const videoBox = h("div", { class: "checklist", testid: "reid-videos-choice" });
  const detections = h("select", { id: "reid-detections", testid: "reid-detections" },
    h("option", { value: "track-job" }, "from the latest Track job (its detector boxes)"));
  const steps = h("input", { id: "reid-steps", type: "number", min: "1", max: "100000", value: "300", testid: "reid-steps" });
  const submit = h("button", { class: "btn btn-primary", type: "submit", testid: "reid-train" }, "Train ReID model");
  const formError = h("p", { class: "alert alert-error", role: "alert", hidden: true, testid: "reid-train-error" });
  const form = h("form", { class: "train-form", testid: "reid-train-form" },
    h("div", { class: "form-row" },
      h("div", { class: "field" }, h("label", { for: "reid-name" }, "Name"), name),
      h("div", { class: "field" }, h("label", { for: "reid-detections" }, "Detections"), detections),
      h("div", { class: "field field-narrow" }, h("label", { for: "reid-steps" }, "Steps"), steps)),
    h("label", {}, "Videos to learn from"), videoBox,
    h("div", { class: "form-row" }, h("div", { class: "field field-button" }, submit)),
    formError);

  // live view
  const chart = h("canvas", { class: "loss-chart", testid: "loss-chart" });
  const stat = h("p", { class: "loss-stat", testid: "loss-final" });
  const bar = progressBar(0, "reid-progress");
  const jobState = h("span", { class: "small muted", testid: "reid-job-state" });
  const cancel = h("button", { class: "btn btn-small", type: "button", testid: "reid-cancel" }, "Cancel training");
  const liveError = h("p", { class: "alert alert-error", role: "alert", hidden: true, testid: "reid-job-error" });
  const live = h("div", { class: "train-live", hidden: true, testid: "reid-live" },
    h("div", { class: "train-live-head" }, h("strong", {}, "Training"), jobState, h("span", { class: "spacer" }), cancel),
    bar, chart, stat, liveError);

  let watching = null; // job id being shown
  let stop = null;
  const finished = new Set(); // jobs already seen to the end: never resumed again

  async function fillVideos() {
    const videos = await ctx.videos().catch(() => []);
    const checked = new Set([...videoBox.querySelectorAll("input:checked")].map((i) => Number(i.value)));
    clear(videoBox);
    if (!videos.length) videoBox.append(h("span", { class: "muted small" }, "Upload a video first."));
    for (const v of videos) {
      videoBox.append(h("label", { class: "check" },
        h("input", { type: "checkbox", value: String(v.id), checked: checked.size ? checked.has(v.id) : true,
          testid: "reid-video-checkbox" }), ` ${v.name} `, h("span", { class: "muted small" }, `${v.frame_count} frames`)));
    }
    // Imported detection sets of these videos (the exchange API); silently absent when not there.
    const keep = detections.value;
    while (detections.options.length > 1) detections.remove(1);
    for (const v of videos) {
      try {
        const sets = await getAll(`/api/videos/${v.id}/detection-sets/`);
        for (const s of sets) {
          detections.append(h("option", { value: `detections:${s.id}` },
            `imported: ${s.name || `set ${s.id}`} (${v.name}${s.rows ? `, ${s.rows} boxes` : ""})`));
        }
      } catch { /* no detection sets endpoint yet, or none */ }
    }
    detections.value = [...detections.options].some((o) => o.value === keep) ? keep : "track-job";
  }
  ctx.addEventListener("videos", fillVideos);
  fillVideos();

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    showError(formError, null);
    const videos = [...videoBox.querySelectorAll("input:checked")].map((i) => Number(i.value));
    if (!videos.length) {
      showError(formError, "Choose at least one video to learn from.");
      return;
    }
    submit.disabled = true;
    try {
      const body = { videos, detections: detections.value, steps: Number(steps.value) };
      if (name.value.trim()) body.name = name.value.trim();
      const job = await call("POST", `/api/projects/${ctx.projectId}/reid-models/train/`, { json: body });
      follow(job, Number(steps.value));
      toast("Training started.");
    } catch (err) {
      showError(formError, isMissingEndpoint(err) ? "ReID training is not available on this server yet." : explain(err));
      submit.disabled = false;
    }
  });

  cancel.addEventListener("click", async () => {
    if (!watching) return;
    cancel.disabled = true;
    try {
      await cancelJob(watching);
      jobState.textContent = "cancelling…";
    } catch (err) {
      showError(liveError, err);
      cancel.disabled = false;
    }
  });

  function follow(job, totalSteps) {
    if (stop) stop();
    watching = job.id;
    live.hidden = false;
    cancel.disabled = false;
    submit.disabled = true;
    showError(liveError, null);
    const total = totalSteps || (job.params && job.params.steps) || job.frames_total || null;
    const update = (j) => {
      const losses = (j.result && j.result.losses) || [];
      drawLossChart(chart, losses, { totalSteps: total });
      setProgress(bar, j.progress);
      jobState.textContent = `job ${j.id} · ${j.status}`;
      live.dataset.status = j.status;
      const last = losses[losses.length - 1];
      const first = losses[0];
      if (last) {
        const drop = first && losses.length > 1 ? ` (from ${fmtNumber(first[1])})` : "";
        stat.textContent = j.status === "done"
          ? `Final loss ${fmtNumber(last[1])} after ${last[0]} steps${drop}.`
          : `Step ${last[0]}${total ? ` / ${total}` : ""} · loss ${fmtNumber(last[1])}${drop}`;
      } else {
        stat.textContent = j.status === "queued" ? "Queued: waiting for a worker…" : "Reading frames and detections…";
      }
      if (["done", "failed", "cancelled"].includes(j.status)) {
        submit.disabled = false;
        cancel.disabled = true;
        watching = null;
        finished.add(j.id);
        if (j.status === "failed") showError(liveError, j.error || "Training failed.");
        if (j.status === "cancelled") showError(liveError, "Training was cancelled; no model was kept.");
        onFinished();
      }
    };
    stop = watchJob(job.id, update, (err) => showError(liveError, err), 800);
  }

  // After a reload: show a training that is still running (started here or elsewhere).
  function resume(models) {
    if (watching) return;
    const running = models.find((m) => m.status === "training" && m.job && !finished.has(m.job));
    if (running) follow({ id: running.job, params: running.params || {} }, running.params && running.params.steps);
  }

  const el = h("div", { class: "panel" }, h("h3", {}, "Train a ReID model"), form, live);
  return { el, resume };
}
