// The drawing layer: a frame image and a list of figures on a <canvas>, with zoom and pan. It only
// draws and answers geometry questions (hit tests, coordinate transforms); it never calls the server.
//
// A figure to draw ("item"): {trackId, shape: "box"|"polygon"|"mask"|"points", data (API geometry),
// color "#rrggbb", text (label shown above it), selected, interpolated, outside, skeleton
// ({keypoints, edges} for points), maskKey (cache key for the decoded mask, e.g. "id:version")}.

import { maskCanvas, rleBBox } from "./rle.js";

const HANDLE_PX = 7; // handle square size, screen pixels
const HIT_PX = 6; // tolerance for hits on edges, handles and keypoints
const FONT = "12px system-ui, sans-serif";
export const HANDLES = ["nw", "n", "ne", "e", "se", "s", "sw", "w"];

export function itemBBox(item) {
  const d = item.data;
  if (!d) return null;
  if (item.shape === "box") return [Math.min(d.x1, d.x2), Math.min(d.y1, d.y2), Math.max(d.x1, d.x2), Math.max(d.y1, d.y2)];
  if (item.shape === "mask") return d.rle ? rleBBox(d.rle) : null;
  const pts = (d.points || []).filter((p) => p.length < 3 || p[2] > 0);
  if (!pts.length) return null;
  let x1 = Infinity, y1 = Infinity, x2 = -Infinity, y2 = -Infinity;
  for (const [x, y] of pts) { x1 = Math.min(x1, x); y1 = Math.min(y1, y); x2 = Math.max(x2, x); y2 = Math.max(y2, y); }
  return [x1, y1, x2, y2];
}

export function handlePoints(b) {
  const [x1, y1, x2, y2] = b, mx = (x1 + x2) / 2, my = (y1 + y2) / 2;
  return { nw: [x1, y1], n: [mx, y1], ne: [x2, y1], e: [x2, my], se: [x2, y2], s: [mx, y2], sw: [x1, y2], w: [x1, my] };
}

function pointInPolygon(x, y, pts) {
  let inside = false;
  for (let i = 0, j = pts.length - 1; i < pts.length; j = i++) {
    const [xi, yi] = pts[i], [xj, yj] = pts[j];
    if ((yi > y) !== (yj > y) && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) inside = !inside;
  }
  return inside;
}

export class CanvasView extends EventTarget {
  // options.cpu: ask for CPU-backed contexts (willReadFrequently), e.g. to compare raster paths.
  constructor(canvas, options = {}) {
    super();
    this.canvas = canvas;
    const ctxOptions = options.cpu ? { willReadFrequently: true } : {};
    this.ctx = canvas.getContext("2d", ctxOptions);
    // The frame sits in its own canvas under the figures, at the video's resolution, and is zoomed
    // and panned with a CSS transform: the compositor scales it, so a redraw of the figures never
    // re-rasterises the picture, and a new frame is a 1:1 copy.
    this.imageCanvas = document.createElement("canvas");
    this.imageCanvas.className = "frame-layer";
    this.imageCanvas.dataset.testid = "frame-layer";
    Object.assign(this.imageCanvas.style, {
      position: "absolute", left: "0", top: "0", transformOrigin: "0 0", pointerEvents: "none", display: "none",
    });
    canvas.parentNode.insertBefore(this.imageCanvas, canvas);
    this.imageCtx = this.imageCanvas.getContext("2d", { alpha: false, ...ctxOptions });
    this._shownImage = null;
    this.image = null;
    this.imageWidth = 0;
    this.imageHeight = 0;
    this.items = [];
    this.scale = 1;
    this.ox = 0;
    this.oy = 0;
    this.dpr = window.devicePixelRatio || 1;
    this.cssWidth = 0;
    this.cssHeight = 0;
    this.overlay = null; // (ctx, view) => void, drawn in image coordinates (tools' previews)
    this.override = null; // {trackId, data}: geometry being dragged, drawn instead of the item's
    this.showLabels = true;
    this.lastDrawMs = 0;
    this._maskCache = new Map();
    this._textWidths = new Map();
    this._sprites = new Map();
    this._pending = false;
    this._userView = false;
    this.resize();
  }

  // --- size, zoom and pan -----------------------------------------------------------------------

  resize() {
    const rect = this.canvas.getBoundingClientRect();
    const w = Math.max(1, Math.round(rect.width)), h = Math.max(1, Math.round(rect.height));
    this.dpr = window.devicePixelRatio || 1;
    if (w !== this.cssWidth || h !== this.cssHeight) {
      this.cssWidth = w;
      this.cssHeight = h;
      this.canvas.width = Math.round(w * this.dpr);
      this.canvas.height = Math.round(h * this.dpr);
      // Until the user zooms or pans, the frame keeps fitting the (changing) window.
      if (!this._userView) this.fit(); else this.requestRender();
    }
  }

  setImageSize(width, height) {
    const changed = width !== this.imageWidth || height !== this.imageHeight;
    this.imageWidth = width;
    this.imageHeight = height;
    if (changed) this.fit();
  }

  fit() {
    if (!this.imageWidth || !this.cssWidth) return;
    const pad = 8;
    this.scale = Math.min((this.cssWidth - 2 * pad) / this.imageWidth, (this.cssHeight - 2 * pad) / this.imageHeight);
    this.ox = (this.cssWidth - this.imageWidth * this.scale) / 2;
    this.oy = (this.cssHeight - this.imageHeight * this.scale) / 2;
    this._userView = false;
    this._changedView();
  }

  zoomAt(sx, sy, factor) {
    const s = Math.max(0.05, Math.min(40, this.scale * factor));
    const [ix, iy] = this.toImage(sx, sy);
    this.scale = s;
    this.ox = sx - ix * s;
    this.oy = sy - iy * s;
    this._userView = true;
    this._changedView();
  }

  panBy(dx, dy) {
    this.ox += dx;
    this.oy += dy;
    this._userView = true;
    this._changedView();
  }

  _changedView() {
    this._placeImage();
    this.requestRender();
    this.dispatchEvent(new CustomEvent("viewchange", { detail: { scale: this.scale } }));
  }

  toImage(sx, sy) { return [(sx - this.ox) / this.scale, (sy - this.oy) / this.scale]; }
  toScreen(x, y) { return [x * this.scale + this.ox, y * this.scale + this.oy]; }

  // Screen (CSS pixel) position of a pointer event inside the canvas.
  eventPoint(e) {
    const r = this.canvas.getBoundingClientRect();
    return [e.clientX - r.left, e.clientY - r.top];
  }

  _placeImage() {
    const st = this.imageCanvas.style;
    st.transform = `matrix(${this.scale}, 0, 0, ${this.scale}, ${this.ox}, ${this.oy})`;
    st.imageRendering = this.scale >= 2 ? "pixelated" : "auto";
  }

  // --- content ----------------------------------------------------------------------------------

  setImage(image) {
    this.image = image;
    if (image) this.setImageSize(image.width, image.height);
  }

  setItems(items) {
    this.items = items;
  }

  requestRender() {
    if (this._pending) return;
    this._pending = true;
    requestAnimationFrame(() => {
      this._pending = false;
      this.draw();
    });
  }

  // --- drawing ----------------------------------------------------------------------------------

  draw() {
    const t0 = performance.now();
    const { ctx, dpr, scale } = this;
    if (this.image !== this._shownImage) {
      const ic = this.imageCanvas;
      if (this.image) {
        if (ic.width !== this.imageWidth || ic.height !== this.imageHeight) {
          ic.width = this.imageWidth;
          ic.height = this.imageHeight;
        }
        this.imageCtx.drawImage(this.image, 0, 0);
        ic.style.display = "block";
      } else {
        ic.style.display = "none";
      }
      this._shownImage = this.image;
    }
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.clearRect(0, 0, this.canvas.width, this.canvas.height);
    ctx.setTransform(dpr * scale, 0, 0, dpr * scale, dpr * this.ox, dpr * this.oy);
    if (!this.image && this.imageWidth) {
      ctx.fillStyle = "#23272e";
      ctx.fillRect(0, 0, this.imageWidth, this.imageHeight);
    }
    const items = this._visibleItems();
    this._drawMasks(items);
    this._drawPolygons(items);
    this._drawBoxes(items);
    this._drawPoints(items);
    const selected = items.find((it) => it.selected);
    if (selected) this._drawSelection(selected);
    if (this.overlay) {
      ctx.setTransform(dpr * scale, 0, 0, dpr * scale, dpr * this.ox, dpr * this.oy);
      this.overlay(ctx, this);
    }
    if (this.showLabels) this._drawLabels(items);
    this.lastDrawMs = performance.now() - t0;
    return this.lastDrawMs;
  }

  _visibleItems() {
    const out = [];
    for (const it of this.items) {
      if (it.outside && !it.selected) continue;
      if (this.override && it.trackId === this.override.trackId) out.push({ ...it, data: this.override.data });
      else out.push(it);
    }
    return out;
  }

  _lineWidth(px) { return px / this.scale; }

  _drawBoxes(items) {
    const { ctx } = this;
    const byColor = new Map();
    for (const it of items) {
      if (it.shape !== "box") continue;
      let list = byColor.get(it.color);
      if (!list) byColor.set(it.color, (list = []));
      list.push(it);
    }
    ctx.lineWidth = this._lineWidth(2);
    for (const [color, list] of byColor) {
      ctx.strokeStyle = color;
      ctx.beginPath();
      const dashed = [];
      for (const it of list) {
        const d = it.data;
        if (it.interpolated || it.outside) { dashed.push(it); continue; }
        ctx.rect(d.x1, d.y1, d.x2 - d.x1, d.y2 - d.y1);
      }
      ctx.stroke();
      if (dashed.length) {
        ctx.setLineDash([this._lineWidth(6), this._lineWidth(4)]);
        ctx.beginPath();
        for (const it of dashed) ctx.rect(it.data.x1, it.data.y1, it.data.x2 - it.data.x1, it.data.y2 - it.data.y1);
        ctx.stroke();
        ctx.setLineDash([]);
      }
    }
  }

  _drawPolygons(items) {
    const { ctx } = this;
    ctx.lineWidth = this._lineWidth(2);
    for (const it of items) {
      if (it.shape !== "polygon" || !it.data.points?.length) continue;
      ctx.beginPath();
      it.data.points.forEach(([x, y], i) => (i ? ctx.lineTo(x, y) : ctx.moveTo(x, y)));
      ctx.closePath();
      ctx.globalAlpha = it.selected ? 0.3 : 0.18;
      ctx.fillStyle = it.color;
      ctx.fill();
      ctx.globalAlpha = 1;
      ctx.strokeStyle = it.color;
      ctx.stroke();
    }
  }

  _mask(it) {
    const key = `${it.maskKey || ""}|${it.color}`;
    if (it.maskKey && this._maskCache.has(key)) return this._maskCache.get(key);
    const m = maskCanvas(it.data.rle, it.color);
    if (it.maskKey) {
      this._maskCache.set(key, m);
      if (this._maskCache.size > 300) this._maskCache.delete(this._maskCache.keys().next().value);
    }
    return m;
  }

  _drawMasks(items) {
    const { ctx } = this;
    for (const it of items) {
      if (it.shape !== "mask" || !it.data.rle) continue;
      const m = this._mask(it);
      if (!m) continue;
      ctx.imageSmoothingEnabled = false;
      ctx.drawImage(m.canvas, m.x, m.y);
      if (it.selected) {
        ctx.lineWidth = this._lineWidth(1);
        ctx.strokeStyle = it.color;
        const [x1, y1, x2, y2] = m.box;
        ctx.strokeRect(x1, y1, x2 - x1, y2 - y1);
      }
    }
  }

  _drawPoints(items) {
    const { ctx } = this;
    const r = this._lineWidth(4);
    for (const it of items) {
      if (it.shape !== "points") continue;
      const pts = it.data.points || [];
      const edges = (it.skeleton && it.skeleton.edges) || [];
      ctx.lineWidth = this._lineWidth(2);
      ctx.strokeStyle = it.color;
      ctx.beginPath();
      for (const [a, b] of edges) {
        const p = pts[a], q = pts[b];
        if (!p || !q || !p[2] || !q[2]) continue;
        ctx.moveTo(p[0], p[1]);
        ctx.lineTo(q[0], q[1]);
      }
      ctx.stroke();
      for (const p of pts) {
        if (!p[2]) continue;
        ctx.beginPath();
        ctx.arc(p[0], p[1], r, 0, Math.PI * 2);
        ctx.fillStyle = p[2] === 1 ? "#15181d" : it.color; // occluded: hollow
        ctx.fill();
        ctx.lineWidth = this._lineWidth(1.5);
        ctx.strokeStyle = p[2] === 1 ? it.color : "#fff";
        ctx.stroke();
      }
    }
  }

  _drawSelection(it) {
    const { ctx } = this;
    const b = itemBBox(it);
    if (!b) return;
    if (it.shape === "box") {
      ctx.fillStyle = it.color;
      ctx.globalAlpha = 0.15;
      ctx.fillRect(b[0], b[1], b[2] - b[0], b[3] - b[1]);
      ctx.globalAlpha = 1;
      ctx.lineWidth = this._lineWidth(3);
      ctx.strokeStyle = it.color;
      ctx.strokeRect(b[0], b[1], b[2] - b[0], b[3] - b[1]);
      if (!it.readonly) {
        const s = this._lineWidth(HANDLE_PX);
        ctx.lineWidth = this._lineWidth(1);
        for (const [x, y] of Object.values(handlePoints(b))) {
          ctx.fillStyle = "#fff";
          ctx.fillRect(x - s / 2, y - s / 2, s, s);
          ctx.strokeStyle = "#000";
          ctx.strokeRect(x - s / 2, y - s / 2, s, s);
        }
      }
    } else if (it.shape === "polygon" && !it.readonly) {
      const s = this._lineWidth(HANDLE_PX - 1);
      for (const [x, y] of it.data.points) {
        ctx.fillStyle = "#fff";
        ctx.fillRect(x - s / 2, y - s / 2, s, s);
      }
    } else if (it.shape === "points") {
      ctx.setLineDash([this._lineWidth(4), this._lineWidth(3)]);
      ctx.lineWidth = this._lineWidth(1);
      ctx.strokeStyle = it.color;
      const m = this._lineWidth(6);
      ctx.strokeRect(b[0] - m, b[1] - m, b[2] - b[0] + 2 * m, b[3] - b[1] + 2 * m);
      ctx.setLineDash([]);
      if (it.activeKeypoint != null && it.data.points[it.activeKeypoint]) {
        const [x, y] = it.data.points[it.activeKeypoint];
        ctx.beginPath();
        ctx.arc(x, y, this._lineWidth(8), 0, Math.PI * 2);
        ctx.strokeStyle = "#fff";
        ctx.lineWidth = this._lineWidth(2);
        ctx.stroke();
      }
    }
  }

  _textWidth(text) {
    let w = this._textWidths.get(text);
    if (w === undefined) {
      this.ctx.font = FONT;
      w = this.ctx.measureText(text).width;
      this._textWidths.set(text, w);
      if (this._textWidths.size > 5000) this._textWidths.clear();
    }
    return w;
  }

  // A label (coloured tag with white text) rendered once and reused: blitting a small bitmap is
  // much cheaper than shaping and rasterising text 300 times per frame.
  _labelSprite(text, color) {
    const key = `${color}|${text}|${this.dpr}`;
    let sprite = this._sprites.get(key);
    if (sprite) return sprite;
    const dpr = this.dpr;
    const w = Math.ceil(this._textWidth(text) + 6), h = 15;
    const canvas = new OffscreenCanvas(Math.ceil(w * dpr), Math.ceil(h * dpr));
    const g = canvas.getContext("2d");
    g.scale(dpr, dpr);
    g.fillStyle = color;
    g.fillRect(0, 0, w, h);
    g.font = FONT;
    g.textBaseline = "bottom";
    g.fillStyle = "#fff";
    g.fillText(text, 3, h - 1);
    sprite = { canvas, w, h };
    this._sprites.set(key, sprite);
    if (this._sprites.size > 3000) this._sprites.delete(this._sprites.keys().next().value);
    return sprite;
  }

  // Labels in screen space (constant size at any zoom), just above each figure's top-left corner.
  _drawLabels(items) {
    const { ctx } = this;
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.font = FONT;
    ctx.imageSmoothingEnabled = false;
    const dpr = this.dpr;
    for (const it of items) {
      if (!it.text) continue;
      const b = itemBBox(it);
      if (!b) continue;
      const [sx, sy] = this.toScreen(b[0], b[1]);
      if (sx > this.cssWidth || sy < 0 || sy > this.cssHeight + 16) continue;
      const sprite = this._labelSprite(it.text, it.color);
      ctx.drawImage(sprite.canvas, Math.round(sx * dpr), Math.round((sy - sprite.h) * dpr));
    }
  }

  // --- hit testing ------------------------------------------------------------------------------

  // What is under the screen point: {item, part: "handle"|"vertex"|"keypoint"|"body", handle, index}.
  // The selected figure's handles win; then keypoints; then the smallest figure containing the point.
  hitTest(sx, sy) {
    const [x, y] = this.toImage(sx, sy);
    const tol = HIT_PX / this.scale;
    const items = this._visibleItems();
    const selected = items.find((it) => it.selected);
    if (selected && !selected.readonly) {
      if (selected.shape === "box") {
        const hp = handlePoints(itemBBox(selected));
        for (const h of HANDLES) {
          const [hx, hy] = hp[h];
          if (Math.abs(hx - x) <= tol && Math.abs(hy - y) <= tol) return { item: selected, part: "handle", handle: h };
        }
      } else if (selected.shape === "polygon") {
        const i = selected.data.points.findIndex(([px, py]) => Math.abs(px - x) <= tol && Math.abs(py - y) <= tol);
        if (i >= 0) return { item: selected, part: "vertex", index: i };
      }
    }
    const ordered = selected ? [selected, ...items.filter((it) => it !== selected)] : items;
    for (const it of ordered) {
      if (it.shape !== "points") continue;
      const pts = it.data.points || [];
      for (let i = 0; i < pts.length; i++) {
        const p = pts[i];
        if (p[2] && Math.hypot(p[0] - x, p[1] - y) <= tol * 1.3) return { item: it, part: "keypoint", index: i };
      }
    }
    let best = null, bestArea = Infinity;
    for (const it of items) {
      if (it.outside) continue;
      const b = itemBBox(it);
      if (!b) continue;
      const pad = it.shape === "points" ? tol * 2 : tol / 2;
      if (x < b[0] - pad || x > b[2] + pad || y < b[1] - pad || y > b[3] + pad) continue;
      if (it.shape === "polygon" && !pointInPolygon(x, y, it.data.points)) continue;
      if (it.shape === "mask") {
        const m = this._mask(it);
        const [h, w] = it.data.rle.size;
        const ix = Math.floor(x), iy = Math.floor(y);
        if (!m || ix < 0 || iy < 0 || ix >= w || iy >= h || !m.bits[iy * w + ix]) continue;
      }
      const area = (b[2] - b[0] + 1) * (b[3] - b[1] + 1);
      if (area < bestArea) { best = it; bestArea = area; }
    }
    return best ? { item: best, part: "body" } : null;
  }
}
