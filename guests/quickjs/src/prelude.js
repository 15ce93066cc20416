// Evaluated once inside the snapshot. Defines `console` over the single
// native function the guest exposes, then hides that function.
(() => {
  const write = globalThis.__stockade_write;
  delete globalThis.__stockade_write;

  const MAX_DEPTH = 3;

  const inspect = (value, depth, seen) => {
    switch (typeof value) {
      case "string":
        return depth === 0 ? value : JSON.stringify(value);
      case "bigint":
        return `${value}n`;
      case "symbol":
        return value.toString();
      case "function":
        return `[Function: ${value.name || "(anonymous)"}]`;
      case "undefined":
        return "undefined";
      case "object":
        break;
      default:
        return String(value);
    }
    if (value === null) return "null";
    if (value instanceof Error) {
      return value.stack ? `${value.name}: ${value.message}\n${value.stack}`.trimEnd()
                         : `${value.name}: ${value.message}`;
    }
    if (seen.includes(value)) return "[Circular]";
    if (depth >= MAX_DEPTH) return Array.isArray(value) ? "[Array]" : "[Object]";
    const inner = [...seen, value];
    if (Array.isArray(value)) {
      const items = value.map((v) => inspect(v, depth + 1, inner));
      return items.length ? `[ ${items.join(", ")} ]` : "[]";
    }
    if (value instanceof Map) {
      const items = [...value].map(([k, v]) =>
        `${inspect(k, depth + 1, inner)} => ${inspect(v, depth + 1, inner)}`);
      return `Map(${value.size}) { ${items.join(", ")} }`;
    }
    if (value instanceof Set) {
      const items = [...value].map((v) => inspect(v, depth + 1, inner));
      return `Set(${value.size}) { ${items.join(", ")} }`;
    }
    if (value instanceof Date) return value.toISOString();
    const entries = Object.keys(value).map((k) => {
      const key = /^[A-Za-z_$][\w$]*$/.test(k) ? k : JSON.stringify(k);
      return `${key}: ${inspect(value[k], depth + 1, inner)}`;
    });
    return entries.length ? `{ ${entries.join(", ")} }` : "{}";
  };

  // Lone surrogates cannot cross into UTF-8; print U+FFFD as other engines do.
  const wellFormed = (s) => (typeof s.toWellFormed === "function" ? s.toWellFormed() : s);
  const format = (args) => wellFormed(args.map((a) => inspect(a, 0, [])).join(" ")) + "\n";
  const out = (...args) => write(1, format(args));
  const err = (...args) => write(2, format(args));

  globalThis.console = Object.freeze({
    log: out, info: out, debug: out, trace: out,
    error: err, warn: err,
  });
})();

// `fetch`, `Headers`, `Request` and `Response`, over the door's `http`
// operation: the host makes the request through the run's egress engine,
// under the policy's network rules, budgets and secrets. The guest has no
// socket; a refusal rejects with a TypeError that says why, as a failed
// fetch does elsewhere.
function installFetch(request) {
  const utf8 = (text) => {
    const bytes = [];
    for (const ch of String(text)) {
      let c = ch.codePointAt(0);
      if (c >= 0xd800 && c <= 0xdfff) c = 0xfffd;
      if (c < 0x80) bytes.push(c);
      else if (c < 0x800) bytes.push(0xc0 | (c >> 6), 0x80 | (c & 63));
      else if (c < 0x10000) bytes.push(0xe0 | (c >> 12), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63));
      else bytes.push(0xf0 | (c >> 18), 0x80 | ((c >> 12) & 63), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63));
    }
    return new Uint8Array(bytes);
  };
  const fromUtf8 = (bytes) => {
    let out = "";
    for (let i = 0; i < bytes.length;) {
      const b = bytes[i];
      const need = b < 0x80 ? 0 : b >= 0xf0 && b < 0xf8 ? 3 : b >= 0xe0 ? 2 : b >= 0xc2 && b < 0xe0 ? 1 : -1;
      let c = need === 0 ? b : need === 1 ? b & 31 : need === 2 ? b & 15 : b & 7;
      let ok = need >= 0 && i + need < bytes.length + (need === 0 ? 1 : 0);
      for (let k = 1; ok && k <= need; k++) {
        const next = bytes[i + k];
        if (next === undefined || (next & 0xc0) !== 0x80) ok = false;
        else c = (c << 6) | (next & 63);
      }
      if (!ok || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff)) { out += "\ufffd"; i += 1; continue; }
      out += String.fromCodePoint(c);
      i += need + 1;
    }
    return out;
  };
  const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  const toBase64 = (bytes) => {
    let out = "";
    for (let i = 0; i < bytes.length; i += 3) {
      const n = (bytes[i] << 16) | ((bytes[i + 1] || 0) << 8) | (bytes[i + 2] || 0);
      out += ALPHABET[n >> 18] + ALPHABET[(n >> 12) & 63];
      out += i + 1 < bytes.length ? ALPHABET[(n >> 6) & 63] : "=";
      out += i + 2 < bytes.length ? ALPHABET[n & 63] : "=";
    }
    return out;
  };
  const fromBase64 = (text) => {
    const clean = text.replace(/=+$/, "");
    const bytes = new Uint8Array(Math.floor((clean.length * 3) / 4));
    let bits = 0, value = 0, at = 0;
    for (const ch of clean) {
      value = (value << 6) | ALPHABET.indexOf(ch);
      bits += 6;
      if (bits >= 8) { bits -= 8; bytes[at++] = (value >> bits) & 255; }
    }
    return bytes;
  };
  const bodyBytes = (body) => {
    if (body === undefined || body === null) return new Uint8Array(0);
    if (typeof body === "string") return utf8(body);
    if (body instanceof ArrayBuffer) return new Uint8Array(body);
    if (ArrayBuffer.isView(body)) return new Uint8Array(body.buffer, body.byteOffset, body.byteLength);
    return utf8(String(body));
  };

  class Headers {
    #list = [];
    constructor(init) {
      if (init === undefined || init === null) return;
      const pairs = init instanceof Headers ? init.entries()
        : Array.isArray(init) || typeof init[Symbol.iterator] === "function" ? init
        : Object.entries(init);
      for (const [name, value] of pairs) this.append(name, value);
    }
    #check(name) {
      const lower = String(name).toLowerCase();
      if (!/^[!#$%&'*+.^_`|~0-9a-z-]+$/.test(lower)) throw new TypeError(`Invalid header name: ${name}`);
      return lower;
    }
    append(name, value) { this.#list.push([this.#check(name), String(value).trim()]); }
    set(name, value) { this.delete(name); this.append(name, value); }
    delete(name) { const lower = this.#check(name); this.#list = this.#list.filter(([n]) => n !== lower); }
    has(name) { const lower = this.#check(name); return this.#list.some(([n]) => n === lower); }
    get(name) {
      const lower = this.#check(name);
      const values = this.#list.filter(([n]) => n === lower).map(([, v]) => v);
      return values.length ? values.join(", ") : null;
    }
    forEach(fn, self) { for (const [n, v] of this.entries()) fn.call(self, v, n, this); }
    *entries() {
      const names = [...new Set(this.#list.map(([n]) => n))].sort();
      for (const n of names) yield [n, this.get(n)];
    }
    *keys() { for (const [n] of this.entries()) yield n; }
    *values() { for (const [, v] of this.entries()) yield v; }
    [Symbol.iterator]() { return this.entries(); }
    get [Symbol.toStringTag]() { return "Headers"; }
    // Every value of every name, in the order set: what goes on the wire.
    __pairs() { return this.#list.map(([n, v]) => [n, v]); }
  }

  class Body {
    #bytes; #used = false;
    constructor(bytes) { this.#bytes = bytes; }
    get bodyUsed() { return this.#used; }
    #take() {
      if (this.#used) return Promise.reject(new TypeError("Body has already been consumed"));
      this.#used = true;
      return Promise.resolve(this.#bytes);
    }
    arrayBuffer() { return this.#take().then((b) => b.slice().buffer); }
    bytes() { return this.#take().then((b) => b.slice()); }
    text() { return this.#take().then(fromUtf8); }
    json() { return this.text().then((t) => JSON.parse(t)); }
    __bytes() { return this.#bytes; }
  }

  class Request extends Body {
    constructor(input, init = {}) {
      const from = input instanceof Request ? input : null;
      const body = init.body !== undefined ? bodyBytes(init.body) : from ? from.__bytes() : new Uint8Array(0);
      super(body);
      this.url = from ? from.url : String(input);
      this.method = String(init.method || (from ? from.method : "GET")).toUpperCase();
      this.headers = new Headers(init.headers || (from ? from.headers : undefined));
      if (body.length && (this.method === "GET" || this.method === "HEAD")) {
        throw new TypeError("Request with GET/HEAD method cannot have body.");
      }
      if (typeof init.body === "string" && !this.headers.has("content-type")) {
        this.headers.set("content-type", "text/plain;charset=UTF-8");
      }
    }
    clone() { return new Request(this); }
  }

  class Response extends Body {
    constructor(body, init = {}) {
      super(bodyBytes(body));
      this.status = init.status === undefined ? 200 : init.status;
      this.statusText = init.statusText || "";
      this.headers = new Headers(init.headers);
      this.ok = this.status >= 200 && this.status < 300;
      this.redirected = false;
      this.type = "basic";
      this.url = init.url || "";
    }
    clone() { return new Response(this.__bytes().slice(), this); }
    static json(value, init = {}) {
      const headers = new Headers(init.headers);
      if (!headers.has("content-type")) headers.set("content-type", "application/json");
      return new Response(JSON.stringify(value), { ...init, headers });
    }
  }

  // Redirects are followed here, each hop vetted by the host as a request
  // of its own, up to the 20 that browsers allow.
  const fetch = async (input, init) => {
    let req = new Request(input, init);
    const redirect = (init && init.redirect) || "follow";
    for (let hop = 0; ; hop++) {
      let answer;
      try {
        answer = request({
          op: "http",
          request: { method: req.method, url: req.url, headers: req.headers.__pairs(), body: toBase64(req.__bytes()) },
        });
      } catch (e) {
        // No door host at all: the run has neither tools nor a network.
        if (e.kind !== "unavailable") throw e;
        answer = { ok: false, error: { kind: "network", message: "this run has no network: the policy's network.allow is empty" } };
      }
      if (!answer.ok) {
        const error = new TypeError(`fetch failed: ${answer.error.message}`);
        error.kind = answer.error.kind;
        throw error;
      }
      const { status, headers, body } = answer.response;
      const response = new Response(fromBase64(body), { status, headers, url: req.url });
      response.redirected = hop > 0;
      const location = response.headers.get("location");
      if (redirect !== "follow" || ![301, 302, 303, 307, 308].includes(status) || !location) return response;
      if (hop >= 20) throw new TypeError("fetch failed: too many redirects");
      const next = resolveUrl(location, req.url);
      const keep = status === 307 || status === 308;
      const carried = new Headers(req.headers);
      // The next hop names its own host; a Host kept from this one would
      // be refused as a mismatch (or, worse, agree by accident).
      carried.delete("host");
      // As browsers do: credentials stay with the origin they were meant for.
      if (originOf(next) !== originOf(req.url)) ["authorization", "cookie", "proxy-authorization"].forEach((name) => carried.delete(name));
      const method = keep ? req.method : req.method === "HEAD" ? "HEAD" : "GET";
      // A request that loses its body loses the headers that describe it.
      if (method !== req.method) ["content-type", "content-length", "content-encoding", "content-language", "content-location"].forEach((name) => carried.delete(name));
      req = new Request(next, {
        method,
        headers: carried,
        body: keep && req.method !== "GET" && req.method !== "HEAD" ? req.__bytes() : undefined,
      });
    }
  };
  const originOf = (url) => (url.match(/^[a-z][a-z0-9+.-]*:\/\/[^/?#]*/i) || [""])[0].toLowerCase();
  // A redirect's Location against the URL it came from: absolute, or a path.
  const resolveUrl = (location, base) => {
    if (/^[a-z][a-z0-9+.-]*:/i.test(location)) return location;
    const origin = base.match(/^[a-z][a-z0-9+.-]*:\/\/[^/?#]*/i)[0];
    if (location.startsWith("//")) return base.split(":")[0] + ":" + location;
    if (location.startsWith("/")) return origin + location;
    const path = base.slice(origin.length).split(/[?#]/)[0];
    return origin + path.slice(0, path.lastIndexOf("/") + 1) + location;
  };

  globalThis.Headers = Headers;
  globalThis.Request = Request;
  globalThis.Response = Response;
  globalThis.fetch = fetch;
}

// Host tools. The snapshot holds only the machinery; which tools exist is
// asked of the host at the start of every run (`__stockade_install_tools`,
// which the runner takes out of the globals before any code runs), so
// nothing about one run's tools is baked into the snapshot.
(() => {
  const host = globalThis.__stockade_host;
  delete globalThis.__stockade_host;
  let nextId = 1;

  class ToolDenied extends Error {
    constructor(message, kind) {
      super(message);
      this.name = "ToolDenied";
      this.kind = kind;
    }
  }
  class ToolError extends Error {
    constructor(message, kind) {
      super(message);
      this.name = "ToolError";
      this.kind = kind;
    }
  }

  const request = (frame) => {
    const answer = host(JSON.stringify({ v: 1, id: nextId++, ...frame }));
    if (answer === undefined || answer === null) {
      throw new ToolError("this sandbox has no host tools", "unavailable");
    }
    return JSON.parse(answer);
  };

  // Everything the host refused before the tool ran is a ToolDenied; a
  // failure of the tool itself (or of the protocol) is a ToolError.
  const call = (name, args) => {
    const answer = request({ op: "call", tool: name, args: args === undefined ? {} : args });
    if (answer.ok) return answer.value;
    const { kind, message } = answer.error;
    if (kind === "tool_error" || kind === "protocol") throw new ToolError(message, kind);
    throw new ToolDenied(message, kind);
  };

  globalThis.ToolDenied = ToolDenied;
  globalThis.ToolError = ToolError;
  installFetch(request);
  globalThis.__stockade_install_tools = () => {
    const tools = {};
    const listing = host(JSON.stringify({ v: 1, id: 0, op: "list" }));
    if (listing) {
      for (const d of JSON.parse(listing).tools) {
        const fn = async (args) => call(d.name, args);
        Object.defineProperty(fn, "name", { value: d.name });
        fn.description = d.description;
        fn.schema = d.inputSchema;
        tools[d.name] = Object.freeze(fn);
        if (!(d.name in globalThis)) globalThis[d.name] = tools[d.name];
      }
    }
    globalThis.tools = Object.freeze(tools);
  };
})();

// Files: `fs`, with the synchronous names of Node's module (and the same
// under `fs.promises`), over what the policy's `[files]` grants mount.
// Failures throw an Error with Node's `code` (ENOENT, EACCES, ...).
(() => {
  const native = globalThis.__stockade_fs;
  delete globalThis.__stockade_fs;

  const call = (op, path, data) => {
    if (typeof path !== "string") throw new TypeError("fs: a path must be a string");
    const result = data === undefined ? native(op, path) : native(op, path, data);
    if (result !== null && typeof result === "object" && result.__error === true) {
      const error = new Error(result.message);
      error.code = result.code;
      error.path = path;
      error.syscall = op;
      throw error;
    }
    return result;
  };
  const text = (data) => (typeof data === "string" ? data : String(data));
  const stat = (path) => {
    const s = call("stat", path);
    return { size: s.size, mtimeMs: s.mtimeMs, isFile: () => s.file, isDirectory: () => s.dir };
  };
  const sync = {
    readFileSync: (path) => call("read", path),
    writeFileSync: (path, data) => { call("write", path, text(data)); },
    appendFileSync: (path, data) => { call("append", path, text(data)); },
    existsSync: (path) => call("exists", path),
    readdirSync: (path) => call("list", path),
    statSync: stat,
    mkdirSync: (path, options) => { call(options && options.recursive ? "mkdirp" : "mkdir", path); },
    unlinkSync: (path) => { call("unlink", path); },
    rmdirSync: (path) => { call("rmdir", path); },
    renameSync: (from, to) => { call("rename", from, text(to)); },
    linkSync: (existing, link) => { call("link", existing, text(link)); },
  };
  const promises = {};
  for (const [name, fn] of Object.entries(sync)) {
    if (name === "existsSync") continue;
    promises[name.slice(0, -"Sync".length)] = async (...args) => fn(...args);
  }
  globalThis.fs = Object.freeze({ ...sync, promises: Object.freeze(promises) });
})();
