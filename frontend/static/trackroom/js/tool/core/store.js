// The labeling tool's state and its only link to the server (REST + WebSocket). Widgets read it and
// call its actions; it tells them what changed with events (see FRONTEND.md for the contract):
//   "frame" {frame}; "figures" {frames: [first, last]}; "tracks" {}; "selection" {trackId};
//   "job" {job, type}; "presence" {users}; "notice" {message, level}; "socket" {event};
//   plus "view" {} (hide/lock/current label changed), "undo" {canUndo, canRedo, ...}, "connection" {connected}.
// Figures keep the REST shape; interpolated ones (display only) carry `interpolated: true`, id null.

import { api, ApiError } from "../../api.js";
import { LiveSocket } from "./socket.js";
import { UndoStack } from "./undo.js";
import { interpolateFigure, lowerIndex } from "./interpolate.js";

const EDIT_ROLES = new Set(["owner", "manager", "annotator"]);
const WINDOW_BEFORE = 60; // frames of figures loaded around the current frame
const WINDOW_AFTER = 140;
const WINDOW_MARGIN = 30; // reload when the current frame comes this close to the edge
const PRESENCE_EVERY_MS = 250;
const CLIENT_SOURCES = new Set(["manual", "imported"]);

const SHAPE_NOUN = { box: "box", polygon: "polygon", mask: "mask", points: "skeleton" };

export class Store extends EventTarget {
  constructor(bootData) {
    super();
    this.boot = bootData;
    this.me = bootData.user || null;
    this.role = bootData.role || "viewer";
    this.canEdit = EDIT_ROLES.has(this.role);
    this.video = null;
    this.project = null;
    this.labels = new Map();
    this.tracks = new Map();
    this.jobs = new Map();
    this.presence = [];
    this.usernames = new Map(); // user id -> username (conflict messages, presence)
    this.frame = 0;
    this.selectedTrackId = null;
    this.hidden = new Set(); // track ids not drawn (local view state)
    this.locked = new Set(); // track ids that cannot be edited on the canvas
    this.currentLabelId = null; // label new tracks get
    this.undoStack = new UndoStack();
    this.undoStack.addEventListener("change", (e) => this._emit("undo", e.detail));

    this._byFrame = new Map(); // frame -> Map(trackId -> figure)
    this._byId = new Map(); // figure id -> figure
    this._trackFrames = new Map(); // trackId -> sorted frames with a stored figure (lazy)
    this._range = [0, -1];
    this._loading = null; // {first, last, token}
    this._loadToken = 0;
    this._journals = new Set(); // change logs of window loads in flight
    this._remap = new Map(); // old track id -> new id (undo of a delete re-creates a track)
    this._presenceTimer = null;
    this._lastPresenceSent = 0;
    this.socket = null;
  }

  // --- loading ----------------------------------------------------------------------------------

  async init({ connect = true } = {}) {
    const videoId = this.boot.video.id;
    this.video = await api.get(`/api/videos/${videoId}/`);
    const projectId = this.video.project ?? this.boot.project.id;
    const [project, labels, tracks, members, jobs] = await Promise.all([
      api.get(`/api/projects/${projectId}/`),
      api.all(`/api/projects/${projectId}/labels/?limit=1000`),
      api.all(`/api/tracks/?video=${videoId}&limit=1000`),
      api.all(`/api/projects/${projectId}/members/?limit=1000`).catch(() => []),
      api.get(`/api/jobs/?video=${videoId}&limit=50`).catch(() => ({ results: [] })),
    ]);
    this.project = project;
    for (const l of labels) this.labels.set(l.id, l);
    for (const t of tracks) this.tracks.set(t.id, t);
    for (const m of members) this.usernames.set(m.user, m.username);
    if (this.me) this.usernames.set(this.me.id, this.me.username);
    for (const j of jobs.results || jobs) this.jobs.set(j.id, j);
    this.currentLabelId = labels.length ? labels[0].id : null;
    await this._loadWindow(0, true);
    if (connect && this.boot.ws) this._connect(this.boot.ws);
    this._emit("tracks", {});
    this._emit("frame", { frame: this.frame });
  }

  get frameCount() { return this.video ? this.video.frame_count : 0; }
  get fps() { return (this.video && this.video.fps) || 10; }

  label(id) { return this.labels.get(id) || null; }
  trackLabel(trackId) {
    const t = this.tracks.get(trackId);
    return t ? this.labels.get(t.label) || null : null;
  }
  trackColor(trackId) {
    const l = this.trackLabel(trackId);
    return (l && l.color) || "#ff6b00";
  }

  // --- reads ------------------------------------------------------------------------------------

  loadedRange() { return [...this._range]; }

  // Stored figures of that frame plus interpolated ones (boxes and points between two stored figures).
  figuresAt(frame) {
    const out = [];
    const stored = this._byFrame.get(frame);
    if (stored) for (const f of stored.values()) out.push(f);
    for (const [trackId, frames] of this._framesIndex()) {
      if (stored && stored.has(trackId)) continue;
      const shape = this.trackLabel(trackId)?.shape;
      if (shape !== "box" && shape !== "points") continue;
      const i = lowerIndex(frames, frame);
      if (i < 0 || i + 1 >= frames.length) continue;
      const prev = this._byFrame.get(frames[i]).get(trackId);
      const next = this._byFrame.get(frames[i + 1]).get(trackId);
      const fig = interpolateFigure(shape, prev, next, frame);
      if (fig) out.push(fig);
    }
    return out;
  }

  // The figure of a track on a frame: stored, else interpolated, else null.
  figure(trackId, frame) {
    const stored = this._byFrame.get(frame)?.get(trackId);
    if (stored) return stored;
    const frames = this._framesIndex().get(trackId);
    if (!frames) return null;
    const shape = this.trackLabel(trackId)?.shape;
    const i = lowerIndex(frames, frame);
    if (i < 0 || i + 1 >= frames.length) return null;
    return interpolateFigure(shape, this._byFrame.get(frames[i]).get(trackId),
      this._byFrame.get(frames[i + 1]).get(trackId), frame);
  }

  storedFigure(trackId, frame) { return this._byFrame.get(frame)?.get(trackId) || null; }

  resolveTrack(id) {
    let n = 0;
    while (this._remap.has(id) && n++ < 100) id = this._remap.get(id);
    return id;
  }

  _framesIndex() {
    if (this._trackFramesDirty !== false) {
      const idx = new Map();
      const frames = [...this._byFrame.keys()].sort((a, b) => a - b);
      for (const f of frames) {
        for (const trackId of this._byFrame.get(f).keys()) {
          let list = idx.get(trackId);
          if (!list) idx.set(trackId, (list = []));
          list.push(f);
        }
      }
      this._trackFrames = idx;
      this._trackFramesDirty = false;
    }
    return this._trackFrames;
  }

  // --- figure index -----------------------------------------------------------------------------

  _put(fig) {
    for (const j of this._journals) j.push(["put", fig]);
    const old = this._byId.get(fig.id);
    if (old && (old.frame !== fig.frame || old.track !== fig.track)) this._drop(old.id);
    let m = this._byFrame.get(fig.frame);
    if (!m) this._byFrame.set(fig.frame, (m = new Map()));
    const prev = m.get(fig.track);
    if (prev && prev.id !== fig.id) this._byId.delete(prev.id);
    m.set(fig.track, fig);
    this._byId.set(fig.id, fig);
    this._trackFramesDirty = true;
  }

  // Takes a figure from the server unless we already hold a newer version of it.
  _accept(fig) {
    if (!fig || fig.video !== undefined && fig.video !== this.video.id) return false;
    const have = this._byId.get(fig.id);
    if (have && have.version > fig.version) return false;
    this._put(fig);
    return true;
  }

  _drop(id) {
    for (const j of this._journals) j.push(["drop", id]);
    const fig = this._byId.get(id);
    if (!fig) return null;
    this._byId.delete(id);
    const m = this._byFrame.get(fig.frame);
    if (m && m.get(fig.track)?.id === id) {
      m.delete(fig.track);
      if (!m.size) this._byFrame.delete(fig.frame);
    }
    this._trackFramesDirty = true;
    return fig;
  }

  _dropTrackFigures(trackId) {
    for (const fig of [...this._byId.values()]) if (fig.track === trackId) this._drop(fig.id);
  }

  async _loadWindow(frame, force = false) {
    const n = this.frameCount;
    if (!n) return;
    const [a, b] = this._range;
    const near = frame - a < WINDOW_MARGIN && a > 0 || b - frame < WINDOW_MARGIN && b < n - 1;
    if (!force && frame >= a && frame <= b && !near) return;
    if (!force && this._loading && frame >= this._loading.first && frame <= this._loading.last) return;
    const first = Math.max(0, frame - WINDOW_BEFORE);
    const last = Math.min(n - 1, frame + WINDOW_AFTER);
    const token = ++this._loadToken;
    this._loading = { first, last, token };
    // Changes that arrive while the window loads (socket events, our own saves) are replayed over
    // the answer, which may predate them.
    const journal = [];
    this._journals.add(journal);
    try {
      const body = await api.get(`/api/videos/${this.video.id}/figures/?frames=${first}..${last}`);
      if (token !== this._loadToken) return;
      this._journals.delete(journal);
      this._byFrame = new Map();
      this._byId = new Map();
      for (const f of body.figures) this._put(f);
      for (const [op, v] of journal) {
        if (op === "drop") this._drop(v);
        else if (v.frame >= first && v.frame <= last) this._accept(v);
      }
      this._range = [first, last];
      this._trackFramesDirty = true;
      this._emit("figures", { frames: [first, last] });
    } catch (e) {
      if (token === this._loadToken) this.notify(`Figures could not be loaded: ${e.message}`, "error");
    } finally {
      this._journals.delete(journal);
      if (this._loading && this._loading.token === token) this._loading = null;
    }
  }

  // --- navigation -------------------------------------------------------------------------------

  seek(frame) {
    const n = this.frameCount;
    frame = Math.max(0, Math.min(n - 1, Math.round(Number(frame) || 0)));
    if (frame === this.frame) return frame;
    this.frame = frame;
    this._emit("frame", { frame });
    this._loadWindow(frame);
    this._sendPresence();
    return frame;
  }

  select(trackId) {
    trackId = trackId == null ? null : trackId;
    if (trackId === this.selectedTrackId) return;
    this.selectedTrackId = trackId;
    this._emit("selection", { trackId });
  }

  setCurrentLabel(labelId) {
    if (!this.labels.has(labelId)) return;
    this.currentLabelId = labelId;
    this._emit("view", {});
  }

  toggleHidden(trackId) {
    if (this.hidden.has(trackId)) this.hidden.delete(trackId); else this.hidden.add(trackId);
    this._emit("view", {});
  }

  toggleLocked(trackId) {
    if (this.locked.has(trackId)) this.locked.delete(trackId); else this.locked.add(trackId);
    this._emit("view", {});
  }

  // First and last frame where a track has a figure (asks the server: the track may extend beyond
  // the loaded window).
  async trackExtent(trackId) {
    const [first, last] = await Promise.all([
      api.get(`/api/figures/?track=${trackId}&ordering=frame&limit=1`),
      api.get(`/api/figures/?track=${trackId}&ordering=-frame&limit=1`),
    ]);
    const f = first.results?.[0], l = last.results?.[0];
    return f ? [f.frame, l.frame] : null;
  }

  // --- edits ------------------------------------------------------------------------------------

  _requireEdit() {
    if (!this.canEdit) {
      const e = new ApiError(403, { detail: "You can only view this project: ask a manager for the annotator role." });
      this.notify(e.message, "error");
      throw e;
    }
  }

  _who(userId) {
    if (userId != null && this.me && userId === this.me.id) return "You (in another tab)";
    return this.usernames.get(userId) || "Someone";
  }

  // A 409 (or a figure that vanished): show theirs, say so clearly, never overwrite.
  _conflict(err, trackId, frame) {
    const shape = SHAPE_NOUN[this.trackLabel(trackId)?.shape] || "figure";
    const current = err.body && err.body.current;
    if (current) {
      this._put(current);
      this._emit("figures", { frames: [current.frame, current.frame] });
      const who = current.job != null && current.source !== "manual" ? "A tracking job" : this._who(current.updated_by);
      this.notify(`${who} changed this ${shape} a moment ago — your change was not saved; showing theirs.`, "conflict");
    } else {
      const stale = this.storedFigure(trackId, frame);
      if (stale) this._drop(stale.id);
      this._emit("figures", { frames: [frame, frame] });
      this.notify(`Someone deleted this ${shape} a moment ago — your change was not saved.`, "conflict");
    }
  }

  async _fetchFigure(trackId, frame) {
    const page = await api.get(`/api/figures/?track=${trackId}&frame_min=${frame}&frame_max=${frame}`);
    return (page.results || page)[0] || null;
  }

  // Create or change the stored figure of (track, frame); no undo entry. `fields` may hold data,
  // is_keyframe, outside.
  async _write(trackId, frame, fields) {
    trackId = this.resolveTrack(trackId);
    const existing = this.storedFigure(trackId, frame);
    let fig;
    try {
      if (existing) {
        const body = { version: existing.version };
        for (const k of ["data", "is_keyframe", "outside"]) if (fields[k] !== undefined) body[k] = fields[k];
        fig = await api.patch(`/api/figures/${existing.id}/`, body);
      } else {
        let data = fields.data;
        if (!data) data = this.figure(trackId, frame)?.data;
        if (!data) throw new ApiError(400, { detail: "There is no shape on this frame to change." });
        fig = await api.post("/api/figures/", {
          track: trackId, frame, data,
          is_keyframe: fields.is_keyframe ?? true,
          outside: fields.outside ?? false,
        });
      }
    } catch (e) {
      if (e.status === 409 || e.status === 404 && existing) {
        this._conflict(e, trackId, frame);
      } else if (e.status === 400 && !existing && /already has a figure/.test(e.message)) {
        // Someone created it meanwhile: show theirs.
        const theirs = await this._fetchFigure(trackId, frame).catch(() => null);
        this._conflict(new ApiError(409, { current: theirs }), trackId, frame);
      }
      throw e;
    }
    this._put(fig);
    this._emit("figures", { frames: [frame, frame] });
    return fig;
  }

  async _deleteStored(trackId, frame) {
    trackId = this.resolveTrack(trackId);
    const existing = this.storedFigure(trackId, frame);
    if (!existing) return;
    try {
      await api.del(`/api/figures/${existing.id}/?version=${existing.version}`);
    } catch (e) {
      if (e.status === 409 || e.status === 404) this._conflict(e, trackId, frame);
      throw e;
    }
    this._drop(existing.id);
    this._emit("figures", { frames: [frame, frame] });
  }

  _snapshot(trackId, frame) {
    const f = this.storedFigure(trackId, frame);
    return f ? { exists: true, data: f.data, is_keyframe: f.is_keyframe, outside: f.outside } : { exists: false };
  }

  async _restore(trackId, frame, snap) {
    if (snap.exists) await this._write(trackId, frame, { data: snap.data, is_keyframe: snap.is_keyframe, outside: snap.outside });
    else await this._deleteStored(trackId, frame);
  }

  async _guard(fn) {
    try {
      return await this.undoStack.during(fn());
    } catch (e) {
      if (e.status !== 409 && !e._notified) this.notify(e.message, "error");
      e._notified = true;
      throw e;
    }
  }

  // A new track of `label` with its first figure on `frame` (a manual keyframe).
  async createTrack({ label, frame = this.frame, data, undo = true }) {
    this._requireEdit();
    return this._guard(async () => {
      const ref = { id: null };
      const make = async (number) => {
        const track = await api.post("/api/tracks/", { video: this.video.id, label, ...(number ? { number } : {}) });
        this.tracks.set(track.id, track);
        try {
          await this._write(track.id, frame, { data, is_keyframe: true, outside: false });
        } catch (e) {
          await api.del(`/api/tracks/${track.id}/`).catch(() => {});
          this.tracks.delete(track.id);
          this._emit("tracks", {});
          throw e;
        }
        if (ref.id != null) this._remap.set(ref.id, track.id);
        ref.id = track.id;
        this._emit("tracks", {});
        return track;
      };
      const track = await make();
      const number = track.number;
      if (undo) {
        this.undoStack.push({
          label: `create #${number}`,
          undo: async () => { await this._deleteTrackRaw(this.resolveTrack(ref.id)); },
          redo: async () => { await make(number); },
        });
      }
      this.select(track.id);
      return track;
    });
  }

  // Set the figure of (track, frame): data (null keeps the geometry), keyframe and outside flags.
  // Editing an interpolated frame stores a manual keyframe there.
  async updateFigure(trackId, frame, data, { keyframe, outside, undo = true } = {}) {
    this._requireEdit();
    return this._guard(async () => {
      trackId = this.resolveTrack(trackId);
      const before = this._snapshot(trackId, frame);
      const fields = { data: data || undefined, outside };
      if (keyframe !== undefined) fields.is_keyframe = keyframe;
      else if (data) fields.is_keyframe = true; // a person's edit is a keyframe
      const fig = await this._write(trackId, frame, fields);
      const after = { exists: true, data: fig.data, is_keyframe: fig.is_keyframe, outside: fig.outside };
      if (undo) {
        const number = this.tracks.get(trackId)?.number;
        this.undoStack.push({
          label: `edit #${number} on frame ${frame}`,
          undo: () => this._restore(trackId, frame, before),
          redo: () => this._restore(trackId, frame, after),
        });
      }
      return fig;
    });
  }

  async deleteFigure(trackId, frame, { undo = true } = {}) {
    this._requireEdit();
    return this._guard(async () => {
      trackId = this.resolveTrack(trackId);
      const before = this._snapshot(trackId, frame);
      if (!before.exists) return;
      await this._deleteStored(trackId, frame);
      if (undo) {
        this.undoStack.push({
          label: `delete #${this.tracks.get(trackId)?.number} on frame ${frame}`,
          undo: () => this._restore(trackId, frame, before),
          redo: () => this._deleteStored(trackId, frame),
        });
      }
    });
  }

  async _deleteTrackRaw(trackId) {
    await api.del(`/api/tracks/${trackId}/`);
    this.tracks.delete(trackId);
    this.hidden.delete(trackId);
    this.locked.delete(trackId);
    this._dropTrackFigures(trackId);
    if (this.selectedTrackId === trackId) this.select(null);
    this._emit("tracks", {});
    this._emit("figures", { frames: this.loadedRange() });
  }

  // Deletes a track with all its figures; undo re-creates both (machine figures come back as manual
  // ones: clients may not write machine sources).
  async deleteTrack(trackId, { undo = true } = {}) {
    this._requireEdit();
    return this._guard(async () => {
      trackId = this.resolveTrack(trackId);
      const track = this.tracks.get(trackId);
      const figures = undo ? await api.all(`/api/figures/?track=${trackId}&limit=1000`) : [];
      await this._deleteTrackRaw(trackId);
      if (!undo || !track) return;
      const ref = { id: trackId };
      this.undoStack.push({
        label: `delete track #${track.number}`,
        undo: async () => {
          const again = await api.post("/api/tracks/", {
            video: this.video.id, label: track.label, number: track.number, attributes: track.attributes || {},
          });
          this.tracks.set(again.id, again);
          this._remap.set(ref.id, again.id);
          ref.id = again.id;
          if (figures.length) {
            const res = await api.post(`/api/videos/${this.video.id}/figures/bulk/`, {
              figures: figures.map((f) => ({
                track: again.id, frame: f.frame, data: f.data, is_keyframe: f.is_keyframe, outside: f.outside,
                confidence: f.confidence, source: CLIENT_SOURCES.has(f.source) ? f.source : "manual",
              })),
            });
            for (const f of res.figures) if (f.frame >= this._range[0] && f.frame <= this._range[1]) this._put(f);
          }
          this._emit("tracks", {});
          this._emit("figures", { frames: this.loadedRange() });
        },
        redo: async () => { await this._deleteTrackRaw(this.resolveTrack(ref.id)); },
      });
    });
  }

  async _patchTrack(trackId, body) {
    const track = this.tracks.get(trackId);
    const t = await api.patch(`/api/tracks/${trackId}/`, { ...body, version: track?.version });
    this.tracks.set(t.id, t);
    this._emit("tracks", {});
    this._emit("figures", { frames: this.loadedRange() });
    return t;
  }

  async setTrackLabel(trackId, labelId, { undo = true } = {}) {
    this._requireEdit();
    return this._guard(async () => {
      trackId = this.resolveTrack(trackId);
      const before = this.tracks.get(trackId)?.label;
      if (before === labelId) return this.tracks.get(trackId);
      const t = await this._patchTrack(trackId, { label: labelId });
      if (undo) {
        this.undoStack.push({
          label: `class of #${t.number}`,
          undo: () => this._patchTrack(this.resolveTrack(trackId), { label: before }),
          redo: () => this._patchTrack(this.resolveTrack(trackId), { label: labelId }),
        });
      }
      return t;
    });
  }

  // Toggles of the figure on the current frame (K / O).
  async toggleKeyframe(trackId, frame = this.frame) {
    const f = this.figure(trackId, frame);
    if (!f) return null;
    return this.updateFigure(trackId, frame, f.interpolated ? f.data : null, { keyframe: f.interpolated ? true : !f.is_keyframe });
  }

  async toggleOutside(trackId, frame = this.frame) {
    const f = this.figure(trackId, frame);
    if (!f) return null;
    return this.updateFigure(trackId, frame, f.interpolated ? f.data : null, { outside: !f.outside, keyframe: true });
  }

  async undo() {
    try { return await this.undoStack.undo(); } catch (e) { if (!e._notified) this.notify(`Undo failed: ${e.message}`, e.status === 409 ? "conflict" : "error"); return null; }
  }

  async redo() {
    try { return await this.undoStack.redo(); } catch (e) { if (!e._notified) this.notify(`Redo failed: ${e.message}`, e.status === 409 ? "conflict" : "error"); return null; }
  }

  // For panels whose edits happen on the server (merge, split, ...): one more step on the same stack.
  pushUndo(entry) { this.undoStack.push(entry); }

  // --- jobs -------------------------------------------------------------------------------------

  async startJob(path, body = {}) {
    this._requireEdit();
    return this._guard(async () => {
      const job = await api.post(path, body);
      this.jobs.set(job.id, job);
      this._emit("job", { job, type: "job.queued" });
      return job;
    });
  }

  async cancelJob(jobId) {
    return this._guard(async () => {
      const job = await api.post(`/api/jobs/${jobId}/cancel/`, {});
      if (job && job.id) {
        this.jobs.set(job.id, job);
        this._emit("job", { job, type: "job.cancel_requested" });
      }
      return job;
    });
  }

  async reloadTracks() {
    const tracks = await api.all(`/api/tracks/?video=${this.video.id}&limit=1000`);
    this.tracks = new Map(tracks.map((t) => [t.id, t]));
    this._emit("tracks", {});
  }

  async reloadRange(first, last) {
    // The window is what we hold; reloading it covers any sub-range.
    await this._loadWindow(this.frame, true);
  }

  notify(message, level = "info") {
    this._emit("notice", { message, level });
  }

  // --- live -------------------------------------------------------------------------------------

  _connect(path) {
    this.socket = new LiveSocket(path);
    this.socket.addEventListener("message", (e) => this._onSocket(e.detail));
    this.socket.addEventListener("state", (e) => {
      this._emit("connection", e.detail);
      // Events sent before this connection (while loading, or while disconnected) were missed:
      // reload what we show once the socket is up.
      if (e.detail.connected) { this.reloadTracks().catch(() => {}); this._loadWindow(this.frame, true); }
      if (e.detail.connected) { this._wasConnected = true; this.socket.send({ type: "presence", frame: this.frame }); }
    });
    this.socket.connect();
  }

  _sendPresence() {
    if (!this.socket) return;
    const now = performance.now();
    const wait = PRESENCE_EVERY_MS - (now - this._lastPresenceSent);
    if (wait <= 0) {
      this._lastPresenceSent = now;
      this.socket.send({ type: "presence", frame: this.frame });
    } else if (!this._presenceTimer) {
      this._presenceTimer = setTimeout(() => {
        this._presenceTimer = null;
        this._lastPresenceSent = performance.now();
        this.socket.send({ type: "presence", frame: this.frame });
      }, wait);
    }
  }

  _inWindow(frame) { return frame >= this._range[0] && frame <= this._range[1]; }

  _onSocket(msg) {
    const type = msg.type;
    switch (type) {
      case "hello":
        this.presence = msg.presence || [];
        for (const p of this.presence) this.usernames.set(p.user, p.username);
        this._emit("presence", { users: this.presence });
        break;
      case "presence":
        this.presence = msg.users || [];
        for (const p of this.presence) this.usernames.set(p.user, p.username);
        this._emit("presence", { users: this.presence });
        break;
      case "figures.batch": {
        let changed = false;
        for (const t of msg.tracks || []) { this.tracks.set(t.id, t); changed = true; }
        if (changed) this._emit("tracks", {});
        for (const f of msg.figures || []) if (this._inWindow(f.frame)) this._accept(f);
        if (msg.frames) this._emit("figures", { frames: msg.frames });
        break;
      }
      case "figures.removed": {
        let lo = Infinity, hi = -Infinity;
        for (const id of msg.ids || []) {
          const f = this._drop(id);
          if (f) { lo = Math.min(lo, f.frame); hi = Math.max(hi, f.frame); }
        }
        if (hi >= lo) this._emit("figures", { frames: [lo, hi] });
        break;
      }
      case "figure.created":
      case "figure.updated": {
        const f = msg.figure;
        if (this._inWindow(f.frame) && this._accept(f)) this._emit("figures", { frames: [f.frame, f.frame] });
        break;
      }
      case "figure.deleted": {
        const f = this._drop(msg.figure.id);
        if (f) this._emit("figures", { frames: [f.frame, f.frame] });
        break;
      }
      case "track.created":
      case "track.updated": {
        const have = this.tracks.get(msg.track.id);
        if (!have || (have.version ?? 0) <= (msg.track.version ?? 0)) this.tracks.set(msg.track.id, msg.track);
        this._emit("tracks", {});
        this._emit("figures", { frames: this.loadedRange() });
        break;
      }
      case "track.deleted": {
        const id = msg.track.id;
        if (this.tracks.delete(id)) {
          this._dropTrackFigures(id);
          if (this.selectedTrackId === id) this.select(null);
          this._emit("tracks", {});
          this._emit("figures", { frames: this.loadedRange() });
        }
        break;
      }
      default:
        if (type && type.startsWith("job.") && msg.job) {
          const prev = this.jobs.get(msg.job.id) || {};
          this.jobs.set(msg.job.id, { ...prev, ...msg.job });
          this._emit("job", { job: this.jobs.get(msg.job.id), type });
        }
    }
    this._emit("socket", { event: msg });
  }

  _emit(type, detail) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }

  destroy() {
    if (this.socket) this.socket.close();
  }
}
