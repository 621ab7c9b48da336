// The timeline (#timeline): one row per track — where it exists, its manual keyframes (diamonds), its
// machine-made ranges coloured by source, low-confidence frames (red ticks), ID switches and drift flags
// found by the Quality tab — and the current-frame cursor. Click or drag to seek, Ctrl+wheel (or wheel
// on the ruler) to zoom the time axis, Shift+wheel or the slider to pan.
//
// Data: GET /api/videos/{id}/timeline/ (a run-length summary of every track over the whole video), read
// again — at most every 400 ms — when figures or tracks change (own edits, others' edits, job batches).
// Names are DOM rows (sticky on the left, so they scroll with the rows); the strips are one canvas that
// only draws the rows in view, so thousands of frames and hundreds of tracks stay cheap.

import { api } from "../../api.js";
import {
  CHANGE_EVENTS, SOURCE_COLORS, SOURCE_NAMES, h, marksOf, sortedTracks, trackColor, videoId,
} from "../panels/common.js";

const ROW_H = 20;
const MAX_PX_PER_FRAME = 48;
const REFRESH_MS = 400;
const COLORS = {
  bg: "#151a22", row: "#1a202a", rowAlt: "#171c25", selected: "#25324a", grid: "#232b37", text: "#9aa6b8",
  cursor: "#ff8a1f", low: "#ff4d5e", switch: "#ffd23f", drift: "#ff9f43", diamond: "#f4f6fa",
};

export function mountTimeline(store, container) {
  const marks = marksOf(store);
  const id = videoId(store);
  let summary = new Map(); // track id -> timeline summary row
  let rows = []; // track ids in display order
  let ppf = 1; // pixels per frame
  let viewStart = 0; // frame at the left edge (may be fractional)
  let fitted = true;
  let dragging = false;
  let loadedOnce = false;

  // --- DOM ---------------------------------------------------------------------------------------
  const frameLabel = h("span", { class: "pn-tl-frame", dataset: { testid: "timeline-frame" } });
  const status = h("span", { class: "pn-tl-status", dataset: { testid: "timeline-status" } });
  const zoomOut = h("button", { type: "button", class: "pn-icon-button", title: "Zoom out (Ctrl+wheel)", dataset: { testid: "timeline-zoom-out" } }, "−");
  const zoomIn = h("button", { type: "button", class: "pn-icon-button", title: "Zoom in (Ctrl+wheel)", dataset: { testid: "timeline-zoom-in" } }, "+");
  const zoomFit = h("button", { type: "button", class: "pn-button pn-button-small", title: "Whole video", dataset: { testid: "timeline-zoom-fit" } }, "Fit");
  const legend = h(
    "span", { class: "pn-tl-legend" },
    ...["manual", "detector", "sot", "interpolated", "imported"].map((src) =>
      h("span", { class: `pn-legend pn-legend-${src}`, title: SOURCE_NAMES[src] }, src)),
    h("span", { class: "pn-legend pn-legend-key", title: "manual keyframe" }, "keyframe"),
    h("span", { class: "pn-legend pn-legend-low", title: "confidence below 0.4" }, "low conf."),
    h("span", { class: "pn-legend pn-legend-switch", title: "ID switch (Quality tab)" }, "ID switch"),
    h("span", { class: "pn-legend pn-legend-drift", title: "drift flag (Quality tab)" }, "drift"),
  );
  const bar = h("div", { class: "pn-tl-bar" }, h("strong", {}, "Timeline"), frameLabel, zoomOut, zoomIn, zoomFit, legend, status);
  const ruler = h("canvas", { class: "pn-tl-ruler", dataset: { testid: "timeline-ruler" } });
  const head = h("div", { class: "pn-tl-head" }, h("div", { class: "pn-tl-corner" }, "Tracks"), ruler);
  const names = h("div", { class: "pn-tl-names" });
  const strip = h("canvas", { class: "pn-tl-strip", dataset: { testid: "timeline-canvas" } });
  const lane = h("div", { class: "pn-tl-lane" }, strip);
  const empty = h("div", { class: "pn-tl-empty" }, "No objects yet: draw one, or press Track.");
  const inner = h("div", { class: "pn-tl-inner" }, names, lane);
  const scroll = h("div", { class: "pn-tl-scroll" }, inner, empty);
  const pan = h("input", { type: "range", class: "pn-tl-pan", min: "0", max: "0", step: "any", value: "0", title: "Pan the time axis", dataset: { testid: "timeline-pan" } });
  const root = h("div", { class: "pn-timeline", dataset: { testid: "timeline" } }, bar, head, scroll, pan);
  container.append(root);

  // --- geometry ----------------------------------------------------------------------------------
  const frames = () => Math.max(1, store.frameCount ?? store.video?.frame_count ?? 1);
  const laneWidth = () => Math.max(1, lane.clientWidth);
  const fitPpf = () => laneWidth() / frames();
  const visibleFrames = () => laneWidth() / ppf;
  const xOf = (frame) => (frame - viewStart) * ppf;
  const frameAt = (x) => Math.max(0, Math.min(frames() - 1, Math.floor(viewStart + x / ppf)));

  function clampView() {
    ppf = Math.max(fitPpf(), Math.min(MAX_PX_PER_FRAME, ppf));
    viewStart = Math.max(0, Math.min(frames() - visibleFrames(), viewStart));
    if (!(viewStart >= 0)) viewStart = 0;
    pan.max = String(Math.max(0, frames() - visibleFrames()));
    pan.value = String(viewStart);
    pan.disabled = Number(pan.max) <= 0;
    root.dataset.zoom = (ppf / fitPpf()).toFixed(2);
  }

  function zoom(factor, anchorX = laneWidth() / 2) {
    const anchor = viewStart + anchorX / ppf;
    ppf *= factor;
    clampView();
    viewStart = anchor - anchorX / ppf;
    fitted = ppf <= fitPpf() * 1.0001;
    clampView();
    draw();
  }

  function fit() {
    fitted = true;
    ppf = fitPpf();
    viewStart = 0;
    clampView();
    draw();
  }

  // Keeps the cursor in view while the frame moves (playing, stepping), without fighting a drag.
  function follow() {
    if (dragging || fitted) return;
    const x = xOf(store.frame);
    const w = laneWidth();
    if (x < 0 || x > w - ppf) {
      viewStart = store.frame - visibleFrames() * 0.2;
      clampView();
    }
  }

  function sizeCanvas(canvas, width, height) {
    const dpr = window.devicePixelRatio || 1;
    const w = Math.max(1, Math.round(width)), hgt = Math.max(1, Math.round(height));
    if (canvas.width !== Math.round(w * dpr) || canvas.height !== Math.round(hgt * dpr)) {
      canvas.width = Math.round(w * dpr);
      canvas.height = Math.round(hgt * dpr);
      canvas.style.width = `${w}px`;
      canvas.style.height = `${hgt}px`;
    }
    const ctx = canvas.getContext("2d");
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    return ctx;
  }

  // --- drawing -----------------------------------------------------------------------------------
  let drawQueued = false;
  function draw() {
    if (drawQueued) return;
    drawQueued = true;
    requestAnimationFrame(() => {
      drawQueued = false;
      drawNow();
    });
  }

  function drawNow() {
    if (fitted) { ppf = fitPpf(); viewStart = 0; }
    clampView();
    const n = frames();
    frameLabel.textContent = `frame ${store.frame} / ${n - 1}`;
    drawRuler();
    drawStrip();
  }

  function tickStep() {
    for (const step of [1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 5000, 10000, 20000, 50000]) {
      if (step * ppf >= 56) return step;
    }
    return 100000;
  }

  function drawRuler() {
    const w = laneWidth(), hgt = ruler.parentElement.clientHeight || 22;
    const ctx = sizeCanvas(ruler, w, hgt);
    ctx.fillStyle = COLORS.bg;
    ctx.fillRect(0, 0, w, hgt);
    const step = tickStep();
    const minor = step >= 10 ? step / 5 : step;
    ctx.font = "10px system-ui, sans-serif";
    ctx.textBaseline = "top";
    const first = Math.max(0, Math.floor(viewStart / minor) * minor);
    for (let f = first; f < viewStart + w / ppf && f < frames(); f += minor) {
      const x = Math.round(xOf(f)) + 0.5;
      const major = f % step === 0;
      ctx.strokeStyle = major ? "#56627a" : "#343d4c";
      ctx.beginPath();
      ctx.moveTo(x, major ? hgt - 10 : hgt - 5);
      ctx.lineTo(x, hgt);
      ctx.stroke();
      if (major) {
        ctx.fillStyle = COLORS.text;
        ctx.fillText(String(f), x + 3, 3);
      }
    }
    // The cursor's handle.
    const cx = xOf(store.frame) + ppf / 2;
    ctx.fillStyle = COLORS.cursor;
    ctx.beginPath();
    ctx.moveTo(cx - 5, hgt - 8);
    ctx.lineTo(cx + 5, hgt - 8);
    ctx.lineTo(cx, hgt);
    ctx.closePath();
    ctx.fill();
  }

  function drawStrip() {
    const w = laneWidth();
    const viewH = scroll.clientHeight;
    const hgt = Math.max(ROW_H, Math.min(viewH, rows.length * ROW_H || viewH));
    const ctx = sizeCanvas(strip, w, hgt);
    ctx.fillStyle = COLORS.bg;
    ctx.fillRect(0, 0, w, hgt);
    const top = scroll.scrollTop;
    const firstRow = Math.max(0, Math.floor(top / ROW_H));
    const lastRow = Math.min(rows.length - 1, Math.ceil((top + hgt) / ROW_H));
    const switches = groupBy(marks.switches, "track");
    const drift = groupBy(marks.drift, "track");
    const lastFrame = frames();
    for (let i = firstRow; i <= lastRow; i++) {
      const trackId = rows[i];
      const y = i * ROW_H - top;
      ctx.fillStyle = trackId === store.selectedTrackId ? COLORS.selected : i % 2 ? COLORS.rowAlt : COLORS.row;
      ctx.fillRect(0, y, w, ROW_H);
      // Frames past the video's end (when zoomed out beyond it) stay dark.
      const end = xOf(lastFrame);
      if (end < w) { ctx.fillStyle = COLORS.bg; ctx.fillRect(end, y, w - end, ROW_H); }
      const s = summary.get(trackId);
      if (!s) continue;
      const colour = s.color || trackColor(store, store.tracks.get(trackId));
      for (const [a, b, source] of s.segments) {
        let x1 = xOf(a), x2 = xOf(b);
        if (x2 < 0 || x1 > w) continue;
        x1 = Math.max(-1, x1);
        x2 = Math.min(w + 1, Math.max(x2, x1 + 1));
        if (source === "interpolated") {
          ctx.globalAlpha = 0.4;
          ctx.fillStyle = colour;
          ctx.fillRect(x1, y + 7, x2 - x1, ROW_H - 14);
          ctx.globalAlpha = 1;
        } else {
          ctx.fillStyle = SOURCE_COLORS[source] || colour;
          ctx.fillRect(x1, y + 5, x2 - x1, ROW_H - 10);
        }
        // The track's own colour along the top says whose range it is.
        ctx.fillStyle = colour;
        ctx.fillRect(x1, y + 4, x2 - x1, 2);
      }
      // Low-confidence frames: red ticks along the bottom.
      ctx.fillStyle = COLORS.low;
      let lastX = -10;
      for (const f of s.low_confidence) {
        const x = xOf(f);
        if (x < -2 || x > w || x - lastX < 1) continue;
        lastX = x;
        ctx.fillRect(x, y + ROW_H - 6, Math.max(1, ppf - (ppf > 3 ? 1 : 0)), 4);
      }
      // Keyframes: diamonds (thinned out when zoomed far out).
      lastX = -10;
      const r = Math.min(5, Math.max(3, ppf / 2));
      for (const f of s.keyframes) {
        const x = xOf(f) + ppf / 2;
        if (x < -r || x > w + r || x - lastX < r * 1.5) continue;
        lastX = x;
        diamond(ctx, x, y + ROW_H / 2, r);
      }
      for (const m of drift.get(trackId) || []) {
        const x = xOf(m.frame) + ppf / 2;
        if (x < -5 || x > w + 5) continue;
        ctx.fillStyle = COLORS.drift;
        ctx.beginPath();
        ctx.moveTo(x - 4, y + 1);
        ctx.lineTo(x + 4, y + 1);
        ctx.lineTo(x, y + 8);
        ctx.closePath();
        ctx.fill();
      }
      for (const m of switches.get(trackId) || []) {
        const x = Math.round(xOf(m.frame)) + 0.5;
        if (x < -3 || x > w + 3) continue;
        ctx.strokeStyle = COLORS.switch;
        ctx.lineWidth = 2;
        ctx.beginPath();
        ctx.moveTo(x, y + 1);
        ctx.lineTo(x, y + ROW_H - 1);
        ctx.moveTo(x - 3, y + 2);
        ctx.lineTo(x + 3, y + 8);
        ctx.moveTo(x + 3, y + 2);
        ctx.lineTo(x - 3, y + 8);
        ctx.stroke();
        ctx.lineWidth = 1;
      }
    }
    // Row separators and the cursor.
    ctx.fillStyle = COLORS.grid;
    for (let i = firstRow; i <= lastRow + 1; i++) ctx.fillRect(0, i * ROW_H - top - 0.5, w, 1);
    const cx = xOf(store.frame);
    ctx.fillStyle = "rgba(255,138,31,0.16)";
    ctx.fillRect(cx, 0, Math.max(1, ppf), hgt);
    ctx.fillStyle = COLORS.cursor;
    ctx.fillRect(Math.round(cx + ppf / 2) - 1, 0, 2, hgt);
  }

  function diamond(ctx, x, y, r) {
    ctx.beginPath();
    ctx.moveTo(x, y - r);
    ctx.lineTo(x + r, y);
    ctx.lineTo(x, y + r);
    ctx.lineTo(x - r, y);
    ctx.closePath();
    ctx.fillStyle = COLORS.diamond;
    ctx.fill();
    ctx.strokeStyle = "#11151c";
    ctx.stroke();
  }

  function groupBy(list, key) {
    const out = new Map();
    for (const item of list || []) {
      const k = item[key];
      if (!out.has(k)) out.set(k, []);
      out.get(k).push(item);
    }
    return out;
  }

  // --- rows (names) ------------------------------------------------------------------------------
  function renderRows() {
    // The store's tracks are the live list (kept current from the socket); the summary may lag a moment.
    rows = sortedTracks(store).map((t) => t.id);
    const busy = marks.busy || new Set();
    names.replaceChildren(...rows.map((trackId) => {
      const s = summary.get(trackId);
      const t = store.tracks.get(trackId);
      const number = t?.number ?? s?.number;
      const label = (t && store.labels.get(t.label)?.name) ?? s?.label_name ?? "";
      const colour = t ? trackColor(store, t) : s?.color;
      const sources = s ? [...new Set(s.segments.map((seg) => seg[2]))] : [];
      return h(
        "div",
        {
          class: "pn-tl-name" + (trackId === store.selectedTrackId ? " is-selected" : "") + (busy.has(trackId) ? " is-busy" : ""),
          dataset: {
            testid: "timeline-row", track: trackId, number: number ?? "", sources: sources.join(","),
            first: s?.first ?? "", last: s?.last ?? "", keyframes: s ? s.keyframes.length : 0,
            segments: JSON.stringify(s?.segments || []),
          },
          title: s && s.first !== null ? `#${number} ${label}: frames ${s.first}–${s.last}` : `#${number} ${label}`,
          onclick: () => store.select(trackId),
          ondblclick: () => { if (s && s.first !== null) store.seek(s.first); },
        },
        h("span", { class: "pn-swatch", style: { background: colour } }),
        h("span", { class: "pn-tl-number" }, `#${number}`),
        h("span", { class: "pn-tl-label" }, label),
        h("span", { class: "pn-spinner", title: "Auto-tracking…" }),
      );
    }));
    lane.style.height = `${rows.length * ROW_H}px`;
    empty.hidden = rows.length > 0;
    status.textContent = loadedOnce ? `${rows.length} track${rows.length === 1 ? "" : "s"}` : "loading…";
    draw();
  }

  // --- data --------------------------------------------------------------------------------------
  let inFlight = false, again = false, timer = null, lastLoad = 0, cost = 0;
  async function load() {
    if (inFlight) { again = true; return; }
    inFlight = true;
    const started = performance.now();
    try {
      const body = await api.get(`/api/videos/${id}/timeline/`);
      cost = performance.now() - started;
      summary = new Map(body.tracks.map((t) => [t.track, t]));
      loadedOnce = true;
      root.dataset.loaded = String(Number(root.dataset.loaded || 0) + 1);
      renderRows();
    } catch (e) {
      status.textContent = `timeline not loaded: ${e.message}`;
    } finally {
      inFlight = false;
      lastLoad = performance.now();
      if (again) { again = false; refresh(); }
    }
  }
  // Re-read at most every 400 ms — or, on a video whose summary is slow to build, at most a quarter of the
  // time: a job streaming batches should not keep the server busy summarising.
  function refresh() {
    if (timer) return;
    const wait = Math.max(REFRESH_MS, 4 * cost) - (performance.now() - lastLoad);
    timer = setTimeout(() => { timer = null; load(); }, Math.max(0, wait));
  }

  // --- input -------------------------------------------------------------------------------------
  let seekQueued = null;
  function seekAt(clientX) {
    const rect = strip.getBoundingClientRect();
    seekQueued = frameAt(clientX - rect.left);
    requestAnimationFrame(() => {
      if (seekQueued !== null) store.seek(seekQueued);
      seekQueued = null;
    });
  }

  function startDrag(event, selectRow) {
    if (event.button !== 0) return;
    event.preventDefault();
    dragging = true;
    event.target.setPointerCapture(event.pointerId);
    if (selectRow) {
      // The strip is sticky at the top of the visible rows: its top is the scroll position.
      const rect = strip.getBoundingClientRect();
      const trackId = rows[Math.floor((event.clientY - rect.top + scroll.scrollTop) / ROW_H)];
      if (trackId !== undefined) store.select(trackId);
    }
    seekAt(event.clientX);
  }
  for (const [canvas, selectRow] of [[strip, true], [ruler, false]]) {
    canvas.addEventListener("pointerdown", (e) => startDrag(e, selectRow));
    canvas.addEventListener("pointermove", (e) => { if (dragging) seekAt(e.clientX); });
    const end = () => { dragging = false; };
    canvas.addEventListener("pointerup", end);
    canvas.addEventListener("pointercancel", end);
  }

  root.addEventListener("wheel", (e) => {
    const onAxis = e.target === ruler || e.target === strip;
    if (!onAxis) return;
    const rect = strip.getBoundingClientRect();
    if (e.ctrlKey || e.metaKey || e.target === ruler) {
      e.preventDefault();
      zoom(e.deltaY < 0 ? 1.25 : 0.8, e.clientX - rect.left);
    } else if (e.shiftKey || Math.abs(e.deltaX) > Math.abs(e.deltaY)) {
      e.preventDefault();
      fitted = false;
      viewStart += (e.shiftKey ? e.deltaY : e.deltaX) / ppf;
      clampView();
      draw();
    }
  }, { passive: false });
  zoomIn.addEventListener("click", () => zoom(2, xOf(store.frame)));
  zoomOut.addEventListener("click", () => zoom(0.5, xOf(store.frame)));
  zoomFit.addEventListener("click", fit);
  pan.addEventListener("input", () => {
    fitted = false;
    viewStart = Number(pan.value);
    clampView();
    draw();
  });
  scroll.addEventListener("scroll", draw, { passive: true });
  new ResizeObserver(draw).observe(scroll);

  // --- store events ------------------------------------------------------------------------------
  store.addEventListener("frame", () => { follow(); draw(); });
  store.addEventListener("selection", (e) => {
    for (const node of names.children) node.classList.toggle("is-selected", Number(node.dataset.track) === e.detail?.trackId);
    const index = rows.indexOf(e.detail?.trackId);
    if (index >= 0) {
      const y = index * ROW_H;
      if (y < scroll.scrollTop || y + ROW_H > scroll.scrollTop + scroll.clientHeight) scroll.scrollTop = y - ROW_H;
    }
    draw();
  });
  store.addEventListener("tracks", () => { renderRows(); refresh(); });
  store.addEventListener("figures", refresh);
  store.addEventListener("view", renderRows);
  store.addEventListener("socket", (e) => { if (CHANGE_EVENTS.has(e.detail?.event?.type)) refresh(); });
  marks.addEventListener("change", (e) => {
    // Counts on the root say what is drawn (the canvas itself cannot be inspected).
    root.dataset.switches = String(marks.switches.length);
    root.dataset.drift = String(marks.drift.length);
    if (e.detail?.kind === "busy") renderRows(); else draw();
  });

  clampView();
  load();
  return { refresh: load, zoom, fit };
}
