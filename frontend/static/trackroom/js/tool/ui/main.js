// The labeling tool's entry point: builds the Store, the canvas view and its interaction, the
// toolbar, player and keyboard shortcuts, the objects panel, and mounts the panels of ui-panels.

import { boot } from "../../api.js";
import { Store } from "../core/store.js";
import { FrameCache } from "../core/frames.js";
import { CanvasView } from "../canvas/view.js";
import { Interaction } from "../canvas/tools.js";
import { mountObjects } from "./objects.js";
import { SHORTCUTS, mountHelp } from "./help.js";
import { mountTimeline } from "./timeline.js";
import { mountTrackDialog } from "./track_dialog.js";
import { mountAutoTrack } from "./autotrack.js";
import { mountPresence } from "./presence.js";
import { mountTrackEditing } from "./track_edit.js";

const $ = (id) => document.getElementById(id);
const SHAPE_TOOL = { box: "Box", polygon: "Polygon", mask: "Mask", points: "Skeleton" };

async function start() {
  const root = $("tool");
  const store = new Store(boot());
  window.trackroom = { store }; // for debugging and the browser tests
  const canvas = $("canvas");
  const view = new CanvasView(canvas);
  window.trackroom.view = view;
  let frames = null;
  let playing = false;

  // --- what the canvas shows --------------------------------------------------------------------

  let activeKeypoint = null;
  function items() {
    const out = [];
    const sel = store.selectedTrackId;
    for (const f of store.figuresAt(store.frame)) {
      if (store.hidden.has(f.track)) continue;
      const track = store.tracks.get(f.track);
      if (!track) continue;
      const label = store.labels.get(track.label);
      if (!label) continue;
      out.push({
        trackId: track.id, shape: label.shape, data: f.data, color: label.color || "#ff6b00",
        text: `#${track.number} ${label.name}`, selected: track.id === sel, interpolated: !!f.interpolated,
        outside: f.outside, skeleton: label.skeleton, maskKey: f.id ? `${f.id}:${f.version}` : null,
        readonly: !store.canEdit || store.locked.has(track.id),
        activeKeypoint: activeKeypoint && activeKeypoint.trackId === track.id ? activeKeypoint.index : null,
      });
    }
    return out;
  }

  function refreshCanvas() {
    view.setItems(items());
    view.requestRender();
  }

  let imageFrame = -1;
  function showFrame(frame) {
    const hit = frames.peek(frame);
    const apply = (bmp) => {
      if (store.frame !== frame) return;
      view.setImage(bmp);
      imageFrame = frame;
      canvas.dataset.imageFrame = String(frame);
      $("loading").hidden = true;
      refreshCanvas();
    };
    if (hit) return apply(hit);
    $("loading").textContent = `Loading frame ${frame}…`;
    $("loading").hidden = false;
    frames.get(frame).then(apply, (e) => store.notify(e.message, "error"));
  }

  // --- interaction host -------------------------------------------------------------------------

  const interaction = new Interaction(view, {
    canEdit: () => store.canEdit,
    select: (id) => store.select(id),
    drawSpec: () => {
      const l = store.labels.get(store.currentLabelId);
      return l ? { shape: l.shape, skeleton: l.skeleton, color: l.color } : null;
    },
    maskBase: () => {
      const id = store.selectedTrackId;
      if (id == null) return null;
      const l = store.trackLabel(id);
      if (!l || l.shape !== "mask" || l.id !== store.currentLabelId) return null;
      const f = store.figure(id, store.frame);
      return { trackId: id, rle: f && f.data && f.data.rle };
    },
    commitCreate: (data) => store.createTrack({ label: store.currentLabelId, frame: store.frame, data }),
    commitEdit: (trackId, data) => store.updateFigure(trackId, store.frame, data),
    status: (text) => { $("hint").textContent = text; },
    changed: () => updateToolbar(),
  });
  window.trackroom.interaction = interaction;

  // --- toolbar ----------------------------------------------------------------------------------

  const labelSelect = $("label-select");
  function fillLabels() {
    labelSelect.replaceChildren();
    let i = 1;
    for (const l of store.labels.values()) {
      const o = document.createElement("option");
      o.value = l.id;
      o.textContent = `${i <= 9 ? i + " · " : ""}${l.name}`;
      o.title = `${l.name}: ${l.shape}`;
      o.selected = l.id === store.currentLabelId;
      labelSelect.append(o);
      i++;
    }
    if (!store.labels.size) {
      const o = document.createElement("option");
      o.textContent = "no classes: add one on the project page";
      labelSelect.append(o);
    }
  }
  labelSelect.addEventListener("change", () => {
    store.setCurrentLabel(Number(labelSelect.value));
    if (interaction.drawing) interaction.setMode("draw");
    labelSelect.blur();
  });

  function updateToolbar() {
    const spec = store.labels.get(store.currentLabelId);
    $("draw-text").textContent = spec ? SHAPE_TOOL[spec.shape] || "Draw" : "Draw";
    for (const b of document.querySelectorAll("[data-tool]")) {
      b.classList.toggle("active", (b.dataset.tool === "draw") === interaction.drawing);
      b.disabled = b.dataset.tool === "draw" && (!store.canEdit || !spec);
    }
    labelSelect.disabled = !store.labels.size || !store.canEdit;
    const maskMode = interaction.drawing && spec && spec.shape === "mask";
    $("mask-tools").hidden = !maskMode;
    for (const b of document.querySelectorAll("[data-mask]")) b.classList.toggle("active", b.dataset.mask === interaction.maskTool);
    $("brush-size").value = interaction.brushSize;
    root.dataset.mode = interaction.mode;
  }

  for (const b of document.querySelectorAll("[data-tool]")) {
    b.addEventListener("click", () => { interaction.setMode(b.dataset.tool); canvas.focus(); });
  }
  for (const b of document.querySelectorAll("[data-mask]")) {
    b.addEventListener("click", () => { interaction.setMaskTool(b.dataset.mask); canvas.focus(); });
  }
  $("brush-size").addEventListener("input", (e) => interaction.setBrushSize(Number(e.target.value)));
  $("mask-save").addEventListener("click", () => interaction.commitMask());

  function step(delta) { stop(); store.seek(store.frame + delta); }
  for (const b of document.querySelectorAll("[data-nav]")) {
    b.addEventListener("click", () => {
      const n = b.dataset.nav;
      if (n === "first") { stop(); store.seek(0); } else if (n === "last") { stop(); store.seek(store.frameCount - 1); } else step(Number(n));
    });
  }
  const frameInput = $("frame-input");
  frameInput.addEventListener("keydown", (e) => {
    if (e.key === "Enter") {
      stop();
      store.seek(Number(frameInput.value));
      frameInput.value = store.frame;
      canvas.focus();
    } else if (e.key === "Escape") {
      frameInput.value = store.frame;
      canvas.focus();
    }
    e.stopPropagation();
  });
  frameInput.addEventListener("change", () => { stop(); store.seek(Number(frameInput.value)); });
  $("fit").addEventListener("click", () => view.fit());
  $("undo").addEventListener("click", () => store.undo());
  $("redo").addEventListener("click", () => store.redo());
  $("play").addEventListener("click", () => toggle());
  view.addEventListener("viewchange", (e) => { $("zoom").textContent = `${Math.round(e.detail.scale * 100)}%`; });

  // --- player -----------------------------------------------------------------------------------

  let lastAdvance = 0;
  function play() {
    if (playing) return;
    if (store.frame >= store.frameCount - 1) store.seek(0);
    playing = true;
    lastAdvance = performance.now();
    $("play").textContent = "⏸";
    root.dataset.playing = "1";
    requestAnimationFrame(tick);
  }
  function stop() {
    if (!playing) return;
    playing = false;
    $("play").textContent = "▶";
    root.dataset.playing = "0";
  }
  function toggle() { if (playing) stop(); else play(); }
  function tick(now) {
    if (!playing) return;
    const interval = 1000 / store.fps;
    frames.prefetch(store.frame + 1, { ahead: 48, decode: 12 });
    if (now - lastAdvance >= interval) {
      const next = store.frame + 1;
      if (next >= store.frameCount) { stop(); return; }
      if (frames.ready(next)) {
        // Keep the cadence, but do not rush to catch up after a stall.
        lastAdvance = now - lastAdvance > 2 * interval ? now : lastAdvance + interval;
        store.seek(next);
      }
    }
    requestAnimationFrame(tick);
  }
  window.trackroom.player = { play, stop, get playing() { return playing; } };

  // --- keyboard ---------------------------------------------------------------------------------

  const help = mountHelp($("help"), SHORTCUTS);

  function selectedFigure() {
    const id = store.selectedTrackId;
    return id == null ? null : store.figure(id, store.frame);
  }

  function cycleSelection(dir) {
    const list = store.figuresAt(store.frame).filter((f) => !f.outside && !store.hidden.has(f.track))
      .map((f) => store.tracks.get(f.track)).filter(Boolean).sort((a, b) => a.number - b.number);
    if (!list.length) return;
    const i = list.findIndex((t) => t.id === store.selectedTrackId);
    const next = list[(i + dir + list.length) % list.length];
    store.select(next.id);
  }

  function editable(trackId) {
    if (!store.canEdit) { store.notify("View only: your role cannot change anything here.", "info"); return false; }
    if (trackId != null && store.locked.has(trackId)) { store.notify("This object is locked (L unlocks it).", "info"); return false; }
    return true;
  }

  document.addEventListener("keydown", (e) => {
    const t = e.target;
    if (t && (t.tagName === "INPUT" || t.tagName === "TEXTAREA" || t.tagName === "SELECT" || t.isContentEditable)) return;
    if (document.querySelector("dialog[open]")) return; // panels' dialogs own the keyboard
    // Space on a button that kept the focus after a click would press it again: the tool's
    // shortcuts win.
    if (t && t.tagName === "BUTTON" && e.key === " " && root.contains(t)) t.blur();
    if (!help.hidden && e.key !== "?") { if (e.key === "Escape") help.hide(); return; }
    if (interaction.key(e)) { e.preventDefault(); return; }
    const ctrl = e.ctrlKey || e.metaKey;
    const key = e.key;
    const sel = store.selectedTrackId;
    if (ctrl && (key === "z" || key === "Z")) { e.preventDefault(); if (e.shiftKey) store.redo(); else store.undo(); return; }
    if (ctrl && (key === "y" || key === "Y")) { e.preventDefault(); store.redo(); return; }
    if (ctrl || e.altKey) return;
    if (/^Digit[1-9]$/.test(e.code)) {
      const label = [...store.labels.values()][Number(e.code.slice(5)) - 1];
      if (!label) return;
      e.preventDefault();
      if (e.shiftKey) {
        if (sel != null && editable(sel)) store.setTrackLabel(sel, label.id).catch(() => {});
      } else {
        store.setCurrentLabel(label.id);
        if (interaction.drawing) interaction.setMode("draw");
      }
      return;
    }
    switch (key) {
      case "ArrowRight": e.preventDefault(); step(e.shiftKey ? 10 : 1); break;
      case "ArrowLeft": e.preventDefault(); step(e.shiftKey ? -10 : -1); break;
      case "Home": e.preventDefault(); stop(); store.seek(0); break;
      case "End": e.preventDefault(); stop(); store.seek(store.frameCount - 1); break;
      case " ": e.preventDefault(); toggle(); break;
      case "f": case "F": view.fit(); break;
      case "+": case "=": view.zoomAt(view.cssWidth / 2, view.cssHeight / 2, 1.25); break;
      case "-": view.zoomAt(view.cssWidth / 2, view.cssHeight / 2, 0.8); break;
      case "n": case "N": {
        if (!editable(null)) break;
        // With a mask object selected, N paints into its mask.
        const l = sel != null ? store.trackLabel(sel) : null;
        if (l && l.shape === "mask" && !store.locked.has(sel)) store.setCurrentLabel(l.id);
        interaction.setMode("draw");
        break;
      }
      case "Escape":
        if (interaction.busy) interaction.cancel(); else store.select(null);
        activeKeypoint = null;
        refreshCanvas();
        break;
      case "Delete": case "Backspace":
        if (sel == null || !editable(sel)) break;
        e.preventDefault();
        if (e.shiftKey) store.deleteTrack(sel).catch(() => {});
        else if (store.storedFigure(sel, store.frame)) store.deleteFigure(sel, store.frame).catch(() => {});
        else store.notify("No stored shape on this frame to delete (Shift+Del deletes the whole track).", "info");
        break;
      case "k": case "K": if (sel != null && editable(sel)) store.toggleKeyframe(sel).catch(() => {}); break;
      case "o": case "O": if (sel != null && editable(sel)) store.toggleOutside(sel).catch(() => {}); break;
      case "h": case "H": if (sel != null) store.toggleHidden(sel); break;
      case "l": case "L": if (sel != null) store.toggleLocked(sel); break;
      case "v": case "V": {
        const kp = interaction.activeKeypoint;
        if (!kp || !editable(kp.trackId)) break;
        const f = store.figure(kp.trackId, store.frame);
        if (!f) break;
        const points = f.data.points.map((p) => [...p]);
        const p = points[kp.index];
        p[2] = p[2] === 2 ? 1 : p[2] === 1 ? 0 : 2;
        if (p[2] === 0) interaction.activeKeypoint = null;
        store.updateFigure(kp.trackId, store.frame, { ...f.data, points }).catch(() => {});
        break;
      }
      case "Tab": e.preventDefault(); cycleSelection(e.shiftKey ? -1 : 1); break;
      case "?": help.toggle(); break;
      default: return;
    }
  });

  // --- store events -----------------------------------------------------------------------------

  store.addEventListener("frame", (e) => {
    const f = e.detail.frame;
    $("frame-counter").textContent = String(f);
    root.dataset.frame = String(f);
    if (document.activeElement !== frameInput) frameInput.value = f;
    if (interaction.busy) interaction.cancel();
    activeKeypoint = null;
    if (frames) {
      showFrame(f);
      if (!playing) frames.prefetch(f, { ahead: 16, decode: 3 });
    }
  });
  // Interpolated figures depend on their neighbours: any change in the window may move this frame's.
  store.addEventListener("figures", () => refreshCanvas());
  for (const ev of ["tracks", "view", "selection"]) store.addEventListener(ev, () => { refreshCanvas(); updateToolbar(); });
  store.addEventListener("view", () => {
    for (const o of labelSelect.options) o.selected = Number(o.value) === store.currentLabelId;
  });
  store.addEventListener("undo", (e) => {
    $("undo").disabled = !e.detail.canUndo;
    $("redo").disabled = !e.detail.canRedo;
    $("undo").title = e.detail.undoLabel ? `Undo ${e.detail.undoLabel} (Ctrl+Z)` : "Undo (Ctrl+Z)";
    $("redo").title = e.detail.redoLabel ? `Redo ${e.detail.redoLabel} (Ctrl+Shift+Z)` : "Redo (Ctrl+Shift+Z)";
  });
  let noticeTimer = null;
  store.addEventListener("notice", (e) => {
    const n = $("notice");
    n.textContent = e.detail.message;
    n.dataset.level = e.detail.level;
    clearTimeout(noticeTimer);
    noticeTimer = setTimeout(() => { n.textContent = ""; }, e.detail.level === "info" ? 5000 : 15000);
  });
  store.addEventListener("connection", (e) => {
    const c = $("connection");
    c.textContent = e.detail.connected ? "live" : e.detail.final ? "offline" : "reconnecting…";
    c.title = e.detail.connected ? "Live updates on" : "Not receiving live updates";
    c.classList.toggle("up", !!e.detail.connected);
  });

  canvas.addEventListener("pointermove", (e) => {
    const [sx, sy] = view.eventPoint(e);
    const [x, y] = view.toImage(sx, sy);
    $("cursor-pos").textContent = `${Math.round(x)}, ${Math.round(y)}`;
  });
  canvas.addEventListener("pointerdown", () => {
    // The interaction sets activeKeypoint on a keypoint hit; show it.
    setTimeout(() => { activeKeypoint = interaction.activeKeypoint; refreshCanvas(); }, 0);
  });
  setInterval(() => { $("draw-ms").textContent = `${view.lastDrawMs.toFixed(1)} ms`; }, 1000);

  new ResizeObserver(() => view.resize()).observe($("stage"));

  // --- go ---------------------------------------------------------------------------------------

  if (!store.canEdit) {
    $("view-only").hidden = false;
    root.classList.add("readonly");
  }
  try {
    await store.init();
  } catch (e) {
    $("loading").textContent = `The video could not be opened: ${e.message}`;
    return;
  }
  frames = new FrameCache(store.video.id, store.frameCount);
  window.trackroom.frames = frames;
  view.setImageSize(store.video.width, store.video.height);
  $("frame-last").textContent = String(store.frameCount - 1);
  frameInput.max = store.frameCount - 1;
  fillLabels();
  updateToolbar();
  showFrame(store.frame);
  frames.prefetch(0, { ahead: 16, decode: 3 });

  const mounts = [
    [mountTimeline, $("timeline")], [mountTrackDialog, $("toolbar-extra")], [mountAutoTrack, $("toolbar-extra")],
    [mountPresence, $("toolbar-extra")], [mountTrackEditing, $("side-panels")],
  ];
  for (const [mount, el] of mounts) {
    try { await mount(store, el); } catch (e) { console.error(e); store.notify(`A panel failed to load: ${e.message}`, "error"); }
  }
  mountObjects(store, $("objects"), { isPlaying: () => playing });
  store.addEventListener("tracks", fillLabelsIfChanged);
  function fillLabelsIfChanged() { if (labelSelect.options.length !== store.labels.size && store.labels.size) fillLabels(); }
  root.dataset.ready = "1";
  canvas.focus();
}

start();
