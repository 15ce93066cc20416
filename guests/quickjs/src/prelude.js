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

// Timers: `setTimeout`, `setInterval`, `clearTimeout`, `clearInterval` and
// `queueMicrotask`, with node's semantics (a delay under 1 ms or past 2^31-1
// is 1 ms; timers due together run in the order they were set; microtasks
// run between timers). The guest's event loop (`settle` in lib.rs) asks
// `wait` how long until the next timer is due, sleeps that long on the
// host's clock (which never sleeps past the run's wall time), and calls
// `fire` to run it. A run ends once its top level has settled and no
// timer that keeps it alive (not `unref`ed) is left.
(() => {
  const MAX_DELAY = 2147483647;
  const timers = new Map();
  // A binary heap of [due, order, timer]; an entry whose timer was cleared
  // or rescheduled since is skipped when it reaches the top.
  const heap = [];
  const before = (a, b) => a[0] < b[0] || (a[0] === b[0] && a[1] < b[1]);
  const push = (entry) => {
    heap.push(entry);
    for (let i = heap.length - 1; i > 0; ) {
      const parent = (i - 1) >> 1;
      if (!before(heap[i], heap[parent])) break;
      [heap[i], heap[parent]] = [heap[parent], heap[i]];
      i = parent;
    }
  };
  const pop = () => {
    const top = heap[0];
    const last = heap.pop();
    if (heap.length) {
      heap[0] = last;
      for (let i = 0; ; ) {
        const [l, r] = [2 * i + 1, 2 * i + 2];
        let least = i;
        if (l < heap.length && before(heap[l], heap[least])) least = l;
        if (r < heap.length && before(heap[r], heap[least])) least = r;
        if (least === i) break;
        [heap[i], heap[least]] = [heap[least], heap[i]];
        i = least;
      }
    }
    return top;
  };
  const live = (entry) => timers.get(entry[2].id) === entry[2] && entry[2].entry === entry;
  const head = () => {
    while (heap.length && !live(heap[0])) pop();
    return heap[0];
  };
  let lastId = 0;
  let order = 0;
  let kept = 0; // timers that keep the run alive
  let uncaught = null;

  const schedule = (timer) => {
    timer.entry = [performance.now() + timer.delay, ++order, timer];
    push(timer.entry);
  };
  const remove = (timer) => {
    if (timers.get(timer.id) !== timer) return;
    timers.delete(timer.id);
    if (timer.ref) kept--;
  };
  const typeName = (value) => (value === null ? "null" : typeof value === "function" ? "function" : typeof value);

  class Timeout {
    #timer;
    constructor(timer) {
      this.#timer = timer;
    }
    ref() {
      const timer = this.#timer;
      if (!timer.ref && timers.get(timer.id) === timer) kept++;
      timer.ref = true;
      return this;
    }
    unref() {
      const timer = this.#timer;
      if (timer.ref && timers.get(timer.id) === timer) kept--;
      timer.ref = false;
      return this;
    }
    hasRef() {
      return this.#timer.ref;
    }
    refresh() {
      if (timers.get(this.#timer.id) === this.#timer) schedule(this.#timer);
      return this;
    }
    close() {
      remove(this.#timer);
      return this;
    }
    [Symbol.toPrimitive]() {
      return this.#timer.id;
    }
  }

  const add = (callback, delay, args, repeat) => {
    if (typeof callback !== "function") {
      throw new TypeError(`The "callback" argument must be of type function. Received ${typeName(callback)}`);
    }
    let ms = Number(delay);
    if (!(ms >= 1 && ms <= MAX_DELAY)) ms = 1;
    const timer = { id: ++lastId, callback, args, delay: ms, repeat, ref: true, entry: null };
    timers.set(timer.id, timer);
    kept++;
    schedule(timer);
    return new Timeout(timer);
  };
  const clear = (handle) => {
    if (handle === null || handle === undefined) return;
    const timer = timers.get(typeof handle === "object" ? Number(handle[Symbol.toPrimitive]?.()) : Number(handle));
    if (timer) remove(timer);
  };

  globalThis.setTimeout = (callback, delay, ...args) => add(callback, delay, args, false);
  globalThis.setInterval = (callback, delay, ...args) => add(callback, delay, args, true);
  globalThis.clearTimeout = clear;
  globalThis.clearInterval = clear;
  globalThis.queueMicrotask = (callback) => {
    if (typeof callback !== "function") {
      throw new TypeError(`The "callback" argument must be of type function. Received ${typeName(callback)}`);
    }
    // An exception in a microtask is uncaught, as in node: it ends the run.
    Promise.resolve().then(() => {
      try {
        callback();
      } catch (error) {
        uncaught ??= { error };
      }
    });
  };

  globalThis.__stockade_timers = {
    // Milliseconds until the next timer is due, or -1 when the loop is
    // done: no timer at all, or (once the top level has `settled`) none
    // that keeps the run alive. Throws what a microtask left uncaught.
    wait(settled) {
      if (uncaught) {
        const { error } = uncaught;
        uncaught = null;
        throw error;
      }
      const next = head();
      if (!next || (settled && kept === 0)) return -1;
      return Math.max(0, next[0] - performance.now());
    },
    // Runs the next timer if it is due; its exception ends the run.
    fire() {
      const next = head();
      if (!next || next[0] > performance.now()) return false;
      pop();
      const timer = next[2];
      if (timer.repeat) schedule(timer);
      else remove(timer);
      timer.callback(...timer.args);
      return true;
    },
    // Forgets every timer: a session's next run starts with none.
    clear() {
      timers.clear();
      heap.length = 0;
      kept = 0;
      uncaught = null;
    },
  };
})();

// UTF-8 and base64, as the WHATWG Encoding and HTML standards define them:
// `TextEncoder`, `TextDecoder` (UTF-8 only, with `fatal`, `ignoreBOM` and
// streaming), `atob`, `btoa` and the `DOMException` they throw. `fetch`
// uses the same helpers, which the tools block below takes out of reach.
globalThis.__stockade_encoding = (() => {
  class DOMException extends Error {
    #name;
    constructor(message = "", name = "Error") {
      super(String(message));
      this.#name = String(name);
    }
    get name() {
      return this.#name;
    }
  }

  const utf8 = (text) => {
    const s = String(text);
    const bytes = new Uint8Array(s.length * 3);
    let at = 0;
    for (let i = 0; i < s.length; i++) {
      let c = s.charCodeAt(i);
      if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
        const low = s.charCodeAt(i + 1);
        if (low >= 0xdc00 && low <= 0xdfff) {
          c = 0x10000 + ((c - 0xd800) << 10) + (low - 0xdc00);
          i++;
        }
      }
      if (c >= 0xd800 && c <= 0xdfff) c = 0xfffd; // a lone surrogate
      if (c < 0x80) bytes[at++] = c;
      else if (c < 0x800) {
        bytes[at++] = 0xc0 | (c >> 6);
        bytes[at++] = 0x80 | (c & 63);
      } else if (c < 0x10000) {
        bytes[at++] = 0xe0 | (c >> 12);
        bytes[at++] = 0x80 | ((c >> 6) & 63);
        bytes[at++] = 0x80 | (c & 63);
      } else {
        bytes[at++] = 0xf0 | (c >> 18);
        bytes[at++] = 0x80 | ((c >> 12) & 63);
        bytes[at++] = 0x80 | ((c >> 6) & 63);
        bytes[at++] = 0x80 | (c & 63);
      }
    }
    return bytes.slice(0, at);
  };

  // The standard's decoder, one byte at a time; `state` carries a
  // sequence cut at the end of a streamed chunk over to the next.
  const decode = (bytes, state, flush, fatal) => {
    const units = [];
    let out = "";
    const emit = (c) => {
      if (c === 0xfffd && fatal) throw new TypeError("The encoded data was not valid for encoding utf-8");
      if (c >= 0x10000) {
        c -= 0x10000;
        units.push(0xd800 + (c >> 10), 0xdc00 + (c & 0x3ff));
      } else units.push(c);
      if (units.length >= 8192) {
        out += String.fromCharCode(...units);
        units.length = 0;
      }
    };
    let { needed, seen, point, lower, upper } = state;
    for (let i = 0; i < bytes.length; i++) {
      const b = bytes[i];
      if (needed === 0) {
        if (b <= 0x7f) emit(b);
        else if (b >= 0xc2 && b <= 0xdf) [needed, point] = [1, b & 0x1f];
        else if (b >= 0xe0 && b <= 0xef) {
          if (b === 0xe0) lower = 0xa0;
          if (b === 0xed) upper = 0x9f;
          [needed, point] = [2, b & 0xf];
        } else if (b >= 0xf0 && b <= 0xf4) {
          if (b === 0xf0) lower = 0x90;
          if (b === 0xf4) upper = 0x8f;
          [needed, point] = [3, b & 0x7];
        } else emit(0xfffd);
        continue;
      }
      if (b < lower || b > upper) {
        [needed, seen, point, lower, upper] = [0, 0, 0, 0x80, 0xbf];
        emit(0xfffd);
        i--; // the byte starts afresh
        continue;
      }
      [lower, upper] = [0x80, 0xbf];
      point = (point << 6) | (b & 0x3f);
      if (++seen === needed) {
        emit(point);
        [needed, seen, point] = [0, 0, 0];
      }
    }
    if (flush && needed !== 0) {
      [needed, seen, point, lower, upper] = [0, 0, 0, 0x80, 0xbf];
      emit(0xfffd);
    }
    Object.assign(state, { needed, seen, point, lower, upper });
    return out + String.fromCharCode(...units);
  };
  const fresh = () => ({ needed: 0, seen: 0, point: 0, lower: 0x80, upper: 0xbf });
  const fromUtf8 = (bytes) => decode(bytes, fresh(), true, false);

  const viewOf = (input) => {
    if (input === undefined) return new Uint8Array(0);
    if (input instanceof ArrayBuffer) return new Uint8Array(input);
    if (ArrayBuffer.isView(input)) return new Uint8Array(input.buffer, input.byteOffset, input.byteLength);
    throw new TypeError('The "input" argument must be an instance of ArrayBuffer or ArrayBufferView');
  };
  const LABELS = ["utf-8", "utf8", "unicode-1-1-utf-8", "unicode11utf8", "unicode20utf8", "x-unicode20utf8"];

  class TextEncoder {
    get encoding() {
      return "utf-8";
    }
    encode(input = "") {
      return utf8(input);
    }
    encodeInto(source, destination) {
      const s = String(source);
      let read = 0;
      let written = 0;
      for (const ch of s) {
        const bytes = utf8(ch);
        if (written + bytes.length > destination.length) break;
        destination.set(bytes, written);
        written += bytes.length;
        read += ch.length;
      }
      return { read, written };
    }
    get [Symbol.toStringTag]() {
      return "TextEncoder";
    }
  }

  class TextDecoder {
    #fatal;
    #ignoreBOM;
    #state = fresh();
    #started = false;
    constructor(label = "utf-8", options = {}) {
      if (!LABELS.includes(String(label).trim().toLowerCase())) {
        throw new RangeError(`The "${label}" encoding is not supported: stockade's TextDecoder reads UTF-8 only`);
      }
      this.#fatal = Boolean(options && options.fatal);
      this.#ignoreBOM = Boolean(options && options.ignoreBOM);
    }
    get encoding() {
      return "utf-8";
    }
    get fatal() {
      return this.#fatal;
    }
    get ignoreBOM() {
      return this.#ignoreBOM;
    }
    decode(input, options = {}) {
      const stream = Boolean(options && options.stream);
      let text;
      try {
        text = decode(viewOf(input), this.#state, !stream, this.#fatal);
      } catch (error) {
        this.#state = fresh();
        this.#started = false;
        throw error;
      }
      if (!this.#started && !this.#ignoreBOM && text.charCodeAt(0) === 0xfeff) text = text.slice(1);
      this.#started = stream && (this.#started || text.length > 0);
      if (!stream) this.#state = fresh();
      return text;
    }
    get [Symbol.toStringTag]() {
      return "TextDecoder";
    }
  }

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
  // Forgiving base64, as `atob` decodes it; `null` where it is not base64.
  const fromBase64 = (text) => {
    let clean = String(text).replace(/[\t\n\f\r ]+/g, "");
    if (clean.length % 4 === 0) clean = clean.replace(/={1,2}$/, "");
    if (clean.length % 4 === 1 || /[^A-Za-z0-9+/]/.test(clean)) return null;
    const bytes = new Uint8Array(Math.floor((clean.length * 3) / 4));
    let bits = 0, value = 0, at = 0;
    for (const ch of clean) {
      value = ((value << 6) | ALPHABET.indexOf(ch)) & 0xffffff;
      bits += 6;
      if (bits >= 8) {
        bits -= 8;
        bytes[at++] = (value >> bits) & 255;
      }
    }
    return bytes;
  };
  const invalid = (message) => new DOMException(message, "InvalidCharacterError");
  const specified = (args) => {
    if (args.length === 0) throw new TypeError('The "data" argument must be specified');
    return args[0];
  };
  const btoa = (...args) => {
    const s = String(specified(args));
    const bytes = new Uint8Array(s.length);
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i);
      if (c > 0xff) throw invalid("Invalid character");
      bytes[i] = c;
    }
    return toBase64(bytes);
  };
  const atob = (...args) => {
    const bytes = fromBase64(specified(args));
    if (bytes === null) throw invalid("The string to be decoded is not correctly encoded.");
    let out = "";
    for (let i = 0; i < bytes.length; i += 8192) out += String.fromCharCode(...bytes.subarray(i, i + 8192));
    return out;
  };

  globalThis.DOMException = DOMException;
  globalThis.TextEncoder = TextEncoder;
  globalThis.TextDecoder = TextDecoder;
  globalThis.btoa = btoa;
  globalThis.atob = atob;
  return Object.freeze({ utf8, fromUtf8, toBase64, fromBase64: (text) => fromBase64(text) ?? new Uint8Array(0) });
})();

// `crypto.getRandomValues` and `crypto.randomUUID`, from the host's CSPRNG
// on every call, and `structuredClone` (the HTML standard's algorithm over
// the types a guest has: it keeps cycles, and refuses functions and symbols
// with a DataCloneError).
(() => {
  const randomBytes = globalThis.__stockade_random_bytes;
  delete globalThis.__stockade_random_bytes;
  const INTEGER_ARRAYS = [Int8Array, Uint8Array, Uint8ClampedArray, Int16Array, Uint16Array, Int32Array,
    Uint32Array, BigInt64Array, BigUint64Array];
  const getRandomValues = (array) => {
    if (!INTEGER_ARRAYS.some((kind) => array instanceof kind)) {
      throw new DOMException("The data argument must be an integer-type TypedArray", "TypeMismatchError");
    }
    if (array.byteLength > 65536) {
      throw new DOMException(
        `The ArrayBufferView's byte length (${array.byteLength}) exceeds the number of bytes of entropy available via this API (65536)`,
        "QuotaExceededError");
    }
    new Uint8Array(array.buffer, array.byteOffset, array.byteLength).set(new Uint8Array(randomBytes(array.byteLength)));
    return array;
  };
  const randomUUID = () => {
    const b = new Uint8Array(randomBytes(16));
    b[6] = (b[6] & 0x0f) | 0x40; // version 4
    b[8] = (b[8] & 0x3f) | 0x80; // the RFC 4122 variant
    const hex = Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
  };
  globalThis.crypto = Object.freeze({ getRandomValues, randomUUID });

  const uncloneable = (what) => new DOMException(`${what} could not be cloned.`, "DataCloneError");
  const TYPED = [Int8Array, Uint8Array, Uint8ClampedArray, Int16Array, Uint16Array, Int32Array, Uint32Array,
    Float32Array, Float64Array, BigInt64Array, BigUint64Array];
  const ERRORS = { Error, EvalError, RangeError, ReferenceError, SyntaxError, TypeError, URIError };
  const clone = (value, seen) => {
    if (typeof value === "function") throw uncloneable(String(value).split("\n")[0]);
    if (typeof value === "symbol") throw uncloneable(String(value));
    if (value === null || typeof value !== "object") return value;
    if (seen.has(value)) return seen.get(value);
    const keep = (copy) => (seen.set(value, copy), copy);
    if (value instanceof Boolean || value instanceof Number || value instanceof String || value instanceof BigInt) {
      return keep(Object(value.valueOf()));
    }
    if (value instanceof Date) return keep(new Date(value.getTime()));
    if (value instanceof RegExp) return keep(new RegExp(value.source, value.flags));
    if (value instanceof ArrayBuffer) return keep(value.slice(0));
    if (value instanceof DataView) {
      return keep(new DataView(clone(value.buffer, seen), value.byteOffset, value.byteLength));
    }
    for (const kind of TYPED) {
      if (value instanceof kind) return keep(new kind(clone(value.buffer, seen), value.byteOffset, value.length));
    }
    if (value instanceof Map) {
      const copy = keep(new Map());
      for (const [k, v] of value) copy.set(clone(k, seen), clone(v, seen));
      return copy;
    }
    if (value instanceof Set) {
      const copy = keep(new Set());
      for (const v of value) copy.add(clone(v, seen));
      return copy;
    }
    if (value instanceof Error) {
      const kind = ERRORS[value.name] || Error;
      const copy = keep(Object.create(kind.prototype));
      for (const key of ["message", "stack", "cause"]) {
        if (Object.prototype.hasOwnProperty.call(value, key)) {
          Object.defineProperty(copy, key, { value: clone(value[key], seen), writable: true, configurable: true });
        }
      }
      return copy;
    }
    if (value instanceof Promise || value instanceof WeakMap || value instanceof WeakSet) {
      throw uncloneable(`#<${value.constructor.name}>`);
    }
    const copy = keep(Array.isArray(value) ? new Array(value.length) : {});
    for (const key of Object.keys(value)) copy[key] = clone(value[key], seen);
    return copy;
  };
  globalThis.structuredClone = (value, options) => {
    if (options && options.transfer && options.transfer.length) {
      throw new DOMException("stockade's structuredClone transfers nothing: there is no other realm", "DataCloneError");
    }
    return clone(value, new Map());
  };
})();

// `fetch`, `Headers`, `Request` and `Response`, over the door's `http`
// operation: the host makes the request through the run's egress engine,
// under the policy's network rules, budgets and secrets. The guest has no
// socket; a refusal rejects with a TypeError that says why, as a failed
// fetch does elsewhere.
globalThis.__stockade_install_fetch = (request, { utf8, fromUtf8, toBase64, fromBase64 }) => {
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
};

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
  const installFetch = globalThis.__stockade_install_fetch;
  const encoding = globalThis.__stockade_encoding;
  delete globalThis.__stockade_install_fetch;
  delete globalThis.__stockade_encoding;
  installFetch(request, encoding);
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
