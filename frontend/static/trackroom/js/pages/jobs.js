// Jobs tab: the project's jobs, polled every 2 s while the tab is open (kind, status, progress,
// frames, error sentence, cancel). Also watchJob(), which other tabs use to follow one job.

import {
  badge, call, clear, explain, fmtDate, get, h, openDialog, progressBar, showError, toast, videoPlayer,
} from "./ui.js";

const FINISHED = new Set(["done", "failed", "cancelled"]);
const KIND_NAMES = { track: "Track", autotrack: "Auto-Track", auto_track: "Auto-Track", track_frame: "Track all on a frame",
  render: "Render", reid_train: "Train ReID" };

export const kindName = (kind) => KIND_NAMES[kind] || kind;
export const isFinished = (job) => FINISHED.has(job.status);

// Poll one job until it finishes; onUpdate(job) after every read. Returns a stop function.
export function watchJob(jobId, onUpdate, onError, intervalMs = 700) {
  let stopped = false;
  let timer = null;
  async function tick() {
    if (stopped) return;
    try {
      const job = await get(`/api/jobs/${jobId}/`);
      if (stopped) return;
      onUpdate(job);
      if (isFinished(job)) return;
    } catch (err) {
      if (onError) onError(err);
    }
    if (!stopped) timer = setTimeout(tick, intervalMs);
  }
  tick();
  return () => { stopped = true; clearTimeout(timer); };
}

export async function cancelJob(jobId) {
  return call("POST", `/api/jobs/${jobId}/cancel/`);
}

export function mountJobs(ctx, panel) {
  const table = h("table", { class: "table", testid: "jobs-table" });
  const error = h("p", { class: "alert alert-error", role: "alert", hidden: true, testid: "jobs-error" });
  const updated = h("span", { class: "muted small", testid: "jobs-updated" });
  panel.append(
    h("div", { class: "section-head" }, h("h2", {}, "Jobs"), updated),
    h("p", { class: "muted small" }, "Machine work of this project, newest first. The list refreshes every 2 seconds."),
    error, table);

  let timer = null;
  let visible = false;
  let videoNames = new Map();

  async function refresh() {
    try {
      const [page, videos] = await Promise.all([
        get(`/api/jobs/?project=${ctx.projectId}&limit=50`),
        ctx.videos().catch(() => []),
      ]);
      videoNames = new Map(videos.map((v) => [v.id, v.name]));
      render(Array.isArray(page) ? page : page.results);
      showError(error, null);
      updated.textContent = `updated ${new Date().toLocaleTimeString()}`;
    } catch (err) {
      showError(error, err, "The job list");
    }
    if (visible) timer = setTimeout(refresh, 2000);
  }

  function render(jobs) {
    clear(table);
    table.append(h("thead", {}, h("tr", {},
      ["#", "Kind", "Video", "Status", "Progress", "Frames", "Started", ""].map((t) => h("th", {}, t)))));
    const tbody = h("tbody");
    if (!jobs.length) {
      tbody.append(h("tr", {}, h("td", { colspan: "8", class: "muted empty-cell", testid: "jobs-empty" },
        "No jobs yet. Start one from the labeling tool (Track, Auto-Track), a video's Render, or Models → Train ReID.")));
    }
    for (const job of jobs) tbody.append(jobRow(ctx, job, videoNames, refreshSoon));
    table.append(tbody);
  }

  function refreshSoon() {
    clearTimeout(timer);
    refresh();
  }

  return {
    show() { visible = true; clearTimeout(timer); refresh(); },
    hide() { visible = false; clearTimeout(timer); },
  };
}

// A few words on how the job was asked for: tracker and model, or training steps.
function jobDetail(job) {
  const p = job.params || {};
  if (job.kind === "track") return [p.tracker, p.model && p.model !== "default" ? p.model : null].filter(Boolean).join(" · ");
  if (job.kind === "auto_track" || job.kind === "track_frame") return [p.tracker, p.direction].filter(Boolean).join(" · ");
  if (job.kind === "reid_train") return p.steps ? `${p.steps} steps` : "";
  return "";
}

function jobRow(ctx, job, videoNames, refreshSoon) {
  const cancellable = ctx.canAnnotate && !isFinished(job) && !job.cancel_requested;
  const frames = job.frames_total ? `${job.frames_done} / ${job.frames_total}` : String(job.frames_done || "");
  return h("tr", { testid: "job-row", dataset: { jobId: String(job.id), status: job.status, kind: job.kind } },
    h("td", {}, String(job.id)),
    h("td", {}, kindName(job.kind), jobDetail(job) ? h("div", { class: "small muted" }, jobDetail(job)) : null),
    h("td", {}, job.video ? (videoNames.get(job.video) || `#${job.video}`) : "—"),
    h("td", {}, badge(job.cancel_requested && !isFinished(job) ? "cancelling" : job.status),
      job.error ? h("div", { class: "job-error", testid: "job-error" }, job.error) : null),
    h("td", { class: "cell-progress" }, progressBar(job.progress, "job-progress"),
      h("span", { class: "small muted" }, `${Math.round((job.progress || 0) * 100)} %`)),
    h("td", { testid: "job-frames" }, frames),
    h("td", { class: "small" }, fmtDate(job.started_at || job.created_at)),
    h("td", { class: "row-actions" }, job.kind === "render" && job.status === "done" && job.result && job.result.url
      ? h("button", { class: "btn btn-small", type: "button", testid: "job-play", onclick: () => {
        const name = videoNames.get(job.video) || `video ${job.video}`;
        const { body } = openDialog(`Render of ${name} (job ${job.id})`, { testid: "render-dialog", wide: true });
        body.append(videoPlayer(job.result.url, `${name}-tracks.webm`));
      } }, "Play") : null,
    cancellable ? h("button", { class: "btn btn-small", type: "button", testid: "job-cancel",
      onclick: async (e) => {
        e.target.disabled = true;
        try {
          await cancelJob(job.id);
          toast(`Cancelling job ${job.id}…`);
        } catch (err) {
          toast(explain(err), "error");
        }
        refreshSoon();
      } }, "Cancel") : null),
  );
}
