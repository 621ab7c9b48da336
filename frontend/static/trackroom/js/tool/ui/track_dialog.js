// The Track button (#toolbar-extra) and its dialog: model, its classes, tracker (and a ReID model when the
// project has trained ones), frame range — then POST /api/videos/{id}/jobs/track/ through the store. While
// the job runs a progress bar shows frames done / total with Cancel; the results themselves stream in over
// the socket (the store applies figures.batch, the canvas, objects panel and timeline redraw).

import { api } from "../../api.js";
import { canEdit, errorText, h, modal, projectId, videoId } from "../panels/common.js";

export const TRACKERS = [
  ["trackroom", "Trackroom (recommended: BoostTrack tuned per fps + colour cue)"],
  ["bytetrack", "ByteTrack"],
  ["botsort", "BoT-SORT"],
  ["ocsort", "OC-SORT"],
  ["deepocsort", "Deep OC-SORT"],
  ["boosttrack", "BoostTrack"],
  ["occluboost", "OccluBoost"],
  ["hybridsort", "Hybrid-SORT"],
  ["strongsort", "StrongSORT"],
  ["sfsort", "SFSORT"],
];
const JOB_KINDS = { track: "Track", track_frame: "Track all on frame", render: "Render" };
const ACTIVE = new Set(["queued", "running"]);
const KEEP_FINISHED_MS = 6000;

// The ReID models a Track job may use: [] when the endpoint is missing (404) or has none ready.
async function reidModels(project) {
  try {
    const list = await api.all(`/api/projects/${project}/reid-models/`);
    return list.filter((m) => !m.status || m.status === "ready");
  } catch {
    return [];
  }
}

export function mountTrackDialog(store, container) {
  const allowed = canEdit(store);
  const button = h(
    "button",
    {
      type: "button", class: "pn-button pn-button-primary", dataset: { testid: "track-button" },
      disabled: !allowed,
      title: allowed ? "Track objects with a detector and a multi-object tracker" : "View only: your role cannot start jobs",
    },
    "Track…",
  );
  const jobsArea = h("div", { class: "pn-jobs", dataset: { testid: "jobs" } });
  container.append(button, jobsArea);
  button.addEventListener("click", () => openDialog());

  // --- the dialog --------------------------------------------------------------------------------
  async function openDialog() {
    if (!allowed) return;
    const project = projectId(store);
    const n = store.frameCount ?? store.video?.frame_count ?? 0;
    const { body, close } = modal("Track objects", { testid: "track-dialog" });
    body.append(h("p", { class: "pn-muted" }, "Loading models…"));
    let models;
    try {
      models = await api.get(`/api/projects/${project}/models/`);
    } catch (e) {
      body.replaceChildren(h("p", { class: "pn-error" }, `The model list could not be loaded: ${errorText(e)}`));
      return;
    }
    const reid = await reidModels(project);
    const labelsByName = new Map([...store.labels.values()].map((l) => [l.name, l]));

    const modelSelect = h("select", { name: "model", dataset: { testid: "track-model" } },
      ...models.map((m) => h("option", { value: m.id, title: `${m.task}, ${m.class_names.length} classes` }, m.name)));
    const classBox = h("div", { class: "pn-checks", dataset: { testid: "track-classes" } });
    const classHint = h("p", { class: "pn-hint" });
    const labelSelect = h("select", { name: "label", dataset: { testid: "track-label" } });
    const trackerSelect = h("select", { name: "tracker", dataset: { testid: "track-tracker" } },
      ...TRACKERS.map(([value, text]) => h("option", { value }, text)),
      reid.length ? h("option", { value: "reid" }, "ReID (appearance model trained in this project)") : null);
    const reidSelect = h("select", { name: "reid_model", dataset: { testid: "track-reid-model" } },
      ...reid.map((m) => h("option", { value: m.id }, m.name)), h("option", { value: "imagenet" }, "ImageNet features (no training)"));
    const reidRow = h("label", { class: "pn-field", hidden: true }, "ReID model", reidSelect);
    const startInput = h("input", { type: "number", min: "0", max: String(n - 1), value: "0", name: "start", dataset: { testid: "track-start" } });
    const endInput = h("input", { type: "number", min: "0", max: String(n - 1), value: String(n - 1), name: "end", dataset: { testid: "track-end" } });
    const confInput = h("input", { type: "number", min: "0.01", max: "1", step: "0.05", placeholder: "model default", name: "conf" });
    const error = h("p", { class: "pn-error", dataset: { testid: "track-error" }, hidden: true });
    const submit = h("button", { type: "submit", class: "pn-button pn-button-primary", dataset: { testid: "track-start-button" } }, "Start tracking");

    function fillClasses() {
      const model = models.find((m) => String(m.id) === modelSelect.value) || models[0];
      const names = model?.class_names || [];
      classBox.replaceChildren(...names.map((name, i) => h("label", { class: "pn-check" },
        h("input", { type: "checkbox", value: name, checked: labelsByName.has(name), dataset: { testid: `track-class-${name}` } }),
        h("span", {}, name), labelsByName.has(name) ? h("span", { class: "pn-badge" }, "label") : null)));
      const matched = names.filter((name) => labelsByName.has(name));
      labelSelect.replaceChildren(
        h("option", { value: "" }, "the label named like each class"),
        ...[...store.labels.values()].filter((l) => l.shape === "box" || (model?.task === "pose" && l.shape === "points"))
          .map((l) => h("option", { value: l.id }, `${l.name} (${l.shape})`)),
      );
      classHint.textContent = matched.length
        ? `Checked: classes with a label of the same name in this project (${matched.join(", ")}).`
        : "No class of this model has a label of the same name here: pick the classes and the label to store them as.";
    }
    modelSelect.addEventListener("change", fillClasses);
    trackerSelect.addEventListener("change", () => { reidRow.hidden = trackerSelect.value !== "reid"; });
    fillClasses();

    const setRange = (a, b) => { startInput.value = String(a); endInput.value = String(b); };
    const form = h("form", { class: "pn-form", novalidate: true },
      h("label", { class: "pn-field" }, "Model", modelSelect),
      h("fieldset", { class: "pn-fieldset" }, h("legend", {}, "Classes"), classBox, classHint),
      h("label", { class: "pn-field" }, "Store objects as", labelSelect),
      h("label", { class: "pn-field" }, "Tracker", trackerSelect),
      reidRow,
      h("fieldset", { class: "pn-fieldset" }, h("legend", {}, "Frames (0-based, inclusive)"),
        h("div", { class: "pn-row" },
          h("label", { class: "pn-field pn-inline" }, "from", startInput),
          h("label", { class: "pn-field pn-inline" }, "to", endInput),
          h("button", { type: "button", class: "pn-button pn-button-small", dataset: { testid: "track-range-all" }, onclick: () => setRange(0, n - 1) }, "Whole video"),
          h("button", { type: "button", class: "pn-button pn-button-small", dataset: { testid: "track-range-here" }, onclick: () => setRange(store.frame, n - 1) }, "From here"))),
      h("details", { class: "pn-details" }, h("summary", {}, "Advanced"),
        h("label", { class: "pn-field" }, "Detection confidence", confInput)),
      h("p", { class: "pn-hint" }, "Re-running Track on a range replaces that range's earlier tracker output; manual figures and keyframes are never touched."),
      error,
      h("div", { class: "pn-actions" },
        h("button", { type: "button", class: "pn-button", onclick: close }, "Cancel"), submit),
    );
    body.replaceChildren(form);
    form.addEventListener("input", () => { error.hidden = true; });

    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      error.hidden = true;
      const classes = [...classBox.querySelectorAll("input:checked")].map((i) => i.value);
      const start = Number(startInput.value), end = Number(endInput.value);
      if (!classes.length) return showError("Pick at least one class to track.");
      if (!Number.isInteger(start) || !Number.isInteger(end) || start < 0 || end >= n || start > end) {
        return showError(`The frames must be whole numbers with 0 ≤ from ≤ to ≤ ${n - 1}.`);
      }
      const request = { model: modelSelect.value, classes, tracker: trackerSelect.value, start, stop: end + 1 };
      if (labelSelect.value) request.label = Number(labelSelect.value);
      if (confInput.value) request.conf = Number(confInput.value);
      if (request.tracker === "reid") request.reid_model = /^\d+$/.test(reidSelect.value) ? Number(reidSelect.value) : reidSelect.value;
      submit.disabled = true;
      submit.textContent = "Starting…";
      try {
        const job = await store.startJob(`/api/videos/${videoId(store)}/jobs/track/`, request);
        showJob(job);
        close();
      } catch (e) {
        showError(errorText(e));
      } finally {
        submit.disabled = false;
        submit.textContent = "Start tracking";
      }
    });

    function showError(text) {
      error.textContent = text;
      error.hidden = false;
    }
  }

  // --- job progress ------------------------------------------------------------------------------
  const shown = new Map(); // job id -> {node, bar, text, cancel, seen:Set}

  function showJob(job) {
    if (!job || job.video !== undefined && job.video !== null && job.video !== videoId(store)) return;
    if (!JOB_KINDS[job.kind]) return;
    let entry = shown.get(job.id);
    if (!entry) {
      if (!ACTIVE.has(job.status)) return; // only jobs we saw running get a row
      const bar = h("div", { class: "pn-progress-bar" });
      const text = h("span", { class: "pn-job-text" });
      const cancel = h("button", {
        type: "button", class: "pn-button pn-button-small", dataset: { testid: "job-cancel" }, disabled: !allowed,
        onclick: async () => {
          cancel.disabled = true;
          try { await store.cancelJob(job.id); } catch { cancel.disabled = false; }
        },
      }, "Cancel");
      const node = h("div", { class: "pn-job", dataset: { testid: "job-progress", job: job.id, kind: job.kind } },
        text, h("div", { class: "pn-progress" }, bar), cancel);
      entry = { node, bar, text, cancel, seen: new Set(), maxDone: 0 };
      shown.set(job.id, entry);
      jobsArea.append(node);
    }
    const done = job.frames_done ?? 0, total = job.frames_total ?? 0;
    entry.seen.add(job.status);
    if (job.status === "running") entry.maxDone = Math.max(entry.maxDone, done);
    const fraction = total ? done / total : job.progress || 0;
    entry.bar.style.width = `${Math.round(Math.min(1, fraction) * 100)}%`;
    const what = JOB_KINDS[job.kind];
    const words = {
      queued: `${what}: queued…`,
      running: `${what}: ${done} / ${total || "?"} frames`,
      done: `${what}: done, ${total || done} frames`,
      cancelled: `${what}: cancelled after ${done} frames`,
      failed: `${what} failed: ${job.error || "see the job list"}`,
    };
    entry.text.textContent = job.cancel_requested && ACTIVE.has(job.status) ? `${what}: cancelling…` : words[job.status] || job.status;
    Object.assign(entry.node.dataset, {
      status: job.status, framesDone: done, framesTotal: total, seen: [...entry.seen].join(","), maxRunningDone: entry.maxDone,
    });
    entry.node.className = `pn-job pn-job-${job.status}`;
    entry.cancel.hidden = !ACTIVE.has(job.status);
    if (!ACTIVE.has(job.status) && !entry.finishing) {
      entry.finishing = true;
      if (job.status === "failed") store.notify(`${what} failed: ${job.error || "no reason given"}`, "error");
      setTimeout(() => { entry.node.remove(); shown.delete(job.id); }, job.status === "failed" ? KEEP_FINISHED_MS * 2 : KEEP_FINISHED_MS);
    }
  }

  store.addEventListener("job", (e) => showJob(e.detail?.job));
  // Jobs already running when the page opened (e.g. started by a colleague).
  for (const job of store.jobs?.values?.() || []) if (ACTIVE.has(job.status)) showJob(job);
  return { open: openDialog };
}
