// The one way pages talk to the REST API: same-origin session cookie, CSRF header on writes,
// JSON in and out, and an ApiError carrying the server's {"detail": "..."} sentence.

export class ApiError extends Error {
  constructor(status, body) {
    super((body && (body.detail || body.message)) || `Request failed (${status})`);
    this.status = status;
    this.body = body;
  }
}

function csrfToken() {
  const m = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
  return m ? decodeURIComponent(m[1]) : "";
}

export async function request(method, path, { json, form, signal, raw = false } = {}) {
  const headers = { Accept: "application/json" };
  if (method !== "GET" && method !== "HEAD") headers["X-CSRFToken"] = csrfToken();
  let body;
  if (json !== undefined) {
    headers["Content-Type"] = "application/json";
    body = JSON.stringify(json);
  } else if (form !== undefined) {
    body = form; // FormData: the browser sets the multipart boundary
  }
  const response = await fetch(path, { method, headers, body, signal, credentials: "same-origin" });
  if (raw) {
    if (!response.ok) throw new ApiError(response.status, await response.json().catch(() => ({ detail: `The server answered ${response.status} ${response.statusText}.` })));
    return response;
  }
  const text = await response.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    // Not JSON: an HTML error page (a missing route, a proxy's 502). Keep the status, say it plainly.
    if (!response.ok) throw new ApiError(response.status, { detail: `The server answered ${response.status} ${response.statusText}.` });
    throw new ApiError(response.status, { detail: "The server sent something that is not JSON." });
  }
  if (!response.ok) throw new ApiError(response.status, data);
  return data;
}

export const api = {
  get: (path, opts) => request("GET", path, opts),
  post: (path, json, opts = {}) => request("POST", path, { ...opts, json }),
  patch: (path, json, opts = {}) => request("PATCH", path, { ...opts, json }),
  put: (path, json, opts = {}) => request("PUT", path, { ...opts, json }),
  del: (path, json, opts = {}) => request("DELETE", path, { ...opts, json }),
  upload: (path, form, opts = {}) => request("POST", path, { ...opts, form }),
  // Every page of a paginated list ({count, next, results}) or a plain list.
  async all(path) {
    const out = [];
    let url = path;
    while (url) {
      const page = await request("GET", url);
      if (Array.isArray(page)) return page;
      out.push(...page.results);
      url = page.next;
    }
    return out;
  },
};

// Upload with progress (fetch has no upload progress): resolves with the JSON body.
export function uploadWithProgress(path, form, onProgress) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("POST", path);
    xhr.setRequestHeader("X-CSRFToken", csrfToken());
    xhr.setRequestHeader("Accept", "application/json");
    xhr.upload.onprogress = (e) => e.lengthComputable && onProgress && onProgress(e.loaded / e.total);
    xhr.onload = () => {
      let data = null;
      try { data = JSON.parse(xhr.responseText); } catch { /* not JSON */ }
      if (xhr.status >= 200 && xhr.status < 300) resolve(data);
      else reject(new ApiError(xhr.status, data));
    };
    xhr.onerror = () => reject(new ApiError(0, { detail: "The upload was interrupted (network error)." }));
    xhr.send(form);
  });
}

// JSON "boot" object a Django template put into <script id="boot" type="application/json">.
export function boot() {
  const el = document.getElementById("boot");
  return el ? JSON.parse(el.textContent) : {};
}
