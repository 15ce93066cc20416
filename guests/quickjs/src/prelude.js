// Evaluated once inside the snapshot. Defines `console` over the single
// native function the guest exposes, then hides that function.
(() => {
  const write = globalThis.__stockade_write;
  delete globalThis.__stockade_write;

  const promiseState = globalThis.__stockade_promise_state;
  delete globalThis.__stockade_promise_state;

  // QuickJS rejects Promise.any with an AggregateError that has no message
  // and no frames; node (V8) says why. An error made by `new` keeps its own.
  Object.defineProperty(AggregateError.prototype, "message", {
    configurable: true,
    get() {
      return this !== AggregateError.prototype && typeof this.stack !== "string" ? "All promises were rejected" : "";
    },
    set(message) {
      Object.defineProperty(this, "message", { value: message, writable: true, configurable: true });
    },
  });

  // node's util.inspect, as console.log uses it (depth 2, breakLength 80,
  // compact 3): the same prefixes, quoting, line breaks and grouping of
  // long arrays, so a program prints here what it prints under node.
  // An object may format itself through node's custom-inspect symbol.
  const CUSTOM = Symbol.for("nodejs.util.inspect.custom");
  const BREAK = 80, DEPTH = 2, COMPACT = 3, MAX_ITEMS = 100;
  const ESCAPES = { "\n": "\\n", "\t": "\\t", "\r": "\\r", "\b": "\\b", "\f": "\\f", "\v": "\\v", "\\": "\\\\" };
  // A string inside a value, quoted as node's util.inspect quotes it.
  const quote = (s) => {
    const mark = !s.includes("'") ? "'" : !s.includes('"') ? '"' : !s.includes("`") && !s.includes("${") ? "`" : "'";
    let body = s.replace(/[\\\x00-\x1f\x7f]/g, (c) => ESCAPES[c] || "\\x" + c.charCodeAt(0).toString(16).padStart(2, "0"));
    if (mark === "'") body = body.replace(/'/g, "\\'");
    return mark + body + mark;
  };
  const number = (n) => (Object.is(n, -0) ? "-0" : String(n));
  const own = (object, key) => Object.prototype.hasOwnProperty.call(object, key);
  const isTyped = (v) => ArrayBuffer.isView(v) && !(v instanceof DataView);

  // The first named constructor on the prototype chain; null for none.
  const constructorOf = (value) => {
    for (let proto = value; proto !== null; proto = Object.getPrototypeOf(proto)) {
      const d = Object.getOwnPropertyDescriptor(proto, "constructor");
      if (d && typeof d.value === "function" && d.value.name !== "") return d.value.name;
    }
    return null;
  };
  const prefix = (name, tag, fallback, size = "") => {
    if (name === null) return tag !== "" && fallback !== tag ? `[${fallback}${size}: null prototype] [${tag}] ` : `[${fallback}${size}: null prototype] `;
    return tag !== "" && name !== tag ? `${name}${size} [${tag}] ` : `${name}${size} `;
  };
  const functionBase = (fn, name) => {
    const source = Function.prototype.toString.call(fn);
    if (source.startsWith("class") && /^class\b/.test(source)) {
      const parent = Object.getPrototypeOf(fn);
      const base = `[class ${fn.name || "(anonymous)"}`;
      return parent && parent.name ? `${base} extends ${parent.name}]` : `${base}]`;
    }
    const kind = name === null ? "Function" : ["AsyncFunction", "GeneratorFunction", "AsyncGeneratorFunction"].includes(name) ? name : "Function";
    return `[${kind}${fn.name ? `: ${fn.name}` : " (anonymous)"}]`;
  };

  const groupArray = (ctx, output, value) => {
    let total = 0, longest = 0;
    let count = output.length;
    // The "... more items" entry takes no part in the columns.
    if (MAX_ITEMS < output.length) count--;
    const lengths = [];
    for (let i = 0; i < count; i++) {
      const len = output[i].length;
      lengths.push(len);
      total += len + 2;
      if (longest < len) longest = len;
    }
    const actualMax = longest + 2;
    if (actualMax * 3 + ctx.indent < BREAK && (total / actualMax > 5 || longest <= 6)) {
      const averageBias = Math.sqrt(actualMax - total / output.length);
      const biasedMax = Math.max(actualMax - 3 - averageBias, 1);
      const columns = Math.min(
        Math.round(Math.sqrt(2.5 * biasedMax * count) / biasedMax),
        Math.floor((BREAK - ctx.indent) / actualMax),
        COMPACT * 4,
        15,
      );
      if (columns <= 1) return output;
      const widths = [];
      for (let i = 0; i < columns; i++) {
        let width = 0;
        for (let j = i; j < output.length; j += columns) if (lengths[j] > width) width = lengths[j];
        widths.push(width + 2);
      }
      let numbers = true;
      for (let i = 0; i < output.length; i++) {
        if (typeof value[i] !== "number" && typeof value[i] !== "bigint") { numbers = false; break; }
      }
      const grouped = [];
      for (let i = 0; i < count; i += columns) {
        const max = Math.min(i + columns, count);
        let line = "";
        let j = i;
        for (; j < max - 1; j++) {
          const cell = `${output[j]}, `;
          line += numbers ? cell.padStart(widths[j - i]) : cell.padEnd(widths[j - i]);
        }
        line += numbers ? output[j].padStart(widths[j - i] - 2) : output[j];
        grouped.push(line);
      }
      if (MAX_ITEMS < output.length) grouped.push(output[count]);
      return grouped;
    }
    return output;
  };

  const single = (ctx, output, base, braces, arrayLike, value) => {
    const entries = output.length;
    if (arrayLike && entries > 6) output = groupArray(ctx, output, value);
    if (entries === output.length) {
      const start = output.length + ctx.indent + braces[0].length + base.length + 10;
      let total = output.length + start;
      let fits = total + output.length <= BREAK;
      for (let i = 0; fits && i < output.length; i++) {
        total += output[i].length;
        fits = total <= BREAK;
      }
      if (fits && !base.includes("\n")) {
        const joined = output.join(", ");
        if (!joined.includes("\n")) return `${base ? `${base} ` : ""}${braces[0]} ${joined} ${braces[1]}`;
      }
    }
    const indentation = `\n${" ".repeat(ctx.indent)}`;
    return `${base ? `${base} ` : ""}${braces[0]}${indentation}  ${output.join(`,${indentation}  `)}${indentation}${braces[1]}`;
  };

  const property = (ctx, value, depth, key, arrayItem) => {
    const desc = Object.getOwnPropertyDescriptor(value, key) || { value: value[key], enumerable: true };
    let text;
    if (desc.value !== undefined || !("get" in desc || "set" in desc)) {
      ctx.indent += 2;
      text = formatValue(ctx, desc.value, depth);
      ctx.indent -= 2;
    } else if (desc.get !== undefined) {
      text = desc.set !== undefined ? "[Getter/Setter]" : "[Getter]";
    } else {
      text = desc.set !== undefined ? "[Setter]" : "undefined";
    }
    if (arrayItem) return text;
    const name = typeof key === "symbol" ? `[${key.toString()}]`
      : key === "__proto__" ? "['__proto__']"
      : desc.enumerable === false ? `[${key}]`
      : /^[a-zA-Z_][a-zA-Z_0-9]*$/.test(key) ? key : quote(key);
    return `${name}: ${text}`;
  };

  const keysOf = (value, skipIndices) => {
    let keys = Object.keys(value);
    if (skipIndices) keys = keys.filter((k) => !(String(k >>> 0) === k && (k >>> 0) !== 4294967295));
    for (const symbol of Object.getOwnPropertySymbols(value)) {
      if (Object.prototype.propertyIsEnumerable.call(value, symbol)) keys.push(symbol);
    }
    return keys;
  };

  const arrayItems = (ctx, value, depth) => {
    const output = [];
    const length = value.length;
    let holes = 0;
    const shown = Math.min(length, MAX_ITEMS);
    const flush = () => {
      if (holes) output.push(`<${holes} empty item${holes > 1 ? "s" : ""}>`);
      holes = 0;
    };
    for (let i = 0; i < shown; i++) {
      if (!own(value, i)) { holes++; continue; }
      flush();
      output.push(property(ctx, value, depth, i, true));
    }
    flush();
    if (length > shown) output.push(`... ${length - shown} more item${length - shown > 1 ? "s" : ""}`);
    return output;
  };

  const formatValue = (ctx, value, depth) => {
    switch (typeof value) {
      case "string":
        if (value.length > 16 && value.length > BREAK - ctx.indent - 4 && value.includes("\n")) {
          return value.split(/(?<=\n)/).map(quote).join(` +\n${" ".repeat(ctx.indent + 2)}`);
        }
        return quote(value);
      case "number": return number(value);
      case "bigint": return `${value}n`;
      case "symbol": return value.toString();
      case "undefined": return "undefined";
      case "boolean": return String(value);
      case "function": case "object": break;
      default: return String(value);
    }
    if (value === null) return "null";
    if (typeof value[CUSTOM] === "function" && value[CUSTOM] !== inspect) {
      const shown = value[CUSTOM](DEPTH - depth, { depth: DEPTH - depth }, inspect);
      if (shown !== value) return typeof shown === "string" ? shown : formatValue(ctx, shown, depth);
    }
    if (ctx.seen.includes(value)) {
      if (!ctx.circular.has(value)) ctx.circular.set(value, ctx.circular.size + 1);
      return `[Circular *${ctx.circular.get(value)}]`;
    }
    return formatRaw(ctx, value, depth);
  };

  const formatRaw = (ctx, value, depth) => {
    const name = constructorOf(value);
    let tag = value[Symbol.toStringTag];
    if (typeof tag !== "string" || (tag !== "" && name === tag)) tag = "";
    let base = "", braces, keys, items = () => [], arrayLike = false;
    if (Array.isArray(value)) {
      keys = keysOf(value, true);
      const shownPrefix = name !== "Array" || tag !== "" ? prefix(name, tag, "Array", `(${value.length})`) : "";
      braces = [`${shownPrefix}[`, "]"];
      if (value.length === 0 && keys.length === 0) return `${braces[0]}]`;
      arrayLike = true;
      items = () => arrayItems(ctx, value, depth);
    } else if (value instanceof Map) {
      keys = keysOf(value);
      braces = [`${prefix(name, tag, "Map", `(${value.size})`)}{`, "}"];
      if (value.size === 0 && keys.length === 0) return `${braces[0]}}`;
      items = () => {
        ctx.indent += 2;
        const out = [...value].map(([k, v]) => `${formatValue(ctx, k, depth)} => ${formatValue(ctx, v, depth)}`);
        ctx.indent -= 2;
        return out;
      };
    } else if (value instanceof Set) {
      keys = keysOf(value);
      braces = [`${prefix(name, tag, "Set", `(${value.size})`)}{`, "}"];
      if (value.size === 0 && keys.length === 0) return `${braces[0]}}`;
      items = () => {
        ctx.indent += 2;
        const out = [...value].map((v) => formatValue(ctx, v, depth));
        ctx.indent -= 2;
        return out;
      };
    } else if (isTyped(value)) {
      keys = keysOf(value, true);
      const kind = name || value[Symbol.toStringTag];
      braces = [`${prefix(name, tag, kind, `(${value.length})`)}[`, "]"];
      if (value.length === 0 && keys.length === 0) return `${braces[0]}]`;
      arrayLike = true;
      items = () => {
        const out = [];
        for (let i = 0; i < Math.min(value.length, MAX_ITEMS); i++) out.push(typeof value[i] === "bigint" ? `${value[i]}n` : number(value[i]));
        if (value.length > MAX_ITEMS) out.push(`... ${value.length - MAX_ITEMS} more item${value.length - MAX_ITEMS > 1 ? "s" : ""}`);
        return out;
      };
    } else {
      keys = keysOf(value);
      braces = ["{", "}"];
      if (typeof value === "function") {
        base = functionBase(value, name);
        if (keys.length === 0) return base;
      } else if (value instanceof RegExp) {
        base = RegExp.prototype.toString.call(value);
        if (keys.length === 0) return base;
      } else if (value instanceof Date) {
        base = Number.isNaN(value.getTime()) ? "Invalid Date" : value.toISOString();
        if (keys.length === 0) return base;
      } else if (value instanceof Error) {
        // node's shape: the header and the frames (the guest's own), in
        // brackets when there are none, indented as deep as the value, with
        // `cause` and an AggregateError's `errors` shown though hidden.
        const header = value.message ? `${value.name}: ${value.message}` : String(value.name);
        const frames = typeof value.stack === "string" ? value.stack.trimEnd() : "";
        let stack = frames.includes("    at") ? `${header}\n${frames}` : `[${header}]`;
        if (ctx.indent !== 0) stack = stack.replaceAll("\n", `\n${" ".repeat(ctx.indent)}`);
        keys = keys.filter((k) => k !== "stack" && k !== "message");
        if ("cause" in value && !keys.includes("cause")) keys.push("cause");
        if (Array.isArray(value.errors) && !keys.includes("errors")) keys.push("errors");
        if (keys.length === 0) return stack;
        base = stack;
      } else if (value instanceof ArrayBuffer) {
        braces[0] = `${prefix(name, tag, "ArrayBuffer")}{`;
        items = () => {
          const bytes = [...new Uint8Array(value, 0, Math.min(value.byteLength, 50))].map((b) => b.toString(16).padStart(2, "0"));
          const more = value.byteLength > 50 ? ` ... ${value.byteLength - 50} more byte${value.byteLength - 50 > 1 ? "s" : ""}` : "";
          return [`[Uint8Contents]: <${bytes.join(" ")}${more}>`, `byteLength: ${value.byteLength}`];
        };
      } else if (value instanceof Number || value instanceof String || value instanceof Boolean) {
        const kind = value instanceof Number ? "Number" : value instanceof String ? "String" : "Boolean";
        const inner = value instanceof Number ? number(value.valueOf()) : value instanceof String ? quote(value.valueOf()) : String(value.valueOf());
        base = `[${kind}: ${inner}]`;
        if (value instanceof String) keys = keys.filter((k) => !(String(k >>> 0) === k));
        if (keys.length === 0) return base;
      } else if (value instanceof Promise) {
        braces[0] = `${prefix(name, tag, "Promise")}{`;
        items = () => {
          const [state, result] = promiseState(value);
          if (state === "pending") return ["<pending>"];
          ctx.indent += 2;
          const shown = formatValue(ctx, result, depth);
          ctx.indent -= 2;
          return [state === "rejected" ? `<rejected> ${shown}` : shown];
        };
      } else if (value instanceof WeakMap || value instanceof WeakSet) {
        return `${prefix(name, tag, value instanceof WeakMap ? "WeakMap" : "WeakSet")}{ <items unknown> }`;
      } else {
        if (name === "Object" && tag === "") {
          if (keys.length === 0) return "{}";
        } else {
          braces[0] = `${prefix(name, tag, "Object")}{`;
          if (keys.length === 0) return `${braces[0]}}`;
        }
      }
    }
    if (depth > DEPTH) {
      const shown = prefix(name, tag, "Object").slice(0, -1);
      return name !== null ? `[${shown}]` : shown;
    }
    depth += 1;
    ctx.seen.push(value);
    const output = items();
    for (const key of keys) output.push(property(ctx, value, depth, key, false));
    ctx.seen.pop();
    const reference = ctx.circular.get(value);
    if (reference !== undefined) base = base === "" ? `<ref *${reference}>` : `<ref *${reference}> ${base}`;
    return single(ctx, output, base, braces, arrayLike, value);
  };

  // util.inspect's signature, for custom inspectors that call it back.
  const inspect = (value) => formatValue({ indent: 0, seen: [], circular: new Map() }, value, 0);
  // A value nested in a table cell or a format argument.
  const inspectValue = inspect;

  // console.log's format: `%s`, `%d`, `%i`, `%f`, `%j`, `%o`, `%O`, `%c`
  // and `%%` when the first argument is a string, as node reads them.
  const formatArgs = (args) => {
    let first = 0;
    let text = "";
    if (typeof args[0] === "string" && args.length > 1 && args[0].includes("%")) {
      let next = 1;
      const template = args[0];
      first = 1;
      let last = 0;
      for (let i = 0; i < template.length - 1; i++) {
        if (template[i] !== "%") continue;
        const c = template[i + 1];
        if (c === "%") { text += template.slice(last, i) + "%"; last = i + 2; i++; continue; }
        if (next >= args.length || !"sdifjoOc".includes(c)) continue;
        const arg = args[next++];
        let piece;
        switch (c) {
          case "s":
            piece = typeof arg === "string" ? arg : typeof arg === "bigint" ? `${arg}n` : typeof arg === "symbol" ? String(arg)
              : typeof arg === "object" && arg !== null ? inspectValue(arg) : number(arg);
            break;
          case "d": piece = typeof arg === "bigint" ? `${arg}n` : typeof arg === "symbol" ? "NaN" : number(Number(arg)); break;
          case "i": piece = typeof arg === "bigint" ? `${arg}n` : typeof arg === "symbol" ? "NaN" : number(parseInt(arg)); break;
          case "f": piece = typeof arg === "symbol" ? "NaN" : number(parseFloat(arg)); break;
          case "j": try { piece = JSON.stringify(arg); } catch { piece = "[Circular]"; } break;
          case "o": case "O": piece = inspectValue(arg); break;
          case "c": piece = ""; break;
        }
        text += template.slice(last, i) + piece;
        last = i + 2;
        i++;
      }
      text += template.slice(last);
      first = next;
      if (first < args.length) text += " ";
    }
    const rest = args.slice(first).map((a) => (typeof a === "string" ? a : inspectValue(a)));
    return text + rest.join(" ");
  };

  // Lone surrogates cannot cross into UTF-8; print U+FFFD as other engines do.
  const wellFormed = (s) => (typeof s.toWellFormed === "function" ? s.toWellFormed() : s);
  const format = (args) => wellFormed(formatArgs(args)) + "\n";
  const out = (...args) => write(1, format(args));
  const err = (...args) => write(2, format(args));

  // node's counters and timers, by label.
  const started = new Map();
  const counts = new Map();
  const label = (name) => (name === undefined ? "default" : String(name));
  const elapsed = (name) => {
    const at = started.get(label(name));
    if (at === undefined) {
      err(`Warning: No such label '${label(name)}' for console.timeEnd()`);
      return null;
    }
    const ms = performance.now() - at;
    return ms < 1000 ? `${ms.toFixed(3)}ms` : `${(ms / 1000).toFixed(3)}s`;
  };

  // node's console.table: one row per entry, one column per key of the
  // rows that are objects, and `Values` for those that are not.
  const table = (data, properties) => {
    if (data === null || typeof data !== "object") return out(data);
    const keys = Array.isArray(data) ? data.map((_, i) => String(i)) : Object.keys(data);
    const columns = [];
    let values = false;
    for (const key of keys) {
      const row = data[key];
      if (row !== null && typeof row === "object") {
        for (const column of Object.keys(row)) if (!columns.includes(column)) columns.push(column);
      } else values = true;
    }
    const shown = Array.isArray(properties) ? properties.map(String) : columns;
    const head = ["(index)", ...shown, ...(values && !properties ? ["Values"] : [])];
    const cell = (value) => inspectValue(value);
    const rows = keys.map((key) => {
      const row = data[key];
      const object = row !== null && typeof row === "object";
      const cells = shown.map((column) => (object && Object.prototype.hasOwnProperty.call(row, column) ? cell(row[column]) : ""));
      return [key, ...cells, ...(values && !properties ? [object ? "" : cell(row)] : [])];
    });
    const width = (text) => [...text].length;
    const widths = head.map((name, i) => Math.max(width(name), ...rows.map((row) => width(row[i]))) + 2);
    const line = (left, middle, right) => left + widths.map((w) => "─".repeat(w)).join(middle) + right;
    const cells = (row) => "│" + row.map((text, i) => " " + text + " ".repeat(widths[i] - width(text) - 1)).join("│") + "│";
    write(1, [line("┌", "┬", "┐"), cells(head), line("├", "┼", "┤"), ...rows.map(cells), line("└", "┴", "┘")].join("\n") + "\n");
  };

  globalThis.console = Object.freeze({
    log: out, info: out, debug: out, trace: out,
    error: err, warn: err,
    table,
    dir: (value) => write(1, wellFormed(inspect(value)) + "\n"),
    assert: (condition, ...args) => {
      if (!condition) err(...(args.length ? ["Assertion failed:", ...args] : ["Assertion failed"]));
    },
    count: (name) => {
      const n = (counts.get(label(name)) || 0) + 1;
      counts.set(label(name), n);
      out(`${label(name)}: ${n}`);
    },
    countReset: (name) => counts.set(label(name), 0),
    time: (name) => {
      if (started.has(label(name))) err(`Warning: Label '${label(name)}' already exists for console.time()`);
      else started.set(label(name), performance.now());
    },
    timeLog: (name, ...args) => {
      const took = elapsed(name);
      if (took !== null) out(`${label(name)}: ${took}`, ...args);
    },
    timeEnd: (name) => {
      const took = elapsed(name);
      if (took !== null) out(`${label(name)}: ${took}`);
      started.delete(label(name));
    },
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
  const hash = globalThis.__stockade_digest;
  delete globalThis.__stockade_digest;
  const DIGESTS = ["SHA-1", "SHA-256", "SHA-384", "SHA-512"];
  const digest = async (algorithm, data) => {
    const name = String(typeof algorithm === "object" && algorithm !== null ? algorithm.name : algorithm).toUpperCase();
    if (!DIGESTS.includes(name)) throw new DOMException("Unrecognized algorithm name", "NotSupportedError");
    let bytes;
    if (data instanceof ArrayBuffer) bytes = new Uint8Array(data);
    else if (ArrayBuffer.isView(data)) bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    else throw new TypeError('The "data" argument must be an instance of ArrayBuffer, Buffer, TypedArray, or DataView');
    return hash(name, bytes.slice());
  };
  const subtle = Object.freeze({ digest });
  globalThis.crypto = Object.freeze({ getRandomValues, randomUUID, subtle });

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
  // `transfer` moves ArrayBuffers: the clone gets their bytes and the
  // originals are detached, once the whole value has been cloned.
  globalThis.structuredClone = (value, options) => {
    const transfer = options == null || options.transfer === undefined ? [] : [...options.transfer];
    const seen = new Map();
    for (const item of transfer) {
      // A guest has no other transferable (no ports, no streams): as node.
      if (!(item instanceof ArrayBuffer)) throw new TypeError("Found invalid value in transferList.");
      if (seen.has(item)) throw new DOMException("ArrayBuffer is listed twice in the transfer list", "DataCloneError");
      if (item.detached) throw new DOMException("An ArrayBuffer is detached and could not be cloned.", "DataCloneError");
      seen.set(item, item.slice(0));
    }
    const copy = clone(value, seen);
    for (const item of transfer) item.transfer();
    return copy;
  };
})();

// `AbortController` and `AbortSignal` (with `AbortSignal.abort`,
// `AbortSignal.timeout` and `AbortSignal.any`), and the `Event` and
// `EventTarget` they are built on; `fetch` refuses a signal already aborted.
(() => {
  class Event {
    #type;
    constructor(type) {
      this.#type = String(type);
      this.timeStamp = performance.now();
    }
    get type() {
      return this.#type;
    }
  }
  class EventTarget {
    #listeners = new Map();
    addEventListener(type, listener, options) {
      if (typeof listener !== "function" && !(listener && typeof listener.handleEvent === "function")) return;
      const list = this.#listeners.get(type) || [];
      if (!list.some((entry) => entry.listener === listener)) {
        list.push({ listener, once: Boolean(options && options.once) });
      }
      this.#listeners.set(type, list);
    }
    removeEventListener(type, listener) {
      const list = this.#listeners.get(type) || [];
      this.#listeners.set(type, list.filter((entry) => entry.listener !== listener));
    }
    dispatchEvent(event) {
      for (const entry of [...(this.#listeners.get(event.type) || [])]) {
        if (entry.once) this.removeEventListener(event.type, entry.listener);
        if (typeof entry.listener === "function") entry.listener.call(this, event);
        else entry.listener.handleEvent(event);
      }
      return true;
    }
  }
  const abortError = () => new DOMException("This operation was aborted", "AbortError");
  const timeoutError = () => new DOMException("The operation was aborted due to timeout", "TimeoutError");
  let making = false;
  class AbortSignal extends EventTarget {
    #aborted = false;
    #reason = undefined;
    #onabort = null;
    // As an event handler attribute: called in the place among the
    // listeners where it was first set.
    #handler = (event) => {
      if (typeof this.#onabort === "function") this.#onabort.call(this, event);
    };
    constructor() {
      if (!making) throw new TypeError("Illegal constructor");
      super();
    }
    get onabort() {
      return this.#onabort;
    }
    set onabort(handler) {
      if (this.#onabort === null && handler !== null) this.addEventListener("abort", this.#handler);
      this.#onabort = handler;
    }
    get aborted() {
      return this.#aborted;
    }
    get reason() {
      return this.#reason;
    }
    throwIfAborted() {
      if (this.#aborted) throw this.#reason;
    }
    static #make() {
      making = true;
      try {
        return new AbortSignal();
      } finally {
        making = false;
      }
    }
    static _abort(signal, reason) {
      if (signal.#aborted) return;
      signal.#aborted = true;
      signal.#reason = reason === undefined ? abortError() : reason;
      signal.dispatchEvent(new Event("abort"));
    }
    static _new() {
      return AbortSignal.#make();
    }
    static abort(reason) {
      const signal = AbortSignal.#make();
      abort(signal, reason);
      return signal;
    }
    static timeout(ms) {
      const signal = AbortSignal.#make();
      setTimeout(() => abort(signal, timeoutError()), ms).unref();
      return signal;
    }
    static any(signals) {
      const signal = AbortSignal.#make();
      for (const source of signals) {
        if (source.aborted) {
          abort(signal, source.reason);
          return signal;
        }
      }
      for (const source of signals) {
        source.addEventListener("abort", () => abort(signal, source.reason), { once: true });
      }
      return signal;
    }
    get [Symbol.toStringTag]() {
      return "AbortSignal";
    }
  }
  const abort = AbortSignal._abort;
  const fresh = AbortSignal._new;
  delete AbortSignal._abort;
  delete AbortSignal._new;
  class AbortController {
    #signal = fresh();
    get signal() {
      return this.#signal;
    }
    abort(reason) {
      abort(this.#signal, reason);
    }
    get [Symbol.toStringTag]() {
      return "AbortController";
    }
  }
  Object.assign(globalThis, { Event, EventTarget, AbortSignal, AbortController });
})();

// `URL` and `URLSearchParams`, after the WHATWG URL standard: special
// schemes (http, https, ws, wss, ftp, file) with their default ports,
// hosts lowercased, IPv4 in every form node accepts, IPv6 compressed,
// non-ASCII names in punycode, dot segments resolved, percent-encoding by
// the standard's sets, relative references against a base, and opaque
// paths for other schemes (`mailto:`, `data:`).
(() => {
  const SPECIAL = { "ftp:": "21", "file:": "", "http:": "80", "https:": "443", "ws:": "80", "wss:": "443" };
  const invalid = (input) => new TypeError(`Invalid URL: ${input}`);

  const C0 = (c) => c <= 0x1f;
  const inSet = {
    fragment: (c) => C0(c) || c > 0x7e || c === 0x20 || c === 0x22 || c === 0x3c || c === 0x3e || c === 0x60,
    query: (c) => C0(c) || c > 0x7e || c === 0x20 || c === 0x22 || c === 0x23 || c === 0x3c || c === 0x3e,
    specialQuery: (c) => inSet.query(c) || c === 0x27,
    path: (c) => inSet.query(c) || c === 0x3f || c === 0x60 || c === 0x7b || c === 0x7d,
    userinfo: (c) => inSet.path(c) || c === 0x2f || c === 0x3a || c === 0x3b || c === 0x3d || c === 0x40 ||
      (c >= 0x5b && c <= 0x5e) || c === 0x7c,
    c0: (c) => C0(c) || c > 0x7e,
    form: (c) => !((c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) ||
      c === 0x2a || c === 0x2d || c === 0x2e || c === 0x5f),
  };
  // The encoders of the block above, which the tools block hides later.
  const { utf8, fromUtf8: decodeUtf8 } = globalThis.__stockade_encoding;
  const hex = (b) => "%" + b.toString(16).toUpperCase().padStart(2, "0");
  const encode = (s, set, spaceAsPlus = false) => {
    let out = "";
    for (const ch of s) {
      const c = ch.codePointAt(0);
      if (spaceAsPlus && c === 0x20) out += "+";
      else if (c < 0x80 && !set(c)) out += ch;
      else for (const b of utf8(ch)) out += set(b) || b >= 0x80 ? hex(b) : String.fromCharCode(b);
    }
    return out;
  };
  const percentDecode = (s) => {
    const bytes = [];
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i);
      if (c === 0x25 && /^[0-9a-fA-F]{2}$/.test(s.slice(i + 1, i + 3))) {
        bytes.push(parseInt(s.slice(i + 1, i + 3), 16));
        i += 2;
      } else bytes.push(...utf8(s[i]));
    }
    return bytes;
  };

  // Punycode (RFC 3492), for the labels of a non-ASCII host.
  const punycode = (label) => {
    const input = [...label].map((ch) => ch.codePointAt(0));
    let out = input.filter((c) => c < 0x80).map((c) => String.fromCharCode(c)).join("");
    const basic = out.length;
    let handled = basic;
    if (basic) out += "-";
    let n = 128, delta = 0, bias = 72;
    const digit = (d) => String.fromCharCode(d + 22 + 75 * (d < 26));
    const adapt = (delta, points, first) => {
      delta = first ? Math.floor(delta / 700) : delta >> 1;
      delta += Math.floor(delta / points);
      let k = 0;
      for (; delta > 455; k += 36) delta = Math.floor(delta / 35);
      return k + Math.floor((36 * delta) / (delta + 38));
    };
    while (handled < input.length) {
      const m = Math.min(...input.filter((c) => c >= n));
      delta += (m - n) * (handled + 1);
      n = m;
      for (const c of input) {
        if (c < n) delta++;
        if (c === n) {
          let q = delta;
          for (let k = 36; ; k += 36) {
            const t = k <= bias ? 1 : k >= bias + 26 ? 26 : k - bias;
            if (q < t) break;
            out += digit(t + ((q - t) % (36 - t)));
            q = Math.floor((q - t) / (36 - t));
          }
          out += digit(q);
          bias = adapt(delta, handled + 1, handled === basic);
          delta = 0;
          handled++;
        }
      }
      delta++;
      n++;
    }
    return "xn--" + out;
  };

  const parseIPv4Number = (part) => {
    if (part === "") return NaN;
    let radix = 10;
    if (/^0[xX]/.test(part)) [part, radix] = [part.slice(2), 16];
    else if (part.length > 1 && part[0] === "0") [part, radix] = [part.slice(1), 8];
    if (part === "") return 0;
    const valid = { 10: /^[0-9]+$/, 16: /^[0-9a-fA-F]+$/, 8: /^[0-7]+$/ }[radix];
    return valid.test(part) ? parseInt(part, radix) : NaN;
  };
  const endsInNumber = (host) => {
    const parts = host.split(".");
    if (parts[parts.length - 1] === "" && parts.length > 1) parts.pop();
    const last = parts[parts.length - 1];
    return /^[0-9]+$/.test(last) || !Number.isNaN(parseIPv4Number(last)) && /^0[xX]/.test(last);
  };
  const parseIPv4 = (host, input) => {
    const parts = host.split(".");
    if (parts[parts.length - 1] === "" && parts.length > 1) parts.pop();
    if (parts.length > 4) throw invalid(input);
    const numbers = parts.map(parseIPv4Number);
    if (numbers.some(Number.isNaN)) throw invalid(input);
    const last = numbers.pop();
    if (numbers.some((n) => n > 255) || last >= 256 ** (4 - numbers.length)) throw invalid(input);
    let address = last;
    numbers.forEach((n, i) => (address += n * 256 ** (3 - i)));
    return [24, 16, 8, 0].map((shift) => Math.floor(address / 2 ** shift) % 256).join(".");
  };
  const parseIPv6 = (text, input) => {
    const pieces = new Array(8).fill(0);
    let at = 0, compress = null, i = 0;
    const c = () => text[i];
    if (c() === ":") {
      if (text[1] !== ":") throw invalid(input);
      i += 2;
      compress = ++at;
    }
    while (i < text.length) {
      if (at === 8) throw invalid(input);
      if (c() === ":") {
        if (compress !== null) throw invalid(input);
        i++;
        compress = ++at;
        continue;
      }
      let value = 0, length = 0;
      while (length < 4 && /[0-9a-fA-F]/.test(c() || "")) {
        value = value * 16 + parseInt(c(), 16);
        i++;
        length++;
      }
      if (c() === ".") {
        if (length === 0 || at > 6) throw invalid(input);
        i -= length;
        const v4 = text.slice(i).split(".");
        if (v4.length !== 4 || v4.some((p) => !/^(0|[1-9][0-9]{0,2})$/.test(p) || +p > 255)) throw invalid(input);
        pieces[at++] = +v4[0] * 256 + +v4[1];
        pieces[at++] = +v4[2] * 256 + +v4[3];
        i = text.length;
        break;
      }
      if (c() === ":") {
        i++;
        if (i === text.length) throw invalid(input);
      } else if (i < text.length) throw invalid(input);
      pieces[at++] = value;
    }
    if (compress !== null) {
      let swaps = at - compress;
      at = 7;
      while (at !== 0 && swaps > 0) {
        [pieces[at], pieces[compress + swaps - 1]] = [pieces[compress + swaps - 1], pieces[at]];
        at--;
        swaps--;
      }
    } else if (at !== 8) throw invalid(input);
    // The longest run of zeros (two or more) is written `::`.
    let best = -1, bestLength = 1;
    for (let start = 0; start < 8; ) {
      let end = start;
      while (end < 8 && pieces[end] === 0) end++;
      if (end - start > bestLength) [best, bestLength] = [start, end - start];
      start = end === start ? start + 1 : end;
    }
    let out = "";
    for (let k = 0; k < 8; k++) {
      if (k === best) {
        out += k === 0 ? "::" : ":";
        k += bestLength - 1;
        continue;
      }
      out += pieces[k].toString(16) + (k < 7 ? ":" : "");
    }
    return `[${out}]`;
  };
  const FORBIDDEN_HOST = /[\u0000\t\n\r #/:<>?@[\\\]^|]/;
  const FORBIDDEN_DOMAIN = /[\u0000-\u001f\t\n\r #%/:<>?@[\\\]^|\u007f]/;
  const parseHost = (text, special, input) => {
    if (text.startsWith("[")) {
      if (!text.endsWith("]")) throw invalid(input);
      return parseIPv6(text.slice(1, -1), input);
    }
    if (!special) {
      if (FORBIDDEN_HOST.test(text)) throw invalid(input);
      return encode(text, inSet.c0);
    }
    const domain = decodeUtf8(percentDecode(text)).toLowerCase();
    if (domain === "") throw invalid(input);
    const ascii = domain.normalize("NFC").split(".").map((label) =>
      /^[\x00-\x7f]*$/.test(label) ? label : punycode(label)).join(".");
    if (FORBIDDEN_DOMAIN.test(ascii)) throw invalid(input);
    return endsInNumber(ascii) ? parseIPv4(ascii, input) : ascii;
  };

  const shorten = (path, scheme) => {
    if (scheme === "file:" && path.length === 1 && /^[A-Za-z]:$/.test(path[0])) return;
    path.pop();
  };
  const single = (s) => s === "." || s.toLowerCase() === "%2e";
  const double = (s) => ["..", ".%2e", "%2e.", "%2e%2e"].includes(s.toLowerCase());

  // Parses `input` against `base` (a record, or null) into a record:
  // { scheme, username, password, host (null or text), port, path (an
  // array, or a string when opaque), query (null or text), fragment }.
  const parse = (input, base) => {
    const original = input;
    input = String(input).replace(/^[\u0000-\u0020]+|[\u0000-\u0020]+$/g, "").replace(/[\t\n\r]/g, "");
    const url = { scheme: "", username: "", password: "", host: null, port: null, path: [], query: null, fragment: null };
    let rest = input;
    const schemeMatch = /^([A-Za-z][A-Za-z0-9+.-]*):/.exec(rest);
    if (schemeMatch) {
      url.scheme = schemeMatch[1].toLowerCase() + ":";
      rest = rest.slice(schemeMatch[0].length);
    } else {
      if (!base) throw invalid(original);
      url.scheme = base.scheme;
    }
    const special = url.scheme in SPECIAL;
    const slash = special ? /[/\\]/ : /\//;
    // The fragment and the query come off first.
    const hashAt = rest.indexOf("#");
    if (hashAt >= 0) {
      url.fragment = encode(rest.slice(hashAt + 1), inSet.fragment);
      rest = rest.slice(0, hashAt);
    }
    const queryAt = rest.indexOf("?");
    let query = null;
    if (queryAt >= 0) {
      query = rest.slice(queryAt + 1);
      rest = rest.slice(0, queryAt);
    }
    const setQuery = () => {
      url.query = query === null ? null : encode(query, special ? inSet.specialQuery : inSet.query);
    };
    // `http:g` against an http base is relative to it, as for no scheme.
    const relative = !schemeMatch || (special && base && base.scheme === url.scheme && !slash.test(rest[0] || ""));
    if (!schemeMatch && base && typeof base.path === "string") {
      // A base with an opaque path takes a fragment only.
      if (rest !== "" || query !== null) throw invalid(original);
      return { ...base, fragment: url.fragment };
    }
    const authority = special ? /^[/\\]{2}/ : /^\/\//;
    if (authority.test(rest)) {
      rest = rest.slice(2);
      if (special && url.scheme !== "file:") rest = rest.replace(/^[/\\]+/, "");
      const end = rest.search(slash);
      let auth = end >= 0 ? rest.slice(0, end) : rest;
      rest = end >= 0 ? rest.slice(end) : "";
      const at = auth.lastIndexOf("@");
      if (at >= 0) {
        const info = auth.slice(0, at);
        auth = auth.slice(at + 1);
        const colon = info.indexOf(":");
        url.username = encode(colon >= 0 ? info.slice(0, colon) : info, inSet.userinfo);
        url.password = colon >= 0 ? encode(info.slice(colon + 1), inSet.userinfo) : "";
        if (auth === "") throw invalid(original);
      }
      const portMatch = /:([^\]:]*)$/.exec(auth);
      let hostText = auth;
      if (portMatch && !(auth.startsWith("[") && !auth.includes("]:"))) {
        hostText = auth.slice(0, portMatch.index);
        const port = portMatch[1];
        if (port !== "") {
          if (!/^[0-9]+$/.test(port) || +port > 65535) throw invalid(original);
          url.port = String(+port) === SPECIAL[url.scheme] ? null : String(+port);
        }
      }
      if (hostText === "") {
        if (special && url.scheme !== "file:") throw invalid(original);
        url.host = "";
      } else {
        url.host = parseHost(hostText, special, original);
        if (url.scheme === "file:" && url.host === "localhost") url.host = "";
      }
    } else if (!schemeMatch || relative) {
      if (!base) throw invalid(original);
      Object.assign(url, { username: base.username, password: base.password, host: base.host, port: base.port });
      if (rest === "") {
        url.path = [...base.path];
        url.query = query === null ? base.query : null;
        if (query !== null) setQuery();
        return url;
      }
      if (!slash.test(rest[0])) {
        const merged = [...base.path];
        shorten(merged, url.scheme);
        rest = merged.map((s) => "/" + s).join("") + "/" + rest;
      }
    } else if (!special) {
      if (!rest.startsWith("/")) {
        // An opaque path: `mailto:a@b`, `data:text/plain,x`.
        url.path = encode(rest, inSet.c0);
        setQuery();
        return url;
      }
    } else {
      if (url.scheme === "file:") url.host = "";
      else throw invalid(original);
    }
    setQuery();
    const segments = rest.split(slash);
    if (segments[0] === "") segments.shift();
    const path = [];
    segments.forEach((segment, i) => {
      const last = i === segments.length - 1;
      if (double(segment)) {
        shorten(path, url.scheme);
        if (last) path.push("");
      } else if (single(segment)) {
        if (last) path.push("");
      } else {
        path.push(encode(segment, inSet.path));
      }
    });
    if ((special || rest.startsWith("/")) && segments.length === 0 && special) path.push("");
    url.path = path;
    return url;
  };

  const serializePath = (url) => (typeof url.path === "string" ? url.path : url.path.map((s) => "/" + s).join(""));
  const serialize = (url, noFragment) => {
    let out = url.scheme;
    if (url.host !== null) {
      out += "//";
      if (url.username || url.password) out += url.username + (url.password ? ":" + url.password : "") + "@";
      out += url.host + (url.port !== null ? ":" + url.port : "");
    } else if (typeof url.path !== "string" && url.path.length > 1 && url.path[0] === "") out += "/.";
    out += serializePath(url);
    if (url.query !== null) out += "?" + url.query;
    if (!noFragment && url.fragment !== null) out += "#" + url.fragment;
    return out;
  };

  const formDecode = (text) => decodeUtf8(percentDecode(text.replace(/\+/g, " ")));
  const parseForm = (text) => text.split("&").filter((p) => p !== "").map((pair) => {
    const eq = pair.indexOf("=");
    return eq >= 0 ? [formDecode(pair.slice(0, eq)), formDecode(pair.slice(eq + 1))] : [formDecode(pair), ""];
  });
  const wellFormed = (s) => String(s).toWellFormed ? String(s).toWellFormed() : String(s);

  class URLSearchParams {
    #list = [];
    #url = null;
    constructor(init = "") {
      if (init instanceof URLSearchParams) this.#list = init.#list.map(([k, v]) => [k, v]);
      else if (init !== null && typeof init === "object" && typeof init[Symbol.iterator] === "function") {
        for (const pair of init) {
          const items = [...pair];
          if (items.length !== 2) throw new TypeError("Each query pair must be an iterable [name, value] tuple");
          this.#list.push([wellFormed(items[0]), wellFormed(items[1])]);
        }
      } else if (init !== null && typeof init === "object") {
        for (const key of Object.keys(init)) this.#list.push([wellFormed(key), wellFormed(init[key])]);
      } else {
        const text = String(init);
        this.#list = parseForm(text.startsWith("?") ? text.slice(1) : text);
      }
    }
    static _attach(params, url) {
      params.#url = url;
    }
    static _reset(params, query) {
      params.#list = query === null ? [] : parseForm(query);
    }
    #update() {
      if (!this.#url) return;
      const text = this.toString();
      this.#url(text === "" ? null : text);
    }
    get size() {
      return this.#list.length;
    }
    append(name, value) {
      this.#list.push([wellFormed(name), wellFormed(value)]);
      this.#update();
    }
    delete(name, value) {
      name = wellFormed(name);
      this.#list = this.#list.filter(([k, v]) => k !== name || (value !== undefined && v !== wellFormed(value)));
      this.#update();
    }
    get(name) {
      const found = this.#list.find(([k]) => k === wellFormed(name));
      return found ? found[1] : null;
    }
    getAll(name) {
      return this.#list.filter(([k]) => k === wellFormed(name)).map(([, v]) => v);
    }
    has(name, value) {
      name = wellFormed(name);
      return this.#list.some(([k, v]) => k === name && (value === undefined || v === wellFormed(value)));
    }
    set(name, value) {
      name = wellFormed(name);
      const at = this.#list.findIndex(([k]) => k === name);
      if (at < 0) this.#list.push([name, wellFormed(value)]);
      else {
        this.#list[at][1] = wellFormed(value);
        this.#list = this.#list.filter(([k], i) => k !== name || i === at);
      }
      this.#update();
    }
    sort() {
      // By code units, as the standard says; equal names keep their order.
      this.#list = this.#list
        .map((pair, i) => [pair, i])
        .sort(([[a], i], [[b], j]) => {
          const [x, y] = [a.split(""), b.split("")].map((s) => s.map((c) => c.charCodeAt(0)));
          for (let k = 0; k < Math.min(x.length, y.length); k++) if (x[k] !== y[k]) return x[k] - y[k];
          return x.length - y.length || i - j;
        })
        .map(([pair]) => pair);
      this.#update();
    }
    forEach(callback, self) {
      for (const [k, v] of this.#list) callback.call(self, v, k, this);
    }
    *entries() {
      for (const [k, v] of this.#list) yield [k, v];
    }
    *keys() {
      for (const [k] of this.#list) yield k;
    }
    *values() {
      for (const [, v] of this.#list) yield v;
    }
    [Symbol.iterator]() {
      return this.entries();
    }
    toString() {
      return this.#list.map(([k, v]) => encode(k, inSet.form, true) + "=" + encode(v, inSet.form, true)).join("&");
    }
    get [Symbol.toStringTag]() {
      return "URLSearchParams";
    }
  }
  const attach = URLSearchParams._attach;
  const reset = URLSearchParams._reset;
  delete URLSearchParams._attach;
  delete URLSearchParams._reset;

  class URL {
    #url;
    #params;
    constructor(input, base) {
      const baseRecord = base === undefined ? null : parse(String(base instanceof URL ? base.href : base), null);
      this.#url = parse(String(input instanceof URL ? input.href : input), baseRecord);
      this.#params = new URLSearchParams(this.#url.query ?? "");
      attach(this.#params, (query) => (this.#url.query = query));
    }
    static canParse(input, base) {
      try {
        new URL(input, base);
        return true;
      } catch {
        return false;
      }
    }
    static parse(input, base) {
      try {
        return new URL(input, base);
      } catch {
        return null;
      }
    }
    get href() {
      return serialize(this.#url);
    }
    set href(value) {
      this.#url = parse(String(value), null);
      reset(this.#params, this.#url.query);
    }
    get origin() {
      const u = this.#url;
      if (u.scheme === "blob:" && typeof u.path === "string") {
        try {
          return new URL(u.path).origin;
        } catch {
          return "null";
        }
      }
      if (!(u.scheme in SPECIAL) || u.scheme === "file:") return "null";
      return u.scheme + "//" + u.host + (u.port !== null ? ":" + u.port : "");
    }
    get protocol() {
      return this.#url.scheme;
    }
    get username() {
      return this.#url.username;
    }
    set username(value) {
      if (this.#url.host) this.#url.username = encode(String(value), inSet.userinfo);
    }
    get password() {
      return this.#url.password;
    }
    set password(value) {
      if (this.#url.host) this.#url.password = encode(String(value), inSet.userinfo);
    }
    get host() {
      const u = this.#url;
      return u.host === null ? "" : u.host + (u.port !== null ? ":" + u.port : "");
    }
    get hostname() {
      return this.#url.host ?? "";
    }
    get port() {
      return this.#url.port ?? "";
    }
    set port(value) {
      const text = String(value);
      if (text === "") this.#url.port = null;
      else {
        const digits = /^[0-9]+/.exec(text);
        if (digits && +digits[0] <= 65535) {
          this.#url.port = String(+digits[0]) === SPECIAL[this.#url.scheme] ? null : String(+digits[0]);
        }
      }
    }
    get pathname() {
      return serializePath(this.#url);
    }
    set pathname(value) {
      if (typeof this.#url.path === "string") return;
      const u = parse(String(value).startsWith("/") ? String(value) : "/" + String(value), { ...this.#url, path: [] });
      this.#url.path = u.path;
    }
    get search() {
      const q = this.#url.query;
      return q === null || q === "" ? "" : "?" + q;
    }
    set search(value) {
      let text = String(value);
      if (text.startsWith("?")) text = text.slice(1);
      this.#url.query = text === "" ? null : encode(text, this.#url.scheme in SPECIAL ? inSet.specialQuery : inSet.query);
      reset(this.#params, this.#url.query);
    }
    get searchParams() {
      return this.#params;
    }
    get hash() {
      const f = this.#url.fragment;
      return f === null || f === "" ? "" : "#" + f;
    }
    set hash(value) {
      let text = String(value);
      if (text.startsWith("#")) text = text.slice(1);
      this.#url.fragment = text === "" ? null : encode(text, inSet.fragment);
    }
    toString() {
      return this.href;
    }
    toJSON() {
      return this.href;
    }
    get [Symbol.toStringTag]() {
      return "URL";
    }
  }
  globalThis.URL = URL;
  globalThis.URLSearchParams = URLSearchParams;
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
    // The host makes each request whole, so a signal is looked at between
    // them: one aborted before a hop rejects with its reason.
    const signal = init && init.signal;
    for (let hop = 0; ; hop++) {
      if (signal && signal.aborted) throw signal.reason;
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
  // Puts `fn` at `parts` in `spaces` (plain objects made on the way).
  const place = (spaces, parts, fn) => {
    let space = spaces;
    for (const part of parts.slice(0, -1)) {
      if (!Object.hasOwn(space, part) || typeof space[part] !== "object") space[part] = {};
      space = space[part];
    }
    space[parts[parts.length - 1]] = fn;
  };
  globalThis.__stockade_install_tools = () => {
    const tools = {};
    const namespaces = {};
    const listing = host(JSON.stringify({ v: 1, id: 0, op: "list" }));
    if (listing) {
      for (const d of JSON.parse(listing).tools) {
        const fn = async (args) => call(d.name, args);
        Object.defineProperty(fn, "name", { value: d.name });
        fn.description = d.description;
        fn.schema = d.inputSchema;
        tools[d.name] = Object.freeze(fn);
        const parts = d.name.split(".");
        if (parts.length === 1) {
          if (!(d.name in globalThis)) globalThis[d.name] = tools[d.name];
          continue;
        }
        // A dotted name (`stripe.listTransactions`) is a function in a
        // namespace object, under `tools` and as a global, never over a
        // global the guest already has.
        place(namespaces, parts, tools[d.name]);
      }
    }
    for (const [root, space] of Object.entries(namespaces)) {
      if (!(root in tools)) tools[root] = space;
      if (!(root in globalThis)) globalThis[root] = space;
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
  // `rm` as Node's: a file, or with `recursive` a folder and all in it;
  // `force` makes a missing path no error.
  sync.rmSync = (path, options) => {
    const { recursive = false, force = false } = options || {};
    let found;
    try {
      found = stat(path);
    } catch (error) {
      if (force && error.code === "ENOENT") return;
      throw error;
    }
    if (!found.isDirectory()) return sync.unlinkSync(path);
    if (!recursive) {
      const error = new Error(`Path is a directory: rm returns EISDIR (is a directory) ${path}`);
      error.code = "ERR_FS_EISDIR";
      error.path = path;
      throw error;
    }
    for (const name of sync.readdirSync(path)) sync.rmSync(`${path}/${name}`, options);
    sync.rmdirSync(path);
  };
  const promises = {};
  for (const [name, fn] of Object.entries(sync)) {
    if (name === "existsSync") continue;
    promises[name.slice(0, -"Sync".length)] = async (...args) => fn(...args);
  }
  // Node's other form of each: a promise without a callback (as Amla's
  // `await fs.writeFile(...)`), else `callback(error, result)` once the
  // call is done; `exists` gives a boolean either way, as Amla's does.
  const either = {};
  for (const [name, fn] of Object.entries(sync)) {
    const plain = name.slice(0, -"Sync".length);
    either[plain] = (...args) => {
      const callback = typeof args[args.length - 1] === "function" ? args.pop() : null;
      const done = new Promise((resolve) => resolve(fn(...args)));
      if (callback === null) return done;
      if (plain === "exists") {
        done.then((found) => callback(found));
      } else {
        done.then((result) => callback(null, result), (error) => callback(error));
      }
      return undefined;
    };
  }
  globalThis.fs = Object.freeze({ ...either, ...sync, promises: Object.freeze(promises) });
})();
