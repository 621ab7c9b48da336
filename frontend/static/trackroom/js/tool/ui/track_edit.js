// Track editing (#side-panels), against the track-edit API (POST /api/videos/{id}/edits/):
//   Edit    — merge two tracks, split at the current frame, change class, change number, delete the
//             figures over a frame range, mark outside from here. Each is one server-side transaction and
//             one step on the tool's undo stack (undo = POST /api/edits/{id}/undo/, redo = .../redo/).
//   Review  — merge suggestions (a track ends, another begins nearby soon after, looking alike): merge or
//             dismiss each.
//   Quality — score the tracks against a ground-truth set (HOTA / MOTA / IDF1, per-track table, ID switches
//             marked on the timeline) and drift flags with "next suspicious frame" (Shift+D).
// Other people's edits arrive as edit.applied / edit.undone on the socket: the tracks and figures are re-read.

import { api } from "../../api.js";
import {
  canEdit, errorText, h, marksOf, modal, myId, sortedTracks, trackColor, trackName, typing, videoId,
} from "../panels/common.js";

const MERGE_RULE =
  "The kept track keeps its number and class; every figure of the other track moves into it, and the other " +
  "track is deleted. Where both tracks have a figure on the same frame, the one a person made or confirmed " +
  "(manual, imported or a keyframe) wins over a machine-made one; when both or neither are, the kept track's " +
  "figure stays. Undo brings both tracks back exactly as they were.";
const DRIFT_REASONS = { low_confidence: "confidence drop", jump: "box jump" };

export function mountTrackEditing(store, container) {
  const vid = videoId(store);
  const marks = marksOf(store);
  const allowed = canEdit(store);
  let recent = []; // the last two distinct selected track ids, newest last

  // --- tabs --------------------------------------------------------------------------------------
  const panes = {
    edit: h("div", { class: "pn-pane", dataset: { testid: "pane-edit" } }),
    review: h("div", { class: "pn-pane", dataset: { testid: "pane-review" }, hidden: true }),
    quality: h("div", { class: "pn-pane", dataset: { testid: "pane-quality" }, hidden: true }),
  };
  const tabButtons = {};
  const tabs = h("div", { class: "pn-tabs", role: "tablist" },
    ...Object.entries({ edit: "Edit track", review: "Review", quality: "Quality" }).map(([key, text]) => {
      tabButtons[key] = h("button", { type: "button", role: "tab", class: "pn-tab", dataset: { testid: `tab-${key}` }, onclick: () => show(key) }, text);
      return tabButtons[key];
    }));
  const root = h("section", { class: "pn-edit panel", dataset: { testid: "track-edit" } }, tabs, ...Object.values(panes));
  container.append(root);

  function show(key) {
    for (const [k, pane] of Object.entries(panes)) {
      pane.hidden = k !== key;
      tabButtons[k].classList.toggle("is-active", k === key);
      tabButtons[k].setAttribute("aria-selected", String(k === key));
    }
    if (key === "review" && !reviewLoaded) loadSuggestions();
  }

  // --- running an edit ---------------------------------------------------------------------------
  async function applyResult(result) {
    for (const id of result?.deleted_tracks || []) if (store.selectedTrackId === id) store.select(null);
    await store.reloadTracks();
    const [first, last] = result?.frames || store.loadedRange();
    await store.reloadRange(first, last);
  }

  // POST an edit, refresh what it changed, and put it on the undo stack. Returns the response or null.
  async function runEdit(body, label) {
    if (!allowed) return null;
    let result;
    try {
      result = await api.post(`/api/videos/${vid}/edits/`, body);
    } catch (e) {
      store.notify(errorText(e), e.status === 409 ? "conflict" : "error");
      return null;
    }
    await applyResult(result);
    const editId = result.edit.id;
    store.pushUndo({
      label,
      undo: async () => applyResult(await api.post(`/api/edits/${editId}/undo/`, {})),
      redo: async () => applyResult(await api.post(`/api/edits/${editId}/redo/`, {})),
    });
    lastEdit.textContent = `${label} — done (Ctrl+Z undoes it).`;
    lastEdit.dataset.edit = editId;
    return result;
  }

  // --- Edit pane ---------------------------------------------------------------------------------
  const selectedInfo = h("div", { class: "pn-selected", dataset: { testid: "edit-selected" } });
  const lastEdit = h("p", { class: "pn-hint", dataset: { testid: "edit-last" } });
  const relabelSelect = h("select", { dataset: { testid: "edit-relabel-select" } });
  const numberInput = h("input", { type: "number", min: "1", step: "1", dataset: { testid: "edit-number-input" } });
  const rangeStart = h("input", { type: "number", min: "0", step: "1", dataset: { testid: "edit-range-start" } });
  const rangeEnd = h("input", { type: "number", min: "0", step: "1", dataset: { testid: "edit-range-end" } });
  const buttons = {
    merge: h("button", { type: "button", class: "pn-button", dataset: { testid: "edit-merge" } }, "Merge…"),
    split: h("button", { type: "button", class: "pn-button", dataset: { testid: "edit-split" } }, "Split here"),
    outside: h("button", { type: "button", class: "pn-button", dataset: { testid: "edit-outside" } }, "Outside from here"),
    relabel: h("button", { type: "button", class: "pn-button pn-button-small", dataset: { testid: "edit-relabel" } }, "Apply"),
    renumber: h("button", { type: "button", class: "pn-button pn-button-small", dataset: { testid: "edit-renumber" } }, "Apply"),
    deleteRange: h("button", { type: "button", class: "pn-button pn-button-small pn-button-danger", dataset: { testid: "edit-delete-range" } }, "Delete"),
  };
  panes.edit.append(
    selectedInfo,
    h("div", { class: "pn-row pn-wrap" }, buttons.merge, buttons.split, buttons.outside),
    h("div", { class: "pn-row" }, h("span", { class: "pn-row-label" }, "Class"), relabelSelect, buttons.relabel),
    h("div", { class: "pn-row" }, h("span", { class: "pn-row-label" }, "Number"), numberInput, buttons.renumber),
    h("div", { class: "pn-row" }, h("span", { class: "pn-row-label" }, "Frames"), rangeStart, h("span", {}, "–"), rangeEnd, buttons.deleteRange),
    lastEdit,
  );
  if (!allowed) panes.edit.append(h("p", { class: "pn-hint" }, "View only: your role cannot edit tracks."));

  function selectedTrack() {
    return store.tracks.get(store.selectedTrackId) || null;
  }

  function renderEdit() {
    const track = selectedTrack();
    const other = store.tracks.get(recent.find((id) => id !== track?.id && store.tracks.has(id)));
    selectedInfo.replaceChildren(track
      ? h("span", {}, h("span", { class: "pn-swatch", style: { background: trackColor(store, track) } }), ` ${trackName(store, track)}`,
        h("span", { class: "pn-muted" }, ` · ${track.source} · frame ${store.frame}`))
      : h("span", { class: "pn-muted" }, "Select an object (canvas, objects list or timeline) to edit its track."));
    selectedInfo.dataset.track = track ? track.id : "";
    const off = !allowed || !track;
    for (const b of Object.values(buttons)) b.disabled = off;
    const pair = track && other ? [track.number, other.number].sort((x, y) => x - y) : null;
    buttons.merge.textContent = pair ? `Merge #${pair[0]} + #${pair[1]}…` : "Merge…";
    buttons.split.textContent = `Split at frame ${store.frame}`;
    buttons.split.title = "Frames from here on become a new track";
    buttons.outside.title = `Mark the object outside (gone) from frame ${store.frame} on`;
    relabelSelect.replaceChildren(...[...store.labels.values()]
      .filter((l) => !track || l.shape === store.labels.get(track.label)?.shape)
      .map((l) => h("option", { value: l.id, selected: track && l.id === track.label }, l.name)));
    relabelSelect.disabled = off;
    numberInput.disabled = off;
    rangeStart.disabled = rangeEnd.disabled = off;
    if (track && document.activeElement !== numberInput) numberInput.value = String(track.number);
  }

  buttons.merge.addEventListener("click", () => openMerge());
  buttons.split.addEventListener("click", () => {
    const t = selectedTrack();
    if (t) runEdit({ op: "split", track: t.id, frame: store.frame }, `split #${t.number} at frame ${store.frame}`);
  });
  buttons.outside.addEventListener("click", () => {
    const t = selectedTrack();
    if (t) runEdit({ op: "outside", track: t.id, frame: store.frame }, `#${t.number} outside from frame ${store.frame}`);
  });
  buttons.relabel.addEventListener("click", () => {
    const t = selectedTrack();
    const label = store.labels.get(Number(relabelSelect.value));
    if (t && label) runEdit({ op: "relabel", track: t.id, label: label.id }, `#${t.number} is now ${label.name}`);
  });
  buttons.renumber.addEventListener("click", () => {
    const t = selectedTrack();
    const number = Number(numberInput.value);
    if (!t) return;
    if (!Number.isInteger(number) || number < 1) return store.notify("A track number is a whole number from 1.", "error");
    runEdit({ op: "renumber", track: t.id, number }, `#${t.number} renumbered #${number}`);
  });
  buttons.deleteRange.addEventListener("click", () => {
    const t = selectedTrack();
    const a = Number(rangeStart.value), b = Number(rangeEnd.value);
    if (!t) return;
    if (!Number.isInteger(a) || !Number.isInteger(b) || a < 0 || b < a) {
      return store.notify("Give the frames to delete as from ≤ to (0-based, inclusive).", "error");
    }
    runEdit({ op: "delete_range", track: t.id, start: a, stop: b }, `delete #${t.number} on frames ${a}–${b}`);
  });

  function openMerge(a, b) {
    const tracks = sortedTracks(store);
    if (tracks.length < 2) return store.notify("Merging needs two tracks.", "info");
    let current = a ?? store.selectedTrackId ?? tracks[0].id;
    let partner = b ?? recent.slice().reverse().find((id) => id !== current && store.tracks.has(id)) ?? tracks.find((t) => t.id !== current).id;
    // The lower number first: keeping it is the usual wish (the later piece joins the earlier one).
    if (a === undefined && (store.tracks.get(partner)?.number ?? 0) < (store.tracks.get(current)?.number ?? 0)) {
      [current, partner] = [partner, current];
    }
    const options = (chosen) => tracks.map((t) => h("option", { value: t.id, selected: t.id === chosen }, trackName(store, t)));
    const selectA = h("select", { dataset: { testid: "merge-a" } }, ...options(current));
    const selectB = h("select", { dataset: { testid: "merge-b" } }, ...options(partner));
    const keepA = h("input", { type: "radio", name: "keep", value: "a", checked: true, dataset: { testid: "merge-keep-a" } });
    const keepB = h("input", { type: "radio", name: "keep", value: "b", dataset: { testid: "merge-keep-b" } });
    const error = h("p", { class: "pn-error", hidden: true, dataset: { testid: "merge-error" } });
    const confirm = h("button", { type: "submit", class: "pn-button pn-button-primary", dataset: { testid: "merge-confirm" } }, "Merge");
    const { body, close } = modal("Merge two tracks", { testid: "merge-dialog" });
    const form = h("form", { class: "pn-form" },
      h("div", { class: "pn-row" }, h("label", { class: "pn-field" }, "Track", selectA), h("span", { class: "pn-plus" }, "+"), h("label", { class: "pn-field" }, "Track", selectB)),
      h("div", { class: "pn-row" }, h("span", { class: "pn-row-label" }, "Keep"),
        h("label", { class: "pn-check" }, keepA, " the first (its number and class)"), h("label", { class: "pn-check" }, keepB, " the second")),
      h("p", { class: "pn-hint", dataset: { testid: "merge-rule" } }, MERGE_RULE),
      error,
      h("div", { class: "pn-actions" }, h("button", { type: "button", class: "pn-button", onclick: close }, "Cancel"), confirm));
    body.append(form);
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const ta = Number(selectA.value), tb = Number(selectB.value);
      if (ta === tb) {
        error.textContent = "Pick two different tracks.";
        error.hidden = false;
        return;
      }
      const keep = keepA.checked ? ta : tb;
      const kept = store.tracks.get(keep), gone = store.tracks.get(keep === ta ? tb : ta);
      confirm.disabled = true;
      const result = await runEdit({ op: "merge", tracks: [ta, tb], keep }, `merge #${gone?.number} into #${kept?.number}`);
      confirm.disabled = false;
      if (result) {
        close();
        store.select(keep);
      }
    });
    return { close };
  }

  // --- Review pane: merge suggestions ------------------------------------------------------------
  let reviewLoaded = false;
  const dismissedKey = `trackroom:dismissed-merges:${vid}`;
  const dismissed = new Set(JSON.parse(localStorage.getItem(dismissedKey) || "[]"));
  const reviewList = h("div", { class: "pn-list", dataset: { testid: "suggestions" } });
  const reviewStatus = h("p", { class: "pn-hint" });
  panes.review.append(
    h("div", { class: "pn-row" }, h("button", { type: "button", class: "pn-button pn-button-small", dataset: { testid: "suggestions-refresh" }, onclick: () => loadSuggestions() }, "Find again"), reviewStatus),
    h("p", { class: "pn-hint" }, "Pairs where one track ends and another begins nearby soon after, looking alike — often one person whose ID broke."),
    reviewList,
  );

  async function loadSuggestions() {
    reviewLoaded = true;
    reviewStatus.textContent = "Looking…";
    let list;
    try {
      list = await api.get(`/api/videos/${vid}/merge-suggestions/`);
      list = Array.isArray(list) ? list : list.results || list.suggestions || [];
    } catch (e) {
      reviewStatus.textContent = e.status === 404 ? "Merge suggestions are not available on this server." : errorText(e);
      reviewList.replaceChildren();
      return;
    }
    const shown = list.filter((s) => !dismissed.has(`${s.a}-${s.b}`) && store.tracks.has(s.a) && store.tracks.has(s.b));
    reviewStatus.textContent = shown.length ? `${shown.length} suggestion${shown.length === 1 ? "" : "s"}` : "No suggestions.";
    reviewList.replaceChildren(...shown.map((s) => suggestionRow(s)));
  }

  function suggestionRow(s) {
    const a = store.tracks.get(s.a), b = store.tracks.get(s.b);
    const facts = [`gap ${s.gap} frame${s.gap === 1 ? "" : "s"}`, `${Math.round(s.distance)} px`];
    if (s.appearance !== null && s.appearance !== undefined) facts.push(`look-alike ${Number(s.appearance).toFixed(2)}`);
    const row = h("div", { class: "pn-suggestion", dataset: { testid: "suggestion", a: s.a, b: s.b } },
      h("button", {
        type: "button", class: "pn-link", title: "Show where the first one ends",
        onclick: async () => {
          const extent = await store.trackExtent(s.a).catch(() => null);
          if (extent) store.seek(extent[1]);
          store.select(s.a);
        },
      }, h("span", { class: "pn-swatch", style: { background: trackColor(store, a) } }), `#${a.number} → #${b.number}`),
      h("span", { class: "pn-muted" }, facts.join(" · ")),
      h("span", { class: "pn-spacer" }),
      h("button", {
        type: "button", class: "pn-button pn-button-small pn-button-primary", dataset: { testid: "suggestion-accept" }, disabled: !allowed,
        onclick: async () => {
          const result = await runEdit({ op: "merge", tracks: [s.a, s.b], keep: s.a }, `merge #${b.number} into #${a.number}`);
          if (result) { row.remove(); store.select(s.a); }
        },
      }, "Merge"),
      h("button", {
        type: "button", class: "pn-button pn-button-small", dataset: { testid: "suggestion-dismiss" },
        onclick: () => {
          dismissed.add(`${s.a}-${s.b}`);
          localStorage.setItem(dismissedKey, JSON.stringify([...dismissed]));
          row.remove();
        },
      }, "Dismiss"),
    );
    return row;
  }

  // --- Quality pane: score against ground truth, drift flags -------------------------------------
  const gtSelect = h("select", { dataset: { testid: "quality-gt" } });
  const gtFile = h("input", { type: "file", accept: ".txt,.csv", hidden: true, dataset: { testid: "quality-gt-file" } });
  const scoreButton = h("button", { type: "button", class: "pn-button pn-button-primary pn-button-small", dataset: { testid: "quality-score" } }, "Score");
  const scoreOut = h("div", { class: "pn-score", dataset: { testid: "quality-result" } });
  const driftButton = h("button", { type: "button", class: "pn-button pn-button-small", dataset: { testid: "drift-scan" } }, "Find drift");
  const nextButton = h("button", { type: "button", class: "pn-button pn-button-small", dataset: { testid: "drift-next" }, title: "Next suspicious frame after this one (Shift+D)" }, "Next suspicious ⇥");
  const driftOut = h("div", { class: "pn-list", dataset: { testid: "drift-list" } });
  panes.quality.append(
    h("h3", {}, "Score against ground truth"),
    h("div", { class: "pn-row" }, h("span", { class: "pn-row-label" }, "Ground truth"), gtSelect),
    h("div", { class: "pn-row" }, gtFile, scoreButton),
    h("p", { class: "pn-hint" }, "Every other track of this video is scored against the chosen set (HOTA, MOTA, IDF1 by TrackEval). ID switches are marked on the timeline."),
    scoreOut,
    h("h3", {}, "Drift"),
    h("div", { class: "pn-row" }, driftButton, nextButton),
    h("p", { class: "pn-hint" }, "Frames where a machine-made track's confidence drops or its box jumps."),
    driftOut,
  );

  function fillGtChoices() {
    const previous = gtSelect.value;
    const creators = new Map();
    for (const t of store.tracks.values()) {
      if (t.created_by != null && t.source === "manual") creators.set(t.created_by, store.usernames?.get?.(t.created_by) || `user ${t.created_by}`);
    }
    gtSelect.replaceChildren(
      h("option", { value: "imported" }, "Imported tracks"),
      ...[...creators].map(([id, name]) => h("option", { value: `user:${id}` }, `Manual tracks by ${name}`)),
      h("option", { value: "file" }, "A MOT gt.txt file…"),
    );
    if ([...gtSelect.options].some((o) => o.value === previous)) gtSelect.value = previous;
    gtFile.hidden = gtSelect.value !== "file";
  }
  gtSelect.addEventListener("change", () => { gtFile.hidden = gtSelect.value !== "file"; });

  scoreButton.addEventListener("click", async () => {
    const choice = gtSelect.value;
    scoreButton.disabled = true;
    scoreOut.replaceChildren(h("p", { class: "pn-muted" }, "Scoring…"));
    try {
      let result;
      if (choice === "file") {
        if (!gtFile.files.length) throw new Error("Choose a MOT gt.txt file first.");
        const form = new FormData();
        form.append("gt_file", gtFile.files[0]);
        result = await api.upload(`/api/videos/${vid}/score/`, form);
      } else {
        const gt = choice === "imported" ? { source: "imported" } : { created_by: Number(choice.slice(5)) };
        result = await api.post(`/api/videos/${vid}/score/`, { gt });
      }
      renderScore(result);
    } catch (e) {
      scoreOut.replaceChildren(h("p", { class: "pn-error", dataset: { testid: "quality-error" } }, errorText(e)));
    } finally {
      scoreButton.disabled = false;
    }
  });

  function renderScore(r) {
    const metric = (name, value, testid) => h("div", { class: "pn-metric", dataset: { testid } },
      h("span", { class: "pn-metric-value" }, typeof value === "number" ? (Number.isInteger(value) ? String(value) : value.toFixed(3)) : "–"),
      h("span", { class: "pn-metric-name" }, name));
    const table = h("table", { class: "pn-table", dataset: { testid: "quality-tracks" } },
      h("thead", {}, h("tr", {}, ...["track", "gt", "frames", "matched", "IDF1"].map((c) => h("th", {}, c)))),
      h("tbody", {}, ...(r.per_track || []).map((row) => {
        const t = store.tracks.get(row.track);
        const gt = store.tracks.get(row.gt_track);
        return h("tr", { onclick: () => store.select(row.track), class: "pn-clickable" },
          h("td", {}, t ? `#${t.number}` : String(row.track ?? "–")),
          h("td", {}, gt ? `#${gt.number}` : String(row.gt_track ?? "–")),
          h("td", {}, String(row.frames ?? "")), h("td", {}, String(row.matched ?? "")),
          h("td", {}, typeof row.idf1 === "number" ? row.idf1.toFixed(2) : "–"));
      })));
    scoreOut.replaceChildren(...[
      h("div", { class: "pn-metrics" }, metric("HOTA", r.hota, "metric-hota"), metric("MOTA", r.mota, "metric-mota"),
        metric("IDF1", r.idf1, "metric-idf1"), metric("ID switches", r.id_switches, "metric-switches")),
      (r.switches || []).length ? h("p", { class: "pn-hint" }, `ID switches at frames ${(r.switches || []).slice(0, 12).map((s) => s.frame).join(", ")}${r.switches.length > 12 ? "…" : ""} (yellow on the timeline).`) : null,
      table,
    ].filter(Boolean));
    marks.set("switches", r.switches || []);
  }

  async function scanDrift() {
    driftButton.disabled = true;
    try {
      const list = await api.get(`/api/videos/${vid}/drift/`);
      const flags = Array.isArray(list) ? list : list.results || [];
      marks.set("drift", flags);
      renderDrift(flags);
      return flags;
    } catch (e) {
      driftOut.replaceChildren(h("p", { class: "pn-error" }, errorText(e)));
      return null;
    } finally {
      driftButton.disabled = false;
    }
  }

  function renderDrift(flags) {
    if (!flags.length) {
      driftOut.replaceChildren(h("p", { class: "pn-muted" }, "No drift found."));
      return;
    }
    driftOut.replaceChildren(
      h("p", { class: "pn-hint" }, `${flags.length} suspicious frame${flags.length === 1 ? "" : "s"} (orange on the timeline)`),
      ...flags.slice(0, 200).map((f) => {
        const t = store.tracks.get(f.track);
        return h("button", {
          type: "button", class: "pn-drift", dataset: { testid: "drift-item", frame: f.frame, track: f.track },
          onclick: () => { store.seek(f.frame); store.select(f.track); },
        }, `#${t ? t.number : f.track} · frame ${f.frame} · ${DRIFT_REASONS[f.reason] || f.reason}` +
          (typeof f.value === "number" ? ` (${f.value.toFixed(2)})` : ""));
      }),
    );
  }

  async function nextSuspicious() {
    const after = store.frame;
    let next = null;
    try {
      const list = await api.get(`/api/videos/${vid}/drift/?after=${after}&limit=1`);
      next = (Array.isArray(list) ? list : list.results || [])[0] || null;
    } catch (e) {
      store.notify(`Drift flags could not be read: ${errorText(e)}`, "error");
      return;
    }
    if (!next) {
      store.notify(`No suspicious frame after frame ${after}.`, "info");
      return;
    }
    store.seek(next.frame);
    store.select(next.track);
    const t = store.tracks.get(next.track);
    store.notify(`#${t ? t.number : next.track} on frame ${next.frame}: ${DRIFT_REASONS[next.reason] || next.reason}.`, "info");
  }

  driftButton.addEventListener("click", scanDrift);
  nextButton.addEventListener("click", nextSuspicious);
  window.addEventListener("keydown", (e) => {
    if (typing(e) || e.ctrlKey || e.metaKey || e.altKey || !e.shiftKey || e.key.toLowerCase() !== "d") return;
    if (document.querySelector("dialog[open]")) return;
    e.preventDefault();
    nextSuspicious();
  });

  // --- store events ------------------------------------------------------------------------------
  store.addEventListener("selection", (e) => {
    const id = e.detail?.trackId;
    if (id != null && recent[recent.length - 1] !== id) recent = [...recent.filter((x) => x !== id), id].slice(-2);
    if (id != null) {
      rangeStart.value = String(store.frame);
      rangeEnd.value = String(store.frame);
    }
    renderEdit();
  });
  store.addEventListener("tracks", () => { renderEdit(); fillGtChoices(); });
  store.addEventListener("frame", () => {
    buttons.split.textContent = `Split at frame ${store.frame}`;
    const info = selectedInfo.querySelector(".pn-muted");
    const t = selectedTrack();
    if (t && info) info.textContent = ` · ${t.source} · frame ${store.frame}`;
  });
  store.addEventListener("socket", (e) => {
    const event = e.detail?.event;
    if (!event || (event.type !== "edit.applied" && event.type !== "edit.undone")) return;
    if (event.by === myId(store)) return; // ours: already applied
    applyResult(event).catch(() => {});
  });

  show("edit");
  renderEdit();
  fillGtChoices();
  return { show, openMerge, scanDrift, nextSuspicious };
}
