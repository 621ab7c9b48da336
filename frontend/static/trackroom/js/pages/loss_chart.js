// A loss curve on a <canvas>, no library: axes with a few ticks, the curve, the last point marked.
// canvas.dataset.points tells how many points were drawn (tests and people can read it).

const PAD = { left: 52, right: 16, top: 14, bottom: 30 };

function niceTicks(min, max, count) {
  const span = max - min || Math.abs(max) || 1;
  const raw = span / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw) || 10 * mag;
  const ticks = [];
  for (let v = Math.ceil(min / step) * step; v <= max + step * 1e-9; v += step) ticks.push(Number(v.toPrecision(12)));
  return ticks;
}

function label(v) {
  const a = Math.abs(v);
  if (a !== 0 && (a < 0.01 || a >= 10000)) return v.toExponential(1);
  return String(Number(v.toPrecision(3)));
}

// losses: [[step, loss], ...]; totalSteps (optional) fixes the x axis so the curve grows to the right.
export function drawLossChart(canvas, losses, { totalSteps = null, color = "#ff6b00" } = {}) {
  const points = (losses || []).filter((p) => Array.isArray(p) && Number.isFinite(p[0]) && Number.isFinite(p[1]));
  const dpr = window.devicePixelRatio || 1;
  const width = canvas.clientWidth || Number(canvas.getAttribute("width")) || 480;
  const height = canvas.clientHeight || Number(canvas.getAttribute("height")) || 200;
  canvas.width = Math.round(width * dpr);
  canvas.height = Math.round(height * dpr);
  const g = canvas.getContext("2d");
  g.setTransform(dpr, 0, 0, dpr, 0, 0);
  g.clearRect(0, 0, width, height);
  g.font = "11px system-ui, sans-serif";

  const plotW = width - PAD.left - PAD.right;
  const plotH = height - PAD.top - PAD.bottom;
  if (!points.length) {
    g.fillStyle = "#8a94a6";
    g.textAlign = "center";
    g.fillText("waiting for the first loss…", width / 2, height / 2);
    canvas.dataset.points = "0";
    return;
  }
  const xs = points.map((p) => p[0]);
  const ys = points.map((p) => p[1]);
  const xMin = Math.min(0, ...xs);
  const xMax = Math.max(totalSteps || 0, ...xs, xMin + 1);
  let yMin = Math.min(...ys);
  let yMax = Math.max(...ys);
  if (yMax - yMin < 1e-9) { yMin -= 0.5; yMax += 0.5; }
  const yPad = (yMax - yMin) * 0.08;
  yMin = Math.max(yMin - yPad, Math.min(...ys) >= 0 ? 0 : -Infinity);
  yMax += yPad;
  const x = (v) => PAD.left + ((v - xMin) / (xMax - xMin)) * plotW;
  const y = (v) => PAD.top + (1 - (v - yMin) / (yMax - yMin)) * plotH;

  // grid and ticks
  g.strokeStyle = "#e6e9ef";
  g.fillStyle = "#6b7588";
  g.lineWidth = 1;
  g.textAlign = "right";
  g.textBaseline = "middle";
  for (const t of niceTicks(yMin, yMax, 4)) {
    if (t < yMin || t > yMax) continue;
    g.beginPath(); g.moveTo(PAD.left, Math.round(y(t)) + 0.5); g.lineTo(PAD.left + plotW, Math.round(y(t)) + 0.5); g.stroke();
    g.fillText(label(t), PAD.left - 6, y(t));
  }
  g.textAlign = "center";
  g.textBaseline = "top";
  for (const t of niceTicks(xMin, xMax, 5)) {
    if (t < xMin || t > xMax) continue;
    g.fillText(label(t), x(t), PAD.top + plotH + 6);
  }
  g.strokeStyle = "#9aa3b2";
  g.beginPath(); g.moveTo(PAD.left + 0.5, PAD.top); g.lineTo(PAD.left + 0.5, PAD.top + plotH + 0.5);
  g.lineTo(PAD.left + plotW, PAD.top + plotH + 0.5); g.stroke();
  g.fillStyle = "#6b7588";
  g.textAlign = "right";
  g.fillText("step", PAD.left + plotW, PAD.top + plotH + 18);

  // the curve
  g.strokeStyle = color;
  g.lineWidth = 2;
  g.lineJoin = "round";
  g.beginPath();
  points.forEach(([sx, sy], i) => (i ? g.lineTo(x(sx), y(sy)) : g.moveTo(x(sx), y(sy))));
  g.stroke();
  const [lx, ly] = points[points.length - 1];
  g.fillStyle = color;
  g.beginPath(); g.arc(x(lx), y(ly), 3.5, 0, Math.PI * 2); g.fill();
  canvas.dataset.points = String(points.length);
}
