// Frames of one video, fetched in chunks from /api/videos/{id}/chunks/ (format in the README):
// the JPEG bytes of many chunks are kept (small), and the decoded ImageBitmaps of recent frames in
// an LRU (large: ~1.7 MB each for 768x576), so stepping back and forth and playing never refetch.

export const CHUNK = 16;

class LRU {
  constructor(capacity, onEvict) {
    this.capacity = capacity;
    this.map = new Map();
    this.onEvict = onEvict;
  }
  get(key) {
    const v = this.map.get(key);
    if (v !== undefined) { this.map.delete(key); this.map.set(key, v); }
    return v;
  }
  has(key) { return this.map.has(key); }
  set(key, value) {
    if (this.map.has(key)) this.map.delete(key);
    this.map.set(key, value);
    while (this.map.size > this.capacity) {
      const [k, v] = this.map.entries().next().value;
      this.map.delete(k);
      if (this.onEvict) this.onEvict(v, k);
    }
  }
}

// Splits a chunk response: "TRFC", u32 header length, JSON header, JPEGs back to back.
export function parseChunk(buffer) {
  const view = new DataView(buffer);
  const magic = String.fromCharCode(view.getUint8(0), view.getUint8(1), view.getUint8(2), view.getUint8(3));
  if (magic !== "TRFC") throw new Error("Not a frame chunk (bad magic)");
  const headerLength = view.getUint32(4, false);
  const header = JSON.parse(new TextDecoder().decode(new Uint8Array(buffer, 8, headerLength)));
  const base = 8 + headerLength;
  const blob = new Blob([new Uint8Array(buffer, base)], { type: header.content_type || "image/jpeg" });
  const frames = header.frames.map((f) => ({
    index: f.index,
    blob: blob.slice(f.offset, f.offset + f.length, header.content_type || "image/jpeg"),
  }));
  return { header, frames };
}

export class FrameCache {
  constructor(videoId, frameCount, { bitmaps = 96, blobs = 2000 } = {}) {
    this.videoId = videoId;
    this.frameCount = frameCount;
    this.blobs = new LRU(blobs);
    // Evicted bitmaps are left to the garbage collector: the canvas may still be showing one.
    this.bitmaps = new LRU(bitmaps);
    this.pendingChunks = new Map(); // chunk start -> Promise
    this.pendingBitmaps = new Map(); // frame -> Promise<ImageBitmap>
  }

  chunkStart(frame) { return Math.floor(frame / CHUNK) * CHUNK; }

  ready(frame) { return this.bitmaps.has(frame); }
  peek(frame) { return this.bitmaps.get(frame) || null; }

  async _fetchChunk(start) {
    if (this.pendingChunks.has(start)) return this.pendingChunks.get(start);
    const count = Math.min(CHUNK, this.frameCount - start);
    const p = (async () => {
      const r = await fetch(`/api/videos/${this.videoId}/chunks/?start=${start}&count=${count}`, {
        credentials: "same-origin",
      });
      if (!r.ok) throw new Error(`Frames ${start}..${start + count - 1} could not be loaded (${r.status})`);
      const { frames } = parseChunk(await r.arrayBuffer());
      for (const f of frames) this.blobs.set(f.index, f.blob);
    })();
    this.pendingChunks.set(start, p);
    try { await p; } finally { this.pendingChunks.delete(start); }
  }

  // The decoded frame (fetching its chunk when needed).
  async get(frame) {
    const hit = this.bitmaps.get(frame);
    if (hit) return hit;
    if (this.pendingBitmaps.has(frame)) return this.pendingBitmaps.get(frame);
    const p = (async () => {
      if (!this.blobs.has(frame)) await this._fetchChunk(this.chunkStart(frame));
      const blob = this.blobs.get(frame);
      if (!blob) throw new Error(`Frame ${frame} is missing from its chunk`);
      const bmp = await createImageBitmap(blob);
      this.bitmaps.set(frame, bmp);
      return bmp;
    })();
    this.pendingBitmaps.set(frame, p);
    try { return await p; } finally { this.pendingBitmaps.delete(frame); }
  }

  // Fetch the chunks covering [frame, frame + ahead) and decode the next `decode` frames.
  prefetch(frame, { ahead = 2 * CHUNK, decode = 8 } = {}) {
    const last = Math.min(this.frameCount - 1, frame + ahead);
    for (let s = this.chunkStart(frame); s <= last; s += CHUNK) {
      if (!this.blobs.has(s) && !this.pendingChunks.has(s)) this._fetchChunk(s).catch(() => {});
    }
    for (let f = frame; f < Math.min(this.frameCount, frame + decode); f++) {
      if (!this.bitmaps.has(f) && !this.pendingBitmaps.has(f)) this.get(f).catch(() => {});
    }
  }
}
