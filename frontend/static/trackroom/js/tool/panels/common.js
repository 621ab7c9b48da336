// Small helpers shared by the tool's panels (timeline, Track dialog, Auto-Track, presence, track editing).
// No state of their own except `marksOf(store)`: marks that one panel finds (ID switches from a score, drift
// flags) and another draws (the timeline).

// h("button", {class: "x", dataset: {testid: "y"}, onclick: fn}, "text", child, ...) -> Element
export function h(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "dataset") Object.assign(node.dataset, value);
    else if (key === "style" && typeof value === "object") {
      for (const [name, v] of Object.entries(value)) node.style.setProperty(name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`), v);
    }
    else if (key.startsWith("on") && typeof value === "function") node.addEventListener(key.slice(2), value);
    else if (key in node && typeof value !== "string") node[key] = value;
    else node.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

export const SOURCE_COLORS = {
  manual: null, // the track's own colour
  detector: "#3d8bfd",
  sot: "#b36bff",
  interpolated: "#7d8899",
  imported: "#19b394",
};
export const SOURCE_NAMES = {
  manual: "manual", detector: "detector + tracker", sot: "single-object tracker",
  interpolated: "interpolated", imported: "imported",
};

export function trackName(store, track) {
  if (!track) return "";
  const label = store.labels?.get?.(track.label);
  return `#${track.number}${label ? " " + label.name : ""}`;
}

export function trackColor(store, track) {
  const label = track && store.labels?.get?.(track.label);
  return (label && label.color) || "#ff6b00";
}

export function sortedTracks(store) {
  return [...(store.tracks?.values?.() || [])].sort((a, b) => a.number - b.number);
}

export function videoId(store) {
  return store.video?.id ?? store.boot?.video?.id;
}

export function projectId(store) {
  return store.project?.id ?? store.video?.project ?? store.boot?.project?.id;
}

export function myId(store) {
  return store.me?.id ?? store.boot?.user?.id;
}

export function canEdit(store) {
  if (typeof store.canEdit === "boolean") return store.canEdit;
  return ["owner", "manager", "annotator"].includes(store.role ?? store.boot?.role);
}

// Events the server sends when figures or tracks changed in bulk (panels re-read their summaries).
export const CHANGE_EVENTS = new Set([
  "figures.batch", "figures.removed", "figure.created", "figure.updated", "figure.deleted",
  "track.created", "track.updated", "track.deleted", "edit.applied", "edit.undone",
]);

// --- marks found by one panel and drawn by another ---------------------------------------------

const MARKS = new WeakMap();

// marksOf(store) -> {switches: [{frame, track, gt_track}], drift: [{track, frame, reason, value}],
//                    set(kind, list), addEventListener("change", ...)}
export function marksOf(store) {
  let marks = MARKS.get(store);
  if (!marks) {
    marks = new EventTarget();
    marks.switches = [];
    marks.drift = [];
    marks.set = (kind, list) => {
      marks[kind] = list || [];
      marks.dispatchEvent(new CustomEvent("change", { detail: { kind } }));
    };
    MARKS.set(store, marks);
  }
  return marks;
}

// A modal dialog: returns {dialog, body, close}; it removes itself when closed (Esc, ×, or close()).
export function modal(title, { testid } = {}) {
  const body = h("div", { class: "pn-dialog-body" });
  const closeButton = h("button", { type: "button", class: "pn-icon-button", title: "Close (Esc)", "aria-label": "Close" }, "×");
  const dialog = h(
    "dialog",
    { class: "pn-dialog", dataset: testid ? { testid } : {} },
    h("div", { class: "pn-dialog-head" }, h("h2", {}, title), closeButton),
    body,
  );
  const close = () => { if (dialog.open) dialog.close(); };
  closeButton.addEventListener("click", close);
  dialog.addEventListener("close", () => dialog.remove());
  // Keys typed in the dialog are not the tool's shortcuts.
  dialog.addEventListener("keydown", (e) => e.stopPropagation());
  document.body.append(dialog);
  dialog.showModal();
  return { dialog, body, close };
}

// True when a key event is typing into a field (shortcuts must not fire then).
export function typing(event) {
  const t = event.target;
  return t && (t.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(t.tagName));
}

export function errorText(error) {
  return (error && (error.message || String(error))) || "Something went wrong.";
}
