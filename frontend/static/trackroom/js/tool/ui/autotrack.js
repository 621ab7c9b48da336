// Auto-Track (#toolbar-extra): a toggle kept in your membership settings ({"auto_track": true}); with it on
// the server follows an object forward with the single-object tracker every time you draw or edit it,
// stopping before its next manual keyframe (README: "Auto-track on edit"). "Track all on this frame" starts
// one job that auto-tracks every object with a figure on the current frame. Running auto-tracks show a
// spinner on their object (timeline row and objects-panel row).

import { api } from "../../api.js";
import { canEdit, errorText, h, marksOf, myId, projectId, trackName, videoId } from "../panels/common.js";

const ACTIVE = new Set(["queued", "running"]);

export function mountAutoTrack(store, container) {
  const allowed = canEdit(store);
  const marks = marksOf(store);
  const toggle = h("input", { type: "checkbox", dataset: { testid: "autotrack-toggle" }, disabled: true });
  const toggleLabel = h(
    "label",
    {
      class: "pn-switch",
      title: allowed
        ? "Auto-Track: drawing or editing a shape tracks that object forward at once, up to its next keyframe"
        : "View only: your role cannot start tracking",
    },
    toggle, h("span", { class: "pn-switch-track" }), h("span", {}, "Auto-Track"),
  );
  const frameButton = h(
    "button",
    {
      type: "button", class: "pn-button", dataset: { testid: "track-frame-button" }, disabled: !allowed,
      title: "Auto-track every object that has a shape on this frame, forward",
    },
    "Track all on frame",
  );
  const running = h("span", { class: "pn-autotrack-running", dataset: { testid: "autotrack-running" }, hidden: true });
  container.append(h("div", { class: "pn-autotrack", dataset: { testid: "autotrack" } }, toggleLabel, frameButton, running));

  // --- the toggle: my membership's settings ------------------------------------------------------
  let membership = null;
  async function loadSetting() {
    const project = projectId(store);
    try {
      const members = await api.all(`/api/projects/${project}/members/?limit=1000`);
      membership = members.find((m) => m.user === myId(store)) || null;
      const mine = membership?.settings || {};
      const projectWide = store.project?.settings || {};
      toggle.checked = "auto_track" in mine ? !!mine.auto_track : !!projectWide.auto_track;
    } catch (e) {
      membership = null;
    }
    toggle.disabled = !allowed || !membership;
    toggleLabel.classList.toggle("is-on", toggle.checked);
    toggle.closest(".pn-autotrack").dataset.autotrack = String(toggle.checked);
  }

  toggle.addEventListener("change", async () => {
    if (!membership) return;
    const want = toggle.checked;
    toggle.disabled = true;
    try {
      // Settings are replaced as a whole: keep the other preferences.
      const settings = { ...(membership.settings || {}), auto_track: want };
      membership = await api.patch(`/api/projects/${membership.project}/members/${membership.id}/`, { settings });
      store.notify(want ? "Auto-Track is on: draw or edit a shape and it is tracked forward." : "Auto-Track is off.", "info");
    } catch (e) {
      toggle.checked = !want;
      store.notify(`Auto-Track could not be switched: ${errorText(e)}`, "error");
    } finally {
      toggle.disabled = !allowed;
      toggleLabel.classList.toggle("is-on", toggle.checked);
      toggle.closest(".pn-autotrack").dataset.autotrack = String(toggle.checked);
    }
  });

  frameButton.addEventListener("click", async () => {
    frameButton.disabled = true;
    try {
      await store.startJob(`/api/videos/${videoId(store)}/jobs/track-frame/`, { frame: store.frame, direction: "forward" });
    } catch {
      // the store already showed the server's sentence
    } finally {
      frameButton.disabled = !allowed;
    }
  });

  // --- running auto-tracks: which tracks ---------------------------------------------------------
  const trackOfJob = new Map(); // job id -> [track ids]
  const asked = new Set();

  async function tracksOf(job) {
    if (trackOfJob.has(job.id)) return trackOfJob.get(job.id);
    const fromParams = (p) => (p?.track ? [p.track] : Array.isArray(p?.tracks) ? p.tracks : null);
    let ids = fromParams(job.params);
    if (!ids && !asked.has(job.id)) {
      // Job events carry no params (auto-track on edit is started by the server): ask once.
      asked.add(job.id);
      try { ids = fromParams((await api.get(`/api/jobs/${job.id}/`)).params); } catch { ids = null; }
    }
    if (ids) trackOfJob.set(job.id, ids);
    return ids || [];
  }

  async function update() {
    const busy = new Set();
    const jobs = [...(store.jobs?.values?.() || [])].filter(
      (j) => (j.kind === "auto_track" || j.kind === "track_frame") && ACTIVE.has(j.status) && (j.video == null || j.video === videoId(store)),
    );
    for (const job of jobs) for (const id of await tracksOf(job)) busy.add(id);
    const before = marks.busy || new Set();
    if (busy.size !== before.size || [...busy].some((id) => !before.has(id))) marks.set("busy", busy);
    markObjectRows();
    running.hidden = busy.size === 0;
    const names = [...busy].map((id) => trackName(store, store.tracks.get(id)) || `track ${id}`);
    running.textContent = busy.size ? names.slice(0, 2).map((n) => n.split(" ")[0]).join(" ") + (busy.size > 2 ? ` +${busy.size - 2}` : "") : "";
    running.title = busy.size ? `Auto-tracking ${names.join(", ")}` : "";
    running.dataset.tracks = [...busy].join(",");
  }

  // Objects-panel rows (ui-editor's, [data-testid=object-row][data-track]) get the same spinner class;
  // that panel rebuilds its rows, so the class is applied again whenever its list changes.
  function markObjectRows() {
    const busy = marks.busy || new Set();
    for (const node of document.querySelectorAll("[data-testid=object-row][data-track]")) {
      const want = busy.has(Number(node.dataset.track));
      if (node.classList.contains("pn-autotracking") !== want) node.classList.toggle("pn-autotracking", want);
    }
  }
  const objects = document.getElementById("objects");
  if (objects) new MutationObserver(markObjectRows).observe(objects, { childList: true, subtree: true });

  store.addEventListener("job", () => update());
  store.addEventListener("tracks", () => update());
  loadSetting().then(update);
  return { reload: loadSetting };
}
