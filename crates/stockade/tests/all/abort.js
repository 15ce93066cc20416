// AbortController, AbortSignal and console helpers; runtime.rs runs it in the guest and in node.
const c = new AbortController();
const seen = [];
c.signal.addEventListener("abort", (e) => seen.push("listener " + e.type));
c.signal.onabort = () => seen.push("onabort");
console.log(c.signal.aborted, c.signal.reason);
c.abort();
c.abort("again");
console.log(c.signal.aborted, c.signal.reason.name, seen.join(", "));
const custom = AbortSignal.abort("why");
console.log(custom.aborted, custom.reason);
try { custom.throwIfAborted(); } catch (e) { console.log("thrown", e); }
try { new AbortSignal(); } catch (e) { console.log(e.name); }
const t = AbortSignal.timeout(10);
await new Promise((r) => setTimeout(r, 30));
console.log(t.aborted, t.reason.name);
const any = AbortSignal.any([new AbortController().signal, AbortSignal.abort("first")]);
console.log(any.aborted, any.reason);
try { await fetch("http://example.invalid/", { signal: AbortSignal.abort() }); } catch (e) { console.log(e.name); }
console.count(); console.count(); console.count("x"); console.countReset(); console.count();
console.assert(1 === 1, "fine"); console.assert(false, "broke", 42);
console.dir({ a: 1 });
