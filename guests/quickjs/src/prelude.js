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
