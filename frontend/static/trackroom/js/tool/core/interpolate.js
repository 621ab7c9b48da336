// Client-side interpolation between two stored figures of a track (display only): boxes linearly,
// points keypoint by keypoint (a keypoint absent at either end stays absent). Nothing is
// interpolated after an "outside" figure: the object left the scene there.

const lerp = (a, b, t) => a + (b - a) * t;

export function interpolateBox(a, b, t) {
  return {
    x1: lerp(a.x1, b.x1, t), y1: lerp(a.y1, b.y1, t),
    x2: lerp(a.x2, b.x2, t), y2: lerp(a.y2, b.y2, t),
  };
}

export function interpolatePoints(a, b, t) {
  const pa = a.points || [], pb = b.points || [];
  if (pa.length !== pb.length) return null;
  return {
    points: pa.map((p, i) => {
      const q = pb[i];
      if (!p[2] || !q[2]) return [p[0], p[1], 0];
      return [lerp(p[0], q[0], t), lerp(p[1], q[1], t), Math.min(p[2], q[2])];
    }),
  };
}

// The interpolated geometry at `frame` between figures `prev` (frame < f) and `next` (frame > f),
// or null when this shape does not interpolate or the object is outside.
export function interpolateFigure(shape, prev, next, frame) {
  if (!prev || !next || prev.outside) return null;
  const t = (frame - prev.frame) / (next.frame - prev.frame);
  let data = null;
  if (shape === "box") data = interpolateBox(prev.data, next.data, t);
  else if (shape === "points") data = interpolatePoints(prev.data, next.data, t);
  if (!data) return null;
  return {
    id: null, track: prev.track, frame, data, is_keyframe: false, outside: false,
    source: "interpolated", confidence: null, version: null, interpolated: true,
  };
}

// Index of the last element of the sorted `frames` array that is < f (or -1).
export function lowerIndex(frames, f) {
  let lo = 0, hi = frames.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (frames[mid] < f) lo = mid + 1; else hi = mid;
  }
  return lo - 1;
}
