// Objects panel: the tracks on this frame (or all tracks) with colour, number, class (changeable),
// the figure's source, keyframe/outside flags, hide and lock, and jumps to the first/last frame.

const SOURCE_TEXT = { manual: "manual", detector: "detector", sot: "sot", interpolated: "interp.", imported: "imported" };

// Small inline icons (no icon font, nothing fetched).
const ICON_PATHS = {
  eye: "M1 8s2.5-5 7-5 7 5 7 5-2.5 5-7 5-7-5-7-5zm7 3a3 3 0 1 0 0-6 3 3 0 0 0 0 6z",
  eyeOff: "M2 2l12 12M6.6 3.2A7.6 7.6 0 0 1 8 3c4.5 0 7 5 7 5a13 13 0 0 1-2.2 2.8M4.2 4.7C2.2 6 1 8 1 8s2.5 5 7 5c1.1 0 2.1-.3 3-.7",
  lock: "M4 7V5a4 4 0 0 1 8 0v2M3 7h10v7H3z",
  unlock: "M4 7V5a4 4 0 0 1 7.5-2M3 7h10v7H3z",
  first: "M3 3v10M13 3L6 8l7 5z",
  last: "M13 3v10M3 3l7 5-7 5z",
};
function icon(name) {
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("viewBox", "0 0 16 16");
  svg.setAttribute("width", "13");
  svg.setAttribute("height", "13");
  const path = document.createElementNS(ns, "path");
  path.setAttribute("d", ICON_PATHS[name]);
  const filled = name === "eye" || name === "first" || name === "last";
  path.setAttribute("fill", filled ? "currentColor" : "none");
  path.setAttribute("stroke", "currentColor");
  path.setAttribute("stroke-width", filled ? "0.5" : "1.5");
  path.setAttribute("fill-rule", "evenodd");
  svg.append(path);
  return svg;
}

function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v == null || v === false) continue;
    if (k === "class") e.className = v;
    else if (k === "text") e.textContent = v;
    else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children) if (c != null) e.append(c);
  return e;
}

export function mountObjects(store, container, { isPlaying = () => false } = {}) {
  let showAll = false;
  let timer = null;
  let lastRender = 0;

  const count = el("span", { class: "count", "data-testid": "objects-count" });
  const allToggle = el("input", { type: "checkbox", "data-testid": "objects-all" });
  allToggle.addEventListener("change", () => { showAll = allToggle.checked; render(); });
  const head = el("div", { class: "panel-head" },
    el("span", { class: "panel-title", text: "Objects" }), count,
    el("span", { class: "spacer" }),
    el("label", { class: "check", title: "Show every track of the video, not only those on this frame" }, allToggle, " all tracks"));
  const list = el("div", { class: "objects-list", "data-testid": "objects-list" });
  container.append(head, list);

  const labelOptions = (select, track) => {
    const shape = store.labels.get(track.label)?.shape;
    for (const l of store.labels.values()) {
      // The server refuses a class of another shape when the track has figures.
      if (l.shape !== shape) continue;
      select.append(el("option", { value: l.id, text: l.name, selected: l.id === track.label }));
    }
  };

  async function jump(trackId, which) {
    try {
      const extent = await store.trackExtent(trackId);
      if (!extent) return store.notify("This track has no figures yet.", "info");
      store.seek(which === "first" ? extent[0] : extent[1]);
      store.select(trackId);
    } catch (e) {
      store.notify(e.message, "error");
    }
  }

  function row(track, fig) {
    const label = store.labels.get(track.label);
    const color = label?.color || "#888";
    const selected = store.selectedTrackId === track.id;
    const hidden = store.hidden.has(track.id);
    const locked = store.locked.has(track.id);
    const source = fig ? fig.source : track.source;
    const select = el("select", { class: "obj-class", "data-testid": "object-class", disabled: !store.canEdit || locked, title: "Class" });
    labelOptions(select, track);
    select.addEventListener("click", (e) => e.stopPropagation());
    select.addEventListener("change", () => {
      select.blur(); // keyboard shortcuts work again at once
      store.setTrackLabel(track.id, Number(select.value)).catch(() => { select.value = track.label; });
    });
    const flags = [];
    if (fig && fig.is_keyframe && !fig.interpolated) flags.push(el("span", { class: "flag key", title: "keyframe", text: "K" }));
    if (fig && fig.outside) flags.push(el("span", { class: "flag out", title: "outside", text: "O" }));
    if (fig && fig.confidence != null && !fig.interpolated) {
      flags.push(el("span", { class: "conf", title: "confidence", text: fig.confidence.toFixed(2) }));
    }
    const r = el("div", {
      class: `obj-row${selected ? " selected" : ""}${hidden ? " hidden" : ""}${fig ? "" : " absent"}`,
      "data-testid": "object-row", "data-track": track.id, "data-number": track.number, "data-source": source || "",
      // The store's selection now, not the one this row was drawn with: a row drawn a moment ago
      // (before an Escape or a click elsewhere was rendered) must not toggle the wrong way.
      onclick: () => store.select(store.selectedTrackId === track.id ? null : track.id),
    },
      el("span", { class: "swatch", style: `background:${color}` }),
      el("span", { class: "num", text: `#${track.number}` }),
      select,
      el("span", { class: `badge src-${source}`, "data-testid": "object-source", text: SOURCE_TEXT[source] || source || "" }),
      ...flags,
      el("span", { class: "spacer" }),
      el("button", { class: `icon${hidden ? " off" : ""}`, title: hidden ? "Show (H)" : "Hide (H)", "data-testid": "object-hide",
        onclick: (e) => { e.stopPropagation(); store.toggleHidden(track.id); } }, icon(hidden ? "eyeOff" : "eye")),
      el("button", { class: `icon${locked ? " on" : ""}`, title: locked ? "Unlock (L)" : "Lock (L)", "data-testid": "object-lock",
        onclick: (e) => { e.stopPropagation(); store.toggleLocked(track.id); } }, icon(locked ? "lock" : "unlock")),
      el("button", { class: "icon", title: "Jump to its first frame", "data-testid": "object-first",
        onclick: (e) => { e.stopPropagation(); jump(track.id, "first"); } }, icon("first")),
      el("button", { class: "icon", title: "Jump to its last frame", "data-testid": "object-last",
        onclick: (e) => { e.stopPropagation(); jump(track.id, "last"); } }, icon("last")),
    );
    return r;
  }

  function render() {
    timer = null;
    // Rebuilding the rows would close a class dropdown the user has open: wait until it is done.
    if (document.activeElement && document.activeElement.tagName === "SELECT" && list.contains(document.activeElement)) {
      timer = setTimeout(render, 300);
      return;
    }
    lastRender = performance.now();
    const frame = store.frame;
    const figs = new Map();
    for (const f of store.figuresAt(frame)) figs.set(f.track, f);
    let tracks = [...store.tracks.values()];
    if (!showAll) tracks = tracks.filter((t) => figs.has(t.id) && !figs.get(t.id).outside || t.id === store.selectedTrackId);
    tracks.sort((a, b) => a.number - b.number);
    count.textContent = `${tracks.length}`;
    const frag = document.createDocumentFragment();
    const limit = 500; // a DOM row per track; beyond that the list says how many more
    for (const t of tracks.slice(0, limit)) frag.append(row(t, figs.get(t.id)));
    if (tracks.length > limit) frag.append(el("div", { class: "more", text: `… and ${tracks.length - limit} more` }));
    if (!tracks.length) frag.append(el("div", { class: "empty", text: showAll ? "No tracks yet." : store.canEdit ? "Nothing on this frame. Press N to draw." : "Nothing on this frame." }));
    list.replaceChildren(frag);
    const sel = list.querySelector(".obj-row.selected");
    if (sel) sel.scrollIntoView({ block: "nearest" });
  }

  function schedule() {
    if (timer) return;
    const every = isPlaying() ? 400 : 60;
    const wait = Math.max(0, every - (performance.now() - lastRender));
    timer = setTimeout(render, wait);
  }

  for (const ev of ["frame", "figures", "tracks", "selection", "view"]) store.addEventListener(ev, schedule);
  render();
  return { render };
}
