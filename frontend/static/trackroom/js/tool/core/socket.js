// The video's WebSocket: JSON messages in, presence/ping out, reconnecting with backoff. Closes
// with 4403/4404 (not signed in / no access) are final: retrying would not help.

export class LiveSocket extends EventTarget {
  constructor(path) {
    super();
    this.path = path;
    this.ws = null;
    this.retry = 0;
    this.closed = false;
    this.connected = false;
    this._queue = [];
  }

  url() {
    const proto = location.protocol === "https:" ? "wss:" : "ws:";
    return `${proto}//${location.host}${this.path}`;
  }

  connect() {
    if (this.closed) return;
    const ws = new WebSocket(this.url());
    this.ws = ws;
    ws.onopen = () => {
      this.retry = 0;
      this.connected = true;
      this.dispatchEvent(new CustomEvent("state", { detail: { connected: true } }));
      for (const m of this._queue.splice(0)) ws.send(JSON.stringify(m));
    };
    ws.onmessage = (e) => {
      let msg;
      try { msg = JSON.parse(e.data); } catch { return; }
      this.dispatchEvent(new CustomEvent("message", { detail: msg }));
    };
    ws.onclose = (e) => {
      this.connected = false;
      const final = this.closed || e.code === 4403 || e.code === 4404;
      this.dispatchEvent(new CustomEvent("state", { detail: { connected: false, code: e.code, final } }));
      if (final) return;
      const delay = Math.min(10000, 500 * 2 ** this.retry++);
      setTimeout(() => this.connect(), delay);
    };
  }

  // Sends now, or when the socket is open again (only the latest message of each type is kept).
  send(msg) {
    if (this.ws && this.ws.readyState === WebSocket.OPEN) {
      this.ws.send(JSON.stringify(msg));
    } else {
      this._queue = this._queue.filter((m) => m.type !== msg.type);
      this._queue.push(msg);
    }
  }

  close() {
    this.closed = true;
    if (this.ws) this.ws.close();
  }
}
