// Undo/redo of edits that were already applied. Each entry knows how to reverse itself and do
// itself again (both async: they talk to the server through the Store).

export class UndoStack extends EventTarget {
  constructor(limit = 200) {
    super();
    this.limit = limit;
    this.done = [];
    this.undone = [];
    this.busy = false;
  }

  push(entry) {
    this.done.push(entry);
    if (this.done.length > this.limit) this.done.shift();
    this.undone = [];
    this._changed();
  }

  get canUndo() { return this.done.length > 0; }
  get canRedo() { return this.undone.length > 0; }

  // Presses that come while a step is still talking to the server wait their turn (quick repeated
  // Ctrl+Z must not be lost).
  undo() { return this._queue(() => this._step(this.done, this.undone, "undo")); }
  redo() { return this._queue(() => this._step(this.undone, this.done, "redo")); }

  // Edits still talking to the server: their entries are pushed when the server has answered, so an
  // undo pressed meanwhile waits for them and undoes the newest edit, not the one before it.
  during(promise) {
    this.inflight = this.inflight || new Set();
    this.inflight.add(promise);
    promise.catch(() => {}).finally(() => this.inflight.delete(promise));
    return promise;
  }

  _queue(fn) {
    this.pending = (this.pending || 0) + 1;
    const saving = () => Promise.allSettled([...(this.inflight || [])]);
    const run = (this._chain || Promise.resolve()).then(saving).then(fn).finally(() => { this.pending--; });
    this._chain = run.catch(() => {});
    return run;
  }

  // Runs one entry; an entry that fails (e.g. a conflict) is dropped rather than retried forever.
  async _step(from, to, how) {
    if (!from.length) return null;
    const entry = from.pop();
    this.busy = true;
    this._changed();
    try {
      await entry[how]();
      to.push(entry);
      return entry;
    } finally {
      this.busy = false;
      this._changed();
    }
  }

  clear() {
    this.done = [];
    this.undone = [];
    this._changed();
  }

  _changed() {
    const last = this.done[this.done.length - 1];
    const next = this.undone[this.undone.length - 1];
    this.dispatchEvent(new CustomEvent("change", {
      detail: { canUndo: this.canUndo, canRedo: this.canRedo, undoLabel: last?.label, redoLabel: next?.label },
    }));
  }
}
