// The /bench/canvas/ page: the labeling tool's CanvasView drawing N labelled boxes per frame over
// real frames, one frame per animation frame (as when playing), timing each draw call.
// Results: window.benchResult = {boxes, frames, median, p95, max, mean, with_raster: {...}, ...} (ms).

import { CanvasView } from "./view.js";
import { FrameCache } from "../core/frames.js";

const params = new URLSearchParams(location.search);
const boxes = Number(params.get("boxes") || 300);
const frameTotal = Number(params.get("frames") || 150);
const videoId = params.get("video");
const showLabels = params.get("labels") !== "0";
const showImage = params.get("image") !== "0";
const COLORS = ["#ff6b00", "#3d8bfd", "#3ccf7a", "#d45cff", "#ffd166", "#ff5c5c", "#4dd0e1", "#a1887f", "#f06292", "#9ccc65"];

// A deterministic pseudo-random walk: box i drifts across the frame.
function boxesAt(frame, width, height) {
  const items = [];
  for (let i = 0; i < boxes; i++) {
    const w = 18 + ((i * 7919) % 40), h = 40 + ((i * 104729) % 70);
    const x = ((i * 97 + frame * (1 + (i % 5))) % Math.max(1, width - w));
    const y = ((i * 61 + frame * (i % 3)) % Math.max(1, height - h));
    items.push({
      trackId: i + 1, shape: "box", data: { x1: x, y1: y, x2: x + w, y2: y + h },
      color: COLORS[i % COLORS.length], text: `#${i + 1} person`, selected: i === 0,
      interpolated: i % 17 === 0, outside: false,
    });
  }
  return items;
}

function stats(samples) {
  const s = [...samples].sort((a, b) => a - b);
  const q = (p) => s[Math.min(s.length - 1, Math.floor(p * s.length))];
  return { median: q(0.5), p95: q(0.95), max: s[s.length - 1], mean: s.reduce((a, b) => a + b, 0) / s.length };
}

async function run() {
  document.getElementById("n-boxes").textContent = boxes;
  const view = new CanvasView(document.getElementById("canvas"), { cpu: params.get("cpu") === "1" });
  window.benchView = view;
  let images = [];
  let width = 768, height = 576;
  if (videoId) {
    const video = await (await fetch(`/api/videos/${videoId}/`, { credentials: "same-origin" })).json();
    width = video.width;
    height = video.height;
    const frames = new FrameCache(video.id, video.frame_count, { bitmaps: frameTotal + 8 });
    const n = Math.min(frameTotal, video.frame_count);
    // Decoding is not what is measured: every frame is ready before the run.
    for (let f = 0; f < n; f++) images.push(await frames.get(f));
  } else {
    const c = new OffscreenCanvas(width, height);
    const g = c.getContext("2d");
    const grad = g.createLinearGradient(0, 0, width, height);
    grad.addColorStop(0, "#445"); grad.addColorStop(1, "#887");
    g.fillStyle = grad;
    g.fillRect(0, 0, width, height);
    images = [await createImageBitmap(c)];
  }
  view.setImageSize(width, height);
  view.showLabels = showLabels;
  view.resize();
  view.fit();
  const samples = [];
  const flushed = [];
  const intervals = [];
  let frame = 0, last = null;
  await new Promise((resolve) => {
    function tick(now) {
      if (last != null) intervals.push(now - last);
      last = now;
      view.setImage(showImage ? images[frame % images.length] : null);
      view.setItems(boxesAt(frame, width, height));
      const t0 = performance.now();
      view.draw();
      const t1 = performance.now();
      // Canvas calls are recorded and rasterised later; reading one pixel forces the raster now,
      // so the second figure is the whole cost of the frame's drawing.
      view.ctx.getImageData(0, 0, 1, 1);
      view.imageCtx.getImageData(0, 0, 1, 1);
      samples.push(t1 - t0);
      flushed.push(performance.now() - t0);
      frame++;
      if (frame >= frameTotal) resolve(); else requestAnimationFrame(tick);
    }
    requestAnimationFrame(tick);
  });
  const result = { boxes, frames: samples.length, width: view.canvas.width, height: view.canvas.height,
                   real_frames: !!videoId, ...stats(samples), with_raster: stats(flushed), raf_interval: stats(intervals) };
  window.benchResult = result;
  const fmt = (v) => v.toFixed(2);
  document.getElementById("result").innerHTML =
    `<table><tr><th>boxes</th><th>frames</th><th>median ms</th><th>p95 ms</th><th>max ms</th><th>p95 / 16 ms</th></tr>` +
    [["draw call", result], ["draw + raster", result.with_raster]].map(([name, r]) =>
      `<tr><td>${boxes} (${name})</td><td>${result.frames}</td><td>${fmt(r.median)}</td><td>${fmt(r.p95)}</td>` +
      `<td>${fmt(r.max)}</td><td>${fmt(r.p95 / 16)}</td></tr>`).join("") + `</table>`;
  document.getElementById("bench").dataset.state = "done";
}

run().catch((e) => {
  document.getElementById("result").textContent = `Benchmark failed: ${e.message}`;
  document.getElementById("bench").dataset.state = "failed";
  window.benchResult = { error: e.message };
});
