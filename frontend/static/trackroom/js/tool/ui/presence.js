// Who else is on this video and on which frame (click a person to go there), "X is editing" hints when
// other people's edits arrive, and the toasts that show the store's "notice" events (conflicts in their
// own colour, so an annotator sees at once that their change was not saved).

import { h, myId } from "../panels/common.js";

const TOAST_MS = { info: 4000, error: 9000, conflict: 9000 };
const EDIT_EVENTS = {
  "figure.created": "drew a shape", "figure.updated": "is editing", "figure.deleted": "deleted a shape",
  "track.created": "added an object", "track.updated": "changed an object", "track.deleted": "deleted an object",
  "edit.applied": "edited a track", "edit.undone": "undid a track edit",
};

// A colour per user name (stable across sessions and browsers).
export function userColor(name) {
  let hash = 0;
  for (const ch of name || "?") hash = (hash * 31 + ch.charCodeAt(0)) >>> 0;
  return `hsl(${hash % 360} 62% 48%)`;
}

function initials(name) {
  const parts = (name || "?").split(/[\s._-]+/).filter(Boolean);
  return ((parts[0]?.[0] || "?") + (parts[1]?.[0] || "")).toUpperCase();
}

export function toastArea() {
  let area = document.querySelector(".pn-toasts");
  if (!area) {
    area = h("div", { class: "pn-toasts", role: "status", "aria-live": "polite" });
    document.body.append(area);
  }
  return area;
}

export function showToast(message, level = "info") {
  const area = toastArea();
  const toast = h(
    "div",
    { class: `pn-toast pn-toast-${level}`, dataset: { testid: "toast", level }, title: "Click to dismiss" },
    h("span", { class: "pn-toast-icon" }, level === "conflict" ? "⚠" : level === "error" ? "✕" : "ℹ"),
    h("span", { class: "pn-toast-text" }, message),
  );
  const remove = () => toast.remove();
  toast.addEventListener("click", remove);
  area.append(toast);
  while (area.children.length > 5) area.firstElementChild.remove();
  setTimeout(remove, TOAST_MS[level] || TOAST_MS.info);
  return toast;
}

export function mountPresence(store, container) {
  const me = myId(store);
  const list = h("div", { class: "pn-presence-list" });
  const hint = h("div", { class: "pn-editing-hint", dataset: { testid: "editing-hint" }, hidden: true });
  const root = h("div", { class: "pn-presence", dataset: { testid: "presence" } }, list, hint);
  container.append(root);
  const names = new Map(); // user id -> username, from presence lists
  let hintTimer = null;

  function render(users) {
    // One entry per person (a person may have several tabs open: show the frame of the latest).
    const people = new Map();
    for (const u of users || []) {
      names.set(u.user, u.username);
      if (u.user === me) continue;
      const seen = people.get(u.user);
      if (!seen || (u.since || "") > (seen.since || "")) people.set(u.user, u);
    }
    list.replaceChildren(
      ...[...people.values()].map((u) => {
        const frame = Number.isInteger(u.frame) ? u.frame : null;
        return h(
          "button",
          {
            type: "button", class: "pn-avatar", dataset: { testid: "presence-user", username: u.username, frame: frame ?? "" },
            title: frame === null ? `${u.username} is here` : `${u.username} is on frame ${frame} — click to go there`,
            style: { "--who": userColor(u.username) },
            onclick: () => frame !== null && store.seek(frame),
          },
          h("span", { class: "pn-avatar-dot" }, initials(u.username)),
          h("span", { class: "pn-avatar-name" }, u.username),
          frame === null ? null : h("span", { class: "pn-avatar-frame" }, `@${frame}`),
        );
      }),
    );
    root.classList.toggle("pn-presence-alone", people.size === 0);
  }

  function showEditing(event) {
    const who = event.by;
    if (who === undefined || who === null || who === me) return;
    const name = names.get(who) || store.usernames?.get?.(who) || `user ${who}`;
    const frame = event.figure?.frame ?? (Array.isArray(event.frames) ? event.frames[0] : null);
    const number = event.track?.number;
    hint.textContent = `${name} ${EDIT_EVENTS[event.type]}${number ? ` #${number}` : ""}` +
      (Number.isInteger(frame) ? ` on frame ${frame}` : "");
    hint.style.setProperty("--who", userColor(name));
    hint.hidden = false;
    clearTimeout(hintTimer);
    hintTimer = setTimeout(() => { hint.hidden = true; }, 3500);
  }

  store.addEventListener("presence", (e) => render(e.detail?.users ?? store.presence));
  store.addEventListener("notice", (e) => showToast(e.detail?.message, e.detail?.level || "info"));
  store.addEventListener("socket", (e) => {
    const event = e.detail?.event;
    if (event && EDIT_EVENTS[event.type]) showEditing(event);
  });
  render(store.presence || []);
  return { render };
}
