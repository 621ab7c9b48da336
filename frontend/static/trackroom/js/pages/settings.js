// Settings tab (owners): the project's name, description and defaults (Auto-Track after an edit), and
// deleting the project. The page shows it to owners only; the API checks again.

import { call, confirmDialog, get, h, showError, toast } from "./ui.js";

const AUTO_TRACKERS = [
  ["", "the default for the shape (MIL for boxes)"],
  ["csrt", "CSRT (most accurate, slower)"],
  ["mil", "MIL"],
  ["kcf", "KCF (fastest)"],
];

export function mountSettings(ctx, panel) {
  const name = h("input", { id: "settings-name", required: true, maxlength: "200", testid: "settings-name" });
  const description = h("textarea", { id: "settings-description", rows: "3", testid: "settings-description" });
  const autoTrack = h("input", { type: "checkbox", id: "settings-auto-track", testid: "settings-auto-track" });
  const tracker = h("select", { id: "settings-auto-tracker", testid: "settings-auto-tracker" },
    AUTO_TRACKERS.map(([value, text]) => h("option", { value }, text)));
  const error = h("p", { class: "alert alert-error", role: "alert", hidden: true, testid: "settings-error" });
  const submit = h("button", { class: "btn btn-primary", type: "submit", testid: "settings-save" }, "Save settings");
  const form = h("form", { class: "stack", testid: "settings-form" },
    h("label", { for: "settings-name" }, "Name"), name,
    h("label", { for: "settings-description" }, "Description"), description,
    h("label", { class: "check", for: "settings-auto-track" }, autoTrack,
      " Auto-Track after every edit: saving a shape tracks that object forward at once (each member can turn it off for themselves in the tool)"),
    h("label", { for: "settings-auto-tracker" }, "Auto-Track tracker"), tracker,
    error, submit);
  const deleteError = h("p", { class: "alert alert-error", role: "alert", hidden: true });
  const remove = h("button", { class: "btn btn-danger", type: "button", testid: "project-delete" }, "Delete this project");
  panel.append(
    h("div", { class: "section-head" }, h("h2", {}, "Project settings")),
    h("div", { class: "panel" }, form),
    h("div", { class: "panel danger-zone" }, h("h3", {}, "Delete the project"),
      h("p", { class: "muted small" }, "Deletes its videos, annotations, jobs and models for every member. This cannot be undone."),
      remove, deleteError));

  let project = null;

  async function load() {
    try {
      project = await get(`/api/projects/${ctx.projectId}/`);
      name.value = project.name;
      description.value = project.description || "";
      autoTrack.checked = Boolean((project.settings || {}).auto_track);
      tracker.value = (project.settings || {}).auto_track_tracker || "";
      showError(error, null);
    } catch (err) {
      showError(error, err);
    }
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    showError(error, null);
    const settings = { ...((project && project.settings) || {}), auto_track: autoTrack.checked };
    if (tracker.value) settings.auto_track_tracker = tracker.value;
    else delete settings.auto_track_tracker;
    submit.disabled = true;
    try {
      project = await call("PATCH", `/api/projects/${ctx.projectId}/`,
        { json: { name: name.value.trim(), description: description.value.trim(), settings } });
      document.querySelectorAll('[data-testid="project-title"] .title-text, [data-testid="crumb-project"]')
        .forEach((el) => { el.textContent = project.name; });
      toast("Settings saved.");
    } catch (err) {
      showError(error, err);
    } finally {
      submit.disabled = false;
    }
  });

  remove.addEventListener("click", async () => {
    const ok = await confirmDialog(`Delete the project "${ctx.project.name}" with all its videos and annotations?`,
      { confirmText: "Delete project" });
    if (!ok) return;
    try {
      await call("DELETE", `/api/projects/${ctx.projectId}/`);
      window.location.assign("/");
    } catch (err) {
      showError(deleteError, err);
    }
  });

  return { show: load, hide() {} };
}
