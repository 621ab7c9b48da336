// Project page: tabs (videos, labels, members, jobs, models) over the REST API. Each tab is a module
// with mount(ctx, panel) -> {show(), hide()}; it is mounted the first time it is shown.

import { boot } from "../api.js";
import { mountJobs } from "./jobs.js";
import { mountLabels } from "./labels.js";
import { mountMembers } from "./members.js";
import { mountModels } from "./models.js";
import { mountSettings } from "./settings.js";
import { atLeast, getAll } from "./ui.js";
import { mountVideos } from "./videos.js";

const data = boot();
const role = data.role;

// What every tab shares: who you are, what you may do, and the project's videos (loaded once, reloaded
// after uploads and deletes; "videos" events tell the other tabs).
class ProjectContext extends EventTarget {
  constructor() {
    super();
    this.project = data.project;
    this.projectId = data.project.id;
    this.me = data.user;
    this.role = role;
    this.canAnnotate = atLeast(role, "annotator");
    this.canManage = atLeast(role, "manager");
    this.isOwner = role === "owner";
    this._videos = null;
  }

  videos() {
    if (!this._videos) this._videos = getAll(`/api/projects/${this.projectId}/videos/`).catch((err) => {
      this._videos = null;
      throw err;
    });
    return this._videos;
  }

  async reloadVideos() {
    this._videos = null;
    const list = await this.videos();
    this.dispatchEvent(new CustomEvent("videos", { detail: { videos: list } }));
    return list;
  }

  // Open another tab (e.g. "jobs" after starting one).
  showTab(name) {
    selectTab(name);
  }
}

const ctx = new ProjectContext();
const mounts = { videos: mountVideos, labels: mountLabels, members: mountMembers, jobs: mountJobs, models: mountModels };
// Owners only (the template renders the tab and its panel for them).
if (document.getElementById("panel-settings")) mounts.settings = mountSettings;
const mounted = {};
let current = null;

function selectTab(name) {
  if (!mounts[name]) name = "videos";
  if (current === name) return;
  if (current && mounted[current]) mounted[current].hide();
  for (const button of document.querySelectorAll(".tabs [data-tab]")) {
    const active = button.dataset.tab === name;
    button.setAttribute("aria-selected", active ? "true" : "false");
    button.classList.toggle("active", active);
  }
  for (const panel of document.querySelectorAll(".tab-panel")) panel.hidden = panel.id !== `panel-${name}`;
  if (!mounted[name]) mounted[name] = mounts[name](ctx, document.getElementById(`panel-${name}`));
  mounted[name].show();
  current = name;
  if (window.location.hash !== `#${name}`) history.replaceState(null, "", `#${name}`);
}

for (const button of document.querySelectorAll(".tabs [data-tab]")) {
  button.addEventListener("click", () => selectTab(button.dataset.tab));
}
window.addEventListener("hashchange", () => selectTab(window.location.hash.slice(1)));
selectTab(window.location.hash.slice(1) || "videos");
