// Small helpers shared by the project pages: building DOM, calling the API tolerantly, showing
// the server's sentence, dialogs, roles and number formatting. No framework on purpose.

import { ApiError, request } from "../api.js";

// h("div", {class: "x", dataset: {testid: "y"}, onclick}, child, "text", [more children])
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") el.className = value;
    else if (key === "dataset") Object.assign(el.dataset, value);
    else if (key === "testid") el.dataset.testid = value;
    else if (key === "style" && typeof value === "object") Object.assign(el.style, value);
    else if (key.startsWith("on") && typeof value === "function") el.addEventListener(key.slice(2), value);
    else if (key in el && typeof value !== "string") el[key] = value;
    else el.setAttribute(key, value === true ? "" : value);
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(el, child);
    else el.append(child instanceof Node ? child : String(child));
  }
}

export function clear(el) {
  while (el.firstChild) el.firstChild.remove();
  return el;
}

// --- the API, tolerant of endpoints that are not there yet ------------------------------------
// api.js parses every error body as JSON; an HTML 404 from a route that does not exist yet would throw
// a SyntaxError. This goes through its raw mode, so such an answer is an ApiError with a null body.

export async function call(method, path, { json, form } = {}) {
  const response = await request(method, path, { json, form, raw: true });
  if (response.status === 204) return null;
  const type = response.headers.get("Content-Type") || "";
  if (type.includes("json")) return response.json();
  return response;
}

export const get = (path) => call("GET", path);

// Every page of a paginated list (or a plain list).
export async function getAll(path) {
  const out = [];
  let url = path;
  while (url) {
    const page = await get(url);
    if (Array.isArray(page)) return page;
    out.push(...page.results);
    url = page.next;
  }
  return out;
}

export function isMissingEndpoint(err) {
  return err instanceof ApiError && (err.status === 404 || err.status === 405) && !(err.body && err.body.detail);
}

// The sentence to show for a failed call: the server's own words whenever it sent some.
export function explain(err, what = "This") {
  if (err instanceof ApiError) {
    if (isMissingEndpoint(err)) return `${what} is not available on this server yet (HTTP ${err.status}).`;
    if (err.body && typeof err.body.detail === "string") return err.body.detail;
    if (err.body && typeof err.body === "object") {
      // DRF field errors: {"name": ["This field is required."]}
      const parts = Object.entries(err.body).map(([field, msgs]) =>
        `${field}: ${Array.isArray(msgs) ? msgs.join(" ") : typeof msgs === "string" ? msgs : JSON.stringify(msgs)}`);
      if (parts.length) return parts.join(" ");
    }
    if (err.status === 0) return err.message;
    if (err.status === 413) return "The file is too large for this server.";
    return `The server answered HTTP ${err.status}.`;
  }
  return err && err.message ? err.message : String(err);
}

// Show an error (or clear it with null) in an element that is hidden when empty.
export function showError(el, err, what) {
  if (!el) return;
  if (err === null || err === undefined) {
    el.hidden = true;
    clear(el);
    return;
  }
  el.hidden = false;
  clear(el);
  el.append(typeof err === "string" ? err : explain(err, what));
}

// --- roles ------------------------------------------------------------------------------------

const RANK = { viewer: 1, annotator: 2, manager: 3, owner: 4 };
export const ROLES = ["viewer", "annotator", "manager", "owner"];
export const atLeast = (role, needed) => (RANK[role] || 0) >= RANK[needed];

// --- formatting -------------------------------------------------------------------------------

export function fmtBytes(n) {
  if (n === null || n === undefined) return "";
  const units = ["B", "KB", "MB", "GB", "TB"];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < units.length - 1) { v /= 1024; i += 1; }
  return `${v < 10 && i ? v.toFixed(1) : Math.round(v)} ${units[i]}`;
}

export function fmtDuration(seconds) {
  if (!Number.isFinite(seconds)) return "";
  const s = Math.round(seconds);
  const m = Math.floor(s / 60);
  return m ? `${m}:${String(s % 60).padStart(2, "0")}` : `${s} s`;
}

export function fmtDate(iso) {
  if (!iso) return "";
  const d = new Date(iso);
  return d.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
}

export function fmtNumber(v, digits = 3) {
  if (typeof v !== "number") return String(v);
  return Number.isInteger(v) ? String(v) : v.toFixed(digits);
}

export function badge(text, kind = text) {
  return h("span", { class: `badge badge-${kind}`, testid: "badge" }, text);
}

export function progressBar(fraction, testid) {
  const pct = Math.max(0, Math.min(1, fraction || 0)) * 100;
  return h("div", { class: "progress", testid, role: "progressbar", "aria-valuenow": String(Math.round(pct)),
    "aria-valuemin": "0", "aria-valuemax": "100" }, h("div", { class: "progress-fill", style: { width: `${pct}%` } }));
}

export function setProgress(bar, fraction) {
  const pct = Math.max(0, Math.min(1, fraction || 0)) * 100;
  bar.setAttribute("aria-valuenow", String(Math.round(pct)));
  bar.firstChild.style.width = `${pct}%`;
}

// --- dialogs ----------------------------------------------------------------------------------

// A modal <dialog>; returns {dialog, body, close}. onClose runs once when it closes (Esc too).
export function openDialog(title, { testid, wide = false, onClose } = {}) {
  const body = h("div", { class: "dialog-body" });
  const closeButton = h("button", { class: "btn btn-icon", type: "button", "aria-label": "Close",
    testid: "dialog-close" }, "×");
  const dialog = h("dialog", { class: `dialog${wide ? " dialog-wide" : ""}`, testid },
    h("div", { class: "dialog-head" }, h("h2", {}, title), closeButton), body);
  document.body.append(dialog);
  const close = () => dialog.open && dialog.close();
  closeButton.addEventListener("click", close);
  dialog.addEventListener("close", () => {
    dialog.remove();
    if (onClose) onClose();
  });
  dialog.showModal();
  return { dialog, body, close };
}

// A confirmation dialog (window.confirm is blocked in some browsers and by test drivers).
export function confirmDialog(message, { confirmText = "Delete", danger = true } = {}) {
  return new Promise((resolve) => {
    let answer = false;
    const { body, close } = openDialog("Please confirm", { testid: "confirm-dialog", onClose: () => resolve(answer) });
    body.append(
      h("p", {}, message),
      h("div", { class: "dialog-actions" },
        h("button", { class: "btn", type: "button", testid: "confirm-no", onclick: close }, "Cancel"),
        h("button", { class: `btn ${danger ? "btn-danger" : "btn-primary"}`, type: "button", testid: "confirm-yes",
          onclick: () => { answer = true; close(); } }, confirmText)),
    );
  });
}

// A short-lived message at the bottom of the screen.
export function toast(message, level = "info") {
  let box = document.querySelector(".toasts");
  if (!box) {
    box = h("div", { class: "toasts", "aria-live": "polite" });
    document.body.append(box);
  }
  const item = h("div", { class: `toast toast-${level}`, testid: "toast" }, message);
  box.append(item);
  setTimeout(() => item.remove(), level === "error" ? 8000 : 4000);
}

// A <video> for a job's WebM (served with byte ranges) plus its download link.
export function videoPlayer(url, downloadName) {
  const video = h("video", { controls: true, src: url, preload: "auto", testid: "render-video", playsinline: true });
  video.muted = true;
  const sep = url.includes("?") ? "&" : "?";
  return h("div", { class: "render-player", testid: "render-player" }, video,
    h("p", {}, h("a", { class: "btn", href: `${url}${sep}download=1`, download: downloadName, testid: "render-download" },
      "Download WebM")));
}

// Start a download of a Response (fetched so that errors can be shown as sentences, not saved as files).
export async function saveResponse(response, fallbackName) {
  const disposition = response.headers.get("Content-Disposition") || "";
  const match = disposition.match(/filename\*?=(?:UTF-8'')?"?([^";]+)"?/i);
  const name = match ? decodeURIComponent(match[1]) : fallbackName;
  const blob = await response.blob();
  const url = URL.createObjectURL(blob);
  const a = h("a", { href: url, download: name, hidden: true });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60000);
  return { name, size: blob.size };
}
