// COCO uncompressed RLE, column-major, as the API stores masks: {"size": [h, w], "counts": [...]},
// counts alternate runs of 0s and 1s, starting with 0s (a mask starting with 1 begins with a 0 run).

// bits: Uint8Array(h * w) in row-major order (index y * w + x), non-zero = inside.
export function encodeRle(bits, h, w) {
  const counts = [];
  let current = 0, run = 0;
  for (let x = 0; x < w; x++) {
    for (let y = 0; y < h; y++) {
      const v = bits[y * w + x] ? 1 : 0;
      if (v !== current) {
        counts.push(run);
        run = 0;
        current = v;
      }
      run++;
    }
  }
  counts.push(run);
  return { size: [h, w], counts };
}

// -> Uint8Array(h * w) row-major.
export function decodeRle(rle) {
  const [h, w] = rle.size;
  const bits = new Uint8Array(h * w);
  let pos = 0, value = 0;
  for (const run of rle.counts) {
    if (value) {
      for (let i = pos; i < pos + run; i++) {
        const x = (i / h) | 0, y = i - x * h;
        bits[y * w + x] = 1;
      }
    }
    pos += run;
    value ^= 1;
  }
  return bits;
}

// Bounding box [x1, y1, x2, y2) of the set pixels, or null when empty.
export function bitsBBox(bits, h, w) {
  let x1 = w, y1 = h, x2 = -1, y2 = -1;
  for (let y = 0; y < h; y++) {
    const row = y * w;
    for (let x = 0; x < w; x++) {
      if (bits[row + x]) {
        if (x < x1) x1 = x;
        if (x > x2) x2 = x;
        if (y < y1) y1 = y;
        y2 = y;
      }
    }
  }
  return x2 < 0 ? null : [x1, y1, x2 + 1, y2 + 1];
}

// The RLE's bounding box without decoding to pixels (for hit tests and labels).
export function rleBBox(rle) {
  const [h] = rle.size;
  let pos = 0, value = 0;
  let x1 = Infinity, y1 = Infinity, x2 = -1, y2 = -1;
  for (const run of rle.counts) {
    if (value && run > 0) {
      const c0 = Math.floor(pos / h), r0 = pos % h;
      const end = pos + run - 1;
      const c1 = Math.floor(end / h), r1 = end % h;
      x1 = Math.min(x1, c0); x2 = Math.max(x2, c1);
      if (c0 === c1) { y1 = Math.min(y1, r0); y2 = Math.max(y2, r1); } else { y1 = 0; y2 = Math.max(y2, h - 1); }
    }
    pos += run;
    value ^= 1;
  }
  return x2 < 0 ? null : [x1, y1, x2 + 1, y2 + 1];
}

// A canvas of the mask's bounding box, painted in `color` (for drawing with drawImage).
export function maskCanvas(rle, color, alpha = 0.45) {
  const [h, w] = rle.size;
  const bits = decodeRle(rle);
  const box = bitsBBox(bits, h, w);
  if (!box) return null;
  const [x1, y1, x2, y2] = box;
  const cw = x2 - x1, ch = y2 - y1;
  const canvas = new OffscreenCanvas(cw, ch);
  const ctx = canvas.getContext("2d");
  const img = ctx.createImageData(cw, ch);
  const [r, g, b] = hexToRgb(color);
  const a = Math.round(alpha * 255);
  for (let y = 0; y < ch; y++) {
    for (let x = 0; x < cw; x++) {
      if (bits[(y + y1) * w + x + x1]) {
        const o = (y * cw + x) * 4;
        img.data[o] = r; img.data[o + 1] = g; img.data[o + 2] = b; img.data[o + 3] = a;
      }
    }
  }
  ctx.putImageData(img, 0, 0);
  return { canvas, x: x1, y: y1, bits, box };
}

export function hexToRgb(hex) {
  const m = /^#?([0-9a-f]{6})$/i.exec(hex || "");
  const v = m ? parseInt(m[1], 16) : 0xff6b00;
  return [(v >> 16) & 255, (v >> 8) & 255, v & 255];
}
