// Mouse interaction on the canvas view: select, move, resize, drag vertices and keypoints, pan and
// zoom, and the drawing tools (box, polygon, points/skeleton, mask brush/eraser/polygon). It never
// calls the server: finished shapes go to the host's commitCreate / commitEdit.
//
// host: {canEdit(), select(trackId|null), drawSpec() -> {shape, skeleton, color} of the label new
//        shapes get, maskBase() -> {trackId, rle}|null (the selected mask to paint into),
//        commitCreate(data) -> Promise, commitEdit(trackId, data) -> Promise,
//        status(text), changed() (tool state changed: redraw toolbar)}

import { itemBBox } from "./view.js";
import { encodeRle, decodeRle } from "./rle.js";

const CURSORS = { nw: "nwse-resize", se: "nwse-resize", ne: "nesw-resize", sw: "nesw-resize", n: "ns-resize", s: "ns-resize", e: "ew-resize", w: "ew-resize" };
const round2 = (v) => Math.round(v * 100) / 100;

export class Interaction {
  constructor(view, host) {
    this.view = view;
    this.host = host;
    this.mode = "select"; // or "draw"
    this.maskTool = "brush"; // brush | eraser | polygon
    this.brushSize = 12; // image pixels
    this.drag = null;
    this.poly = null; // polygon points being drawn (polygon tool, mask polygon)
    this.keypoints = null; // points being placed (points tool)
    this.mask = null; // {canvas, ctx, trackId} while painting a mask
    this.cursor = null; // last pointer position, image coordinates
    this.activeKeypoint = null; // {trackId, index} picked for the visibility toggle
    const c = view.canvas;
    c.addEventListener("pointerdown", (e) => this._down(e));
    c.addEventListener("pointermove", (e) => this._move(e));
    c.addEventListener("pointerup", (e) => this._up(e));
    c.addEventListener("pointercancel", () => { this.drag = null; });
    c.addEventListener("dblclick", (e) => this._dblclick(e));
    c.addEventListener("wheel", (e) => this._wheel(e), { passive: false });
    c.addEventListener("contextmenu", (e) => e.preventDefault());
    c.addEventListener("pointerleave", () => { this.cursor = null; if (this.mode === "draw") view.requestRender(); });
    view.overlay = (ctx, v) => this._drawOverlay(ctx, v);
  }

  get drawing() { return this.mode === "draw"; }
  get busy() { return !!(this.drag || this.poly || this.keypoints || this.mask); }

  setMode(mode) {
    if (mode === "draw" && !this.host.canEdit()) return;
    this.cancel();
    this.mode = mode;
    const spec = this.host.drawSpec();
    if (mode === "draw" && spec && spec.shape === "mask") this._startMask();
    this._cursorStyle();
    this._statusForMode();
    this.host.changed();
    this.view.requestRender();
  }

  setMaskTool(tool) {
    this.maskTool = tool;
    this.poly = null;
    this._statusForMode();
    this.host.changed();
    this.view.requestRender();
  }

  setBrushSize(px) {
    this.brushSize = Math.max(1, Math.min(200, Math.round(px)));
    this.host.changed();
    this.view.requestRender();
  }

  // Abandons whatever is in progress (Esc).
  cancel() {
    this.drag = null;
    this.poly = null;
    this.keypoints = null;
    this.mask = null;
    this.view.override = null;
    this.view.requestRender();
  }

  _statusForMode() {
    const spec = this.host.drawSpec();
    if (this.mode !== "draw" || !spec) return this.host.status("");
    const texts = {
      box: "Drag to draw a box · Esc cancels",
      polygon: "Click to add points · Enter or double-click closes · Backspace removes the last · Esc cancels",
      points: this._nextKeypointText(),
      mask: this.maskTool === "polygon"
        ? "Click points, Enter fills the polygon into the mask · Enter again saves · Esc cancels"
        : `${this.maskTool === "brush" ? "Paint" : "Erase"} (size ${this.brushSize}, [ and ] change it) · Enter saves the mask · Esc cancels`,
    };
    this.host.status(texts[spec.shape] || "");
  }

  _nextKeypointText() {
    const spec = this.host.drawSpec();
    const names = spec?.skeleton?.keypoints || [];
    const n = this.keypoints ? this.keypoints.length : 0;
    if (!names.length) return "Click to place points · Enter finishes · Esc cancels";
    return `Place keypoint ${n + 1}/${names.length}: ${names[n] ?? ""} · Enter finishes (the rest absent) · Esc cancels`;
  }

  // --- geometry helpers -------------------------------------------------------------------------

  _clampPoint(x, y) {
    const { imageWidth: w, imageHeight: h } = this.view;
    return [Math.max(0, Math.min(w, x)), Math.max(0, Math.min(h, y))];
  }

  _imagePoint(e) {
    const [sx, sy] = this.view.eventPoint(e);
    return this.view.toImage(sx, sy);
  }

  _editable(item) { return item && !item.readonly && this.host.canEdit(); }

  // --- pointer ----------------------------------------------------------------------------------

  _down(e) {
    const view = this.view;
    const [sx, sy] = view.eventPoint(e);
    const [x, y] = view.toImage(sx, sy);
    if (e.button === 1 || e.button === 2 && this.mode === "select") {
      this.drag = { kind: "pan", sx, sy };
      view.canvas.setPointerCapture(e.pointerId);
      e.preventDefault();
      return;
    }
    if (e.button !== 0) return;
    view.canvas.setPointerCapture(e.pointerId);
    if (this.mode === "draw") return this._drawDown(e, x, y, sx, sy);

    const hit = view.hitTest(sx, sy);
    this.activeKeypoint = null;
    if (!hit) {
      this.host.select(null);
      this.drag = { kind: "pan", sx, sy };
      view.canvas.style.cursor = "grabbing";
      return;
    }
    const item = hit.item;
    this.host.select(item.trackId);
    if (hit.part === "keypoint") this.activeKeypoint = { trackId: item.trackId, index: hit.index };
    if (!this._editable(item)) return;
    const data0 = JSON.parse(JSON.stringify(item.data));
    if (hit.part === "handle") this.drag = { kind: "resize", item, handle: hit.handle, data0, moved: false };
    else if (hit.part === "vertex") this.drag = { kind: "vertex", item, index: hit.index, data0, moved: false };
    else if (hit.part === "keypoint") this.drag = { kind: "keypoint", item, index: hit.index, data0, moved: false };
    else if (item.shape === "box" || item.shape === "polygon" || item.shape === "points") {
      this.drag = { kind: "move", item, start: [x, y], data0, moved: false };
    }
  }

  _move(e) {
    const view = this.view;
    const [sx, sy] = view.eventPoint(e);
    const [x, y] = view.toImage(sx, sy);
    this.cursor = [x, y];
    const d = this.drag;
    if (!d) {
      if (this.mode === "draw") {
        if (this.poly || this.keypoints || this.mask) view.requestRender();
        return;
      }
      const hit = view.hitTest(sx, sy);
      let cursor = "default";
      if (hit) {
        if (hit.part === "handle") cursor = CURSORS[hit.handle];
        else if (hit.part === "vertex" || hit.part === "keypoint") cursor = "pointer";
        else cursor = this._editable(hit.item) ? "move" : "pointer";
      }
      view.canvas.style.cursor = cursor;
      return;
    }
    if (d.kind === "pan") {
      view.panBy(sx - d.sx, sy - d.sy);
      d.sx = sx;
      d.sy = sy;
      return;
    }
    if (d.kind === "drawbox") {
      d.cur = this._clampPoint(x, y);
      view.requestRender();
      return;
    }
    if (d.kind === "paint") {
      this._paintTo(x, y);
      return;
    }
    const data = this._dragged(d, x, y);
    if (data) {
      d.moved = true;
      d.data = data;
      view.override = { trackId: d.item.trackId, data };
      view.requestRender();
    }
  }

  // The geometry while dragging.
  _dragged(d, x, y) {
    const W = this.view.imageWidth, H = this.view.imageHeight;
    const d0 = d.data0;
    if (d.kind === "move") {
      let dx = x - d.start[0], dy = y - d.start[1];
      if (!d.moved && Math.hypot(dx, dy) * this.view.scale < 2) return null;
      const b = itemBBox({ shape: d.item.shape, data: d0 });
      dx = Math.max(-b[0], Math.min(W - b[2], dx));
      dy = Math.max(-b[1], Math.min(H - b[3], dy));
      if (d.item.shape === "box") return { x1: round2(d0.x1 + dx), y1: round2(d0.y1 + dy), x2: round2(d0.x2 + dx), y2: round2(d0.y2 + dy) };
      return { ...d0, points: d0.points.map((p) => (p.length === 3 && !p[2] ? p : [round2(p[0] + dx), round2(p[1] + dy), ...p.slice(2)])) };
    }
    const [cx, cy] = this._clampPoint(x, y);
    if (d.kind === "resize") {
      const b = { ...d0 };
      const h = d.handle;
      if (h.includes("w")) b.x1 = cx;
      if (h.includes("e")) b.x2 = cx;
      if (h.includes("n")) b.y1 = cy;
      if (h.includes("s")) b.y2 = cy;
      return { x1: round2(b.x1), y1: round2(b.y1), x2: round2(b.x2), y2: round2(b.y2) };
    }
    if (d.kind === "vertex" || d.kind === "keypoint") {
      const points = d0.points.map((p) => [...p]);
      points[d.index][0] = round2(cx);
      points[d.index][1] = round2(cy);
      return { ...d0, points };
    }
    return null;
  }

  _up(e) {
    const d = this.drag;
    if (!d) return;
    this.drag = null;
    const view = this.view;
    if (d.kind === "pan") { this._cursorStyle(); return; }
    if (d.kind === "paint") { d.last = null; return; }
    if (d.kind === "drawbox") {
      const [x1, y1] = d.start, [x2, y2] = d.cur || d.start;
      view.requestRender();
      if (Math.abs(x2 - x1) * view.scale < 3 || Math.abs(y2 - y1) * view.scale < 3) return;
      const data = {
        x1: round2(Math.min(x1, x2)), y1: round2(Math.min(y1, y2)),
        x2: round2(Math.max(x1, x2)), y2: round2(Math.max(y1, y2)),
      };
      this._create(data);
      return;
    }
    if (!d.moved || !d.data) return;
    let data = d.data;
    if (d.kind === "resize") {
      data = { x1: Math.min(data.x1, data.x2), y1: Math.min(data.y1, data.y2), x2: Math.max(data.x1, data.x2), y2: Math.max(data.y1, data.y2) };
      if (data.x2 - data.x1 < 1 || data.y2 - data.y1 < 1) { view.override = null; view.requestRender(); return; }
    }
    view.override = { trackId: d.item.trackId, data };
    this.host.commitEdit(d.item.trackId, data).catch(() => {}).finally(() => {
      if (view.override && view.override.data === data) view.override = null;
      view.requestRender();
    });
  }

  _create(data) {
    this.mode = "select";
    this._cursorStyle();
    this.host.status("");
    this.host.changed();
    this.host.commitCreate(data).catch(() => {});
  }

  _dblclick(e) {
    if (this.mode === "draw" && this.poly && this.host.drawSpec()?.shape === "polygon") {
      e.preventDefault();
      this.finishPolygon();
    }
  }

  _wheel(e) {
    e.preventDefault();
    const [sx, sy] = this.view.eventPoint(e);
    const factor = Math.exp(-Math.max(-300, Math.min(300, e.deltaY)) * 0.0015);
    this.view.zoomAt(sx, sy, factor);
  }

  _cursorStyle() {
    this.view.canvas.style.cursor = this.mode === "draw" ? "crosshair" : "default";
  }

  // --- drawing ----------------------------------------------------------------------------------

  _drawDown(e, x, y) {
    const spec = this.host.drawSpec();
    if (!spec || !this.host.canEdit()) return;
    const [cx, cy] = this._clampPoint(x, y);
    if (spec.shape === "box") {
      this.drag = { kind: "drawbox", start: [cx, cy], cur: [cx, cy] };
    } else if (spec.shape === "polygon" || spec.shape === "mask" && this.maskTool === "polygon") {
      this.poly = this.poly || [];
      const last = this.poly[this.poly.length - 1];
      const tol = 3 / this.view.scale;
      if (!last || Math.abs(last[0] - cx) > tol || Math.abs(last[1] - cy) > tol) this.poly.push([round2(cx), round2(cy)]);
      this.view.requestRender();
    } else if (spec.shape === "points") {
      this.keypoints = this.keypoints || [];
      this.keypoints.push([round2(cx), round2(cy), 2]);
      const total = spec.skeleton?.keypoints?.length || 0;
      if (total && this.keypoints.length >= total) this.finishPoints();
      else { this._statusForMode(); this.view.requestRender(); }
    } else if (spec.shape === "mask") {
      if (!this.mask) this._startMask();
      this.drag = { kind: "paint", last: null };
      this._paintTo(x, y);
    }
  }

  finishPolygon() {
    const spec = this.host.drawSpec();
    if (!this.poly) return false;
    if (this.poly.length < 3) {
      this.host.status("A polygon needs at least 3 points.");
      return true;
    }
    const points = this.poly;
    this.poly = null;
    if (spec.shape === "mask") {
      this._fillMaskPolygon(points);
      this._statusForMode();
      return true;
    }
    this._create({ points });
    return true;
  }

  finishPoints() {
    const spec = this.host.drawSpec();
    if (!this.keypoints || !this.keypoints.length) return false;
    const total = spec.skeleton?.keypoints?.length || this.keypoints.length;
    const points = this.keypoints.slice(0, total);
    while (points.length < total) points.push([0, 0, 0]);
    this.keypoints = null;
    this._create({ points });
    return true;
  }

  // --- masks ------------------------------------------------------------------------------------

  _startMask() {
    const W = this.view.imageWidth, H = this.view.imageHeight;
    if (!W || !H) return;
    const canvas = new OffscreenCanvas(W, H);
    const ctx = canvas.getContext("2d", { willReadFrequently: true });
    const base = this.host.maskBase();
    const spec = this.host.drawSpec();
    const color = spec?.color || "#ff6b00";
    if (base && base.rle) {
      const bits = decodeRle(base.rle);
      const img = ctx.createImageData(W, H);
      for (let i = 0; i < bits.length; i++) if (bits[i]) img.data[i * 4 + 3] = 255;
      ctx.putImageData(img, 0, 0);
      ctx.globalCompositeOperation = "source-in";
      ctx.fillStyle = color;
      ctx.fillRect(0, 0, W, H);
      ctx.globalCompositeOperation = "source-over";
    }
    this.mask = { canvas, ctx, trackId: base ? base.trackId : null, color };
  }

  _paintTo(x, y) {
    const m = this.mask;
    if (!m) return;
    const ctx = m.ctx;
    ctx.globalCompositeOperation = this.maskTool === "eraser" ? "destination-out" : "source-over";
    ctx.strokeStyle = ctx.fillStyle = m.color;
    ctx.lineWidth = this.brushSize;
    ctx.lineCap = "round";
    const last = this.drag && this.drag.last;
    ctx.beginPath();
    if (last) {
      ctx.moveTo(last[0], last[1]);
      ctx.lineTo(x, y);
      ctx.stroke();
    } else {
      ctx.arc(x, y, this.brushSize / 2, 0, Math.PI * 2);
      ctx.fill();
    }
    ctx.globalCompositeOperation = "source-over";
    if (this.drag) this.drag.last = [x, y];
    this.view.requestRender();
  }

  _fillMaskPolygon(points) {
    if (!this.mask) this._startMask();
    const ctx = this.mask.ctx;
    ctx.fillStyle = this.mask.color;
    ctx.beginPath();
    points.forEach(([x, y], i) => (i ? ctx.lineTo(x, y) : ctx.moveTo(x, y)));
    ctx.closePath();
    ctx.fill();
    this.view.requestRender();
  }

  // Turns the painted mask into RLE and saves it (into the selected mask track, or a new track).
  commitMask() {
    const m = this.mask;
    if (!m) return false;
    const W = m.canvas.width, H = m.canvas.height;
    const alpha = m.ctx.getImageData(0, 0, W, H).data;
    const bits = new Uint8Array(W * H);
    let any = false;
    for (let i = 0; i < bits.length; i++) if (alpha[i * 4 + 3] >= 128) { bits[i] = 1; any = true; }
    if (!any) {
      this.host.status("The mask is empty: paint something first (or Esc).");
      return true;
    }
    const data = { rle: encodeRle(bits, H, W) };
    const trackId = m.trackId;
    this.mask = null;
    this.mode = "select";
    this._cursorStyle();
    this.host.status("");
    this.host.changed();
    if (trackId != null) this.host.commitEdit(trackId, data).catch(() => {});
    else this.host.commitCreate(data).catch(() => {});
    this.view.requestRender();
    return true;
  }

  // --- keys the tool handles itself (returns true when used) -------------------------------------

  key(e) {
    if (this.mode !== "draw") return false;
    const spec = this.host.drawSpec();
    if (e.key === "Escape") {
      this.cancel();
      this.setMode("select");
      return true;
    }
    if (e.key === "Enter") {
      if (spec.shape === "polygon") return this.finishPolygon();
      if (spec.shape === "points") return this.finishPoints();
      if (spec.shape === "mask") return this.poly ? this.finishPolygon() : this.commitMask();
    }
    if (e.key === "Backspace") {
      if (this.poly && this.poly.length) { this.poly.pop(); this.view.requestRender(); return true; }
      if (this.keypoints && this.keypoints.length) { this.keypoints.pop(); this._statusForMode(); this.view.requestRender(); return true; }
    }
    if (spec.shape === "mask") {
      if (e.key === "[") { this.setBrushSize(this.brushSize / 1.25); this._statusForMode(); return true; }
      if (e.key === "]") { this.setBrushSize(this.brushSize * 1.25 + 1); this._statusForMode(); return true; }
      if (e.key === "b" || e.key === "B") { this.setMaskTool("brush"); return true; }
      if (e.key === "e" || e.key === "E") { this.setMaskTool("eraser"); return true; }
      if (e.key === "p" || e.key === "P") { this.setMaskTool("polygon"); return true; }
    }
    return false;
  }

  // --- previews ---------------------------------------------------------------------------------

  _drawOverlay(ctx, view) {
    const spec = this.host.drawSpec();
    const color = spec?.color || "#ff6b00";
    const lw = 2 / view.scale;
    if (this.mask) {
      ctx.globalAlpha = 0.5;
      ctx.imageSmoothingEnabled = false;
      ctx.drawImage(this.mask.canvas, 0, 0);
      ctx.globalAlpha = 1;
    }
    if (this.drag && this.drag.kind === "drawbox") {
      const [x1, y1] = this.drag.start, [x2, y2] = this.drag.cur;
      ctx.strokeStyle = color;
      ctx.lineWidth = lw;
      ctx.setLineDash([6 / view.scale, 4 / view.scale]);
      ctx.strokeRect(Math.min(x1, x2), Math.min(y1, y2), Math.abs(x2 - x1), Math.abs(y2 - y1));
      ctx.setLineDash([]);
    }
    if (this.poly && this.poly.length) {
      ctx.strokeStyle = color;
      ctx.lineWidth = lw;
      ctx.beginPath();
      this.poly.forEach(([x, y], i) => (i ? ctx.lineTo(x, y) : ctx.moveTo(x, y)));
      if (this.cursor) ctx.lineTo(this.cursor[0], this.cursor[1]);
      ctx.stroke();
      ctx.fillStyle = "#fff";
      const s = 5 / view.scale;
      for (const [x, y] of this.poly) ctx.fillRect(x - s / 2, y - s / 2, s, s);
    }
    if (this.keypoints && this.keypoints.length) {
      const edges = spec?.skeleton?.edges || [];
      ctx.strokeStyle = color;
      ctx.lineWidth = lw;
      ctx.beginPath();
      for (const [a, b] of edges) {
        const p = this.keypoints[a], q = this.keypoints[b];
        if (p && q) { ctx.moveTo(p[0], p[1]); ctx.lineTo(q[0], q[1]); }
      }
      ctx.stroke();
      ctx.fillStyle = color;
      for (const [x, y] of this.keypoints) {
        ctx.beginPath();
        ctx.arc(x, y, 4 / view.scale, 0, Math.PI * 2);
        ctx.fill();
      }
    }
    if (this.mode === "draw" && spec?.shape === "mask" && this.maskTool !== "polygon" && this.cursor) {
      ctx.strokeStyle = "#fff";
      ctx.lineWidth = 1 / view.scale;
      ctx.beginPath();
      ctx.arc(this.cursor[0], this.cursor[1], this.brushSize / 2, 0, Math.PI * 2);
      ctx.stroke();
    }
  }
}
