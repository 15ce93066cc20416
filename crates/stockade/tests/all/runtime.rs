//! The runtime that model-written code expects (issue 16): JavaScript's
//! timers, encoders and `atob`/`btoa`, each compared with node on the same
//! snippet, and CPython's asyncio.

use crate::{js, js_with};
use serde_json::json;
use stockade::{Language, Limit, Policy, Sandbox, Status};

/// What node prints for `code`, run as a module (so top-level `await` works
/// as it does in the guest). The machine's node is a test dependency
/// (`scripts/deps.sh`); without it this fails rather than passing unchecked.
fn node(code: &str) -> String {
    // Node 18 has web crypto only under `node:crypto`.
    let code = format!("globalThis.crypto ??= (await import('node:crypto')).webcrypto;\n{code}");
    let out = std::process::Command::new("node")
        .args(["--input-type=module", "-e", &code])
        .output()
        .expect("node runs (scripts/deps.sh installs it)");
    assert!(out.status.success(), "node failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).expect("UTF-8")
}

/// Runs `code` in the guest and in node, and compares what they print.
fn same_as_node(code: &str) {
    let outcome = js(code);
    assert_eq!(outcome.status, Status::Ok, "{outcome:?}");
    assert_eq!(outcome.stdout, node(code), "the guest and node differ on:\n{code}");
}

#[test]
fn console_log_formats_values_as_node_does() {
    // util.inspect's rules: prefixes, quoting, holes, circular references,
    // promises' states, format specifiers, line breaks at 80 columns and
    // the grouping of long arrays into columns.
    same_as_node(
        r#"
console.log({a:1,b:[1,2]}, new Map([["a",1]]), [1,"x"], new Set([1]), null, undefined, 1.5, -0, "s", [undefined, null], {s:"x"}, new Uint8Array([1,2]));
console.log([{a:1},{b:{c:{d:{e:1}}}}]);
console.log(new Error("boom").message, typeof Symbol("x"), Symbol("x"));
console.log([1,2,3].map(x=>x*2), "%s is %d", "x", 5);
console.log(new Date(0).toISOString(), [ , 1], function foo(){}, class A{}, 10n);
console.log(new ArrayBuffer(4), Promise.resolve(1), {f(){}}, [ 'a'.repeat(3) ]);
console.log(Array.from({length: 30}, (_, i) => i));
console.log({ "a-b": 1, 2: 3, nested: { arr: [[1,[2,[3,[4]]]]] } });
console.log(Promise.resolve(1), Promise.reject(new Error("x")).catch(()=>{}) && 0, new Promise(()=>{}));
const o = {name: "o"}; o.self = o; console.log(o);
class Foo { constructor(){ this.x = 1; } } console.log(new Foo(), [new Foo()], Object.create(null));
console.log("%s has %d items costing %f, %j %O %%", "cart", 3, 1.5, {a:1}, [1]);
console.log([1.5, -2, 300, 4, 5, 6, 7, 8, 9, 10, 11, 12], ["apple", "banana", "cherry", "dates", "elder", "fig", "grape"]);
console.log({ aVeryLongPropertyName: "some long string value here", another: [1, 2, 3], third: { nested: true } });
console.log(new Map([[1, {a: 1}], ["k", [1,2]]]), new Set(["x", "y"]), new WeakMap(), /ab+c/gi, new Date(NaN));
console.log([async function af(){}, function*g(){}, () => 1, class B extends Foo {}], Symbol.iterator, {[Symbol("s")]: 1});
console.dir({a: "x"}); console.log([["a", 1], ["b", 2]], Array(5), [1, , 3, , , 6]);
console.log(new Float64Array([1.5, 2]), new BigInt64Array(2), new Uint8Array(0), [], {}, new Map(), "str");
console.log({ get a() { return 1; }, set b(v) {}, get c() { return 1 }, set c(v) {} }, [new Number(3), new String("ab"), new Boolean(false)]);
console.log(Array.from({length: 120}, (_, i) => i % 7));
console.log(["a".repeat(20), "b".repeat(20), "c".repeat(20), "d".repeat(20)]);
console.log({ data: [{id: 1, tags: ["a", "b"]}, {id: 2, tags: []}], total: 2, page: { n: 1, of: 1 } });
"#,
    );
}

#[test]
fn errors_print_and_buffers_transfer_as_in_node() {
    // Promise.any's AggregateError says why; `cause` and `errors` show
    // though hidden; a transferred ArrayBuffer is detached in the sender.
    same_as_node(
        r#"
Promise.any([Promise.reject("Always fails")]).catch((e) => console.log(e, e.message));
const u = new AggregateError([1]); console.log(JSON.stringify(u.message), u.errors);
u.message = "set"; console.log(u.message);
const c = new Error("x", { cause: "why" }); console.log(Object.keys({ c }), String(c));
console.log({ e: new Error("") }.e.stack !== undefined, [new RangeError("r")].length);
const b = new ArrayBuffer(8); const o = structuredClone({ b }, { transfer: [b] }); console.log(b.byteLength, o.b.byteLength);
try { structuredClone(1, { transfer: [1] }) } catch (e) { console.log(e.name) }
const d = new ArrayBuffer(1);
for (const list of [[d, d], [{}]]) { try { structuredClone(d, { transfer: list }); } catch (e) { console.log(e.name, d.byteLength); } }
"#,
    );
}

#[test]
fn timers_run_in_nodes_order() {
    same_as_node(
        r#"
const log = [];
setTimeout(() => log.push("t10"), 10);
setTimeout(() => log.push("t0"), 0);
setTimeout(() => { log.push("t1"); queueMicrotask(() => log.push("micro in t1")); }, 1);
const cancelled = setTimeout(() => log.push("cancelled"), 5);
clearTimeout(cancelled);
Promise.resolve().then(() => log.push("promise"));
queueMicrotask(() => log.push("micro"));
let n = 0;
const every = setInterval(() => { log.push("interval " + n); if (++n === 3) clearInterval(every); }, 20);
setTimeout((a, b) => { log.push(`args ${a} ${b}`); setTimeout(() => log.push("nested"), 0); }, 80, "x", 2);
setTimeout(() => console.log(log.join(", ")), 150);
await new Promise((resolve) => setTimeout(resolve, 5));
console.log("awaited a timer");
"#,
    );
}

#[test]
fn an_unrefed_timer_does_not_keep_the_run_alive_and_a_pending_one_does() {
    same_as_node(
        r#"
setTimeout(() => console.log("never: unref'd"), 50).unref();
const kept = setTimeout(() => console.log("kept, then ref'd again"), 20);
kept.unref().ref();
console.log(typeof +kept, kept.hasRef());
"#,
    );
    // The run's value comes once its timers are done.
    let outcome = js("let late = 0; setTimeout(() => { late = 1; console.log('late'); }, 20); 'value'");
    assert_eq!(
        (outcome.stdout.as_str(), outcome.value.clone()),
        ("late\n", Some(json!("value"))),
        "{outcome:?}"
    );
}

#[test]
fn encoders_agree_with_node_on_non_ascii_and_broken_input() {
    same_as_node(
        r#"
const bytes = new TextEncoder().encode("héllo € 😀 \ud800!");
console.log(Array.from(bytes).join(" "));
console.log(new TextDecoder().decode(bytes));
for (const broken of [[0xe0, 0x80, 0x41], [0xf0, 0x9f, 0x98], [0xed, 0xa0, 0x80], [0xff, 0x41], [0xef, 0xbb, 0xbf, 0x42]]) {
  console.log(JSON.stringify(new TextDecoder().decode(new Uint8Array(broken))));
}
try { new TextDecoder("utf-8", { fatal: true }).decode(new Uint8Array([0xc3])); } catch (e) { console.log(e.name); }
const decoder = new TextDecoder();
let streamed = "";
for (const b of new TextEncoder().encode("a😀é")) streamed += decoder.decode(new Uint8Array([b]), { stream: true });
console.log(streamed + decoder.decode());
const into = new Uint8Array(4);
console.log(JSON.stringify(new TextEncoder().encodeInto("a€b", into)), into.join(" "));
console.log(btoa("hello"), btoa("\u00ff\u0000"), atob("aGVsbG8="), atob(" aGVs\nbG8 "), atob("aGVsbG8"));
for (const bad of [() => btoa("€"), () => atob("a"), () => atob("aGV!")]) {
  try { bad(); } catch (e) { console.log(e.name, e instanceof DOMException); }
}
"#,
    );
}

#[test]
fn structured_clone_and_crypto_agree_with_node() {
    same_as_node(
        r#"
const original = { n: 1, d: new Date(0), r: /a+/gi, m: new Map([[1, { x: 2 }]]), s: new Set([1, 2]),
  u: new Uint16Array([1, 2, 3]), nested: [1, [2, [3]]], e: new RangeError("boom") };
original.self = original;
const copy = structuredClone(original);
console.log(copy !== original, copy.self === copy, copy.d instanceof Date, copy.d.getTime(), copy.r.source,
  copy.r.flags, copy.m.get(1).x, [...copy.s].join(), Array.from(copy.u).join(), JSON.stringify(copy.nested),
  copy.e instanceof RangeError, copy.e.message, copy.m.get(1) !== original.m.get(1));
for (const bad of [() => {}, Symbol("s"), { f() {} }]) {
  try { structuredClone(bad); console.log("cloned"); } catch (e) { console.log(e.name); }
}
const bytes = crypto.getRandomValues(new Uint8Array(32));
console.log(bytes.length, bytes.some((b) => b !== 0));
const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
console.log(uuid.test(crypto.randomUUID()), crypto.randomUUID() !== crypto.randomUUID());
for (const bad of [new Uint8Array(65537), new Float64Array(2)]) {
  try { crypto.getRandomValues(bad); } catch (e) { console.log(e.name); }
}
for (const name of ["SHA-1", "SHA-256", "sha-384", { name: "SHA-512" }]) {
  const digest = await crypto.subtle.digest(name, new TextEncoder().encode("abc ü"));
  console.log(Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join(""));
}
try { await crypto.subtle.digest("MD5", new Uint8Array(1)); } catch (e) { console.log(e.name); }
"#,
    );
}

/// A snippet kept beside this file, as node runs it too.
fn snippet(name: &str) -> String {
    let path = format!("{}/tests/all/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

#[test]
fn abort_signals_and_console_helpers_agree_with_node() {
    same_as_node(&snippet("abort.js"));
}

#[test]
fn console_table_draws_what_node_draws() {
    same_as_node(&snippet("table.js"));
}

#[test]
fn url_parsing_of_odd_inputs_agrees_with_node() {
    same_as_node(&snippet("url.js"));
}

#[test]
fn an_error_in_a_timer_or_microtask_is_the_runs_error() {
    for code in [
        "setTimeout(() => { throw new RangeError('from a timer') }, 1)",
        "queueMicrotask(() => { throw new RangeError('from a microtask') })",
    ] {
        match js(code).status {
            Status::GuestError { kind, message, .. } => {
                assert_eq!(kind, "RangeError", "{code}");
                assert!(message.starts_with("from a"), "{message}");
            }
            other => panic!("{code}: {other:?}"),
        }
    }
    match js("setTimeout('not a function', 1)").status {
        Status::GuestError { kind, message, .. } => {
            assert_eq!(kind, "TypeError");
            assert!(message.contains("\"callback\" argument must be of type function"), "{message}");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_timer_past_the_wall_time_ends_the_run_at_the_wall() {
    let policy = Policy::builder().wall_time(std::time::Duration::from_millis(300)).build().expect("policy");
    let outcome = js_with(policy.clone(), "setTimeout(() => console.log('too late'), 60000); 'set'");
    assert_eq!(outcome.status, Status::LimitExceeded { which: Limit::Wall }, "{outcome:?}");
    assert!(!outcome.stdout.contains("too late"));
    let outcome = js_with(policy, "setInterval(() => {}, 10)");
    assert_eq!(outcome.status, Status::LimitExceeded { which: Limit::Wall }, "{outcome:?}");
}

#[test]
fn a_sessions_next_run_has_no_timer_of_the_last() {
    let sandbox = Sandbox::new(Policy::default()).expect("sandbox");
    let session = sandbox.session(Language::JavaScript).expect("session");
    let first =
        session.run("setTimeout(() => console.log('left over'), 10); throw new Error('early')").expect("run");
    assert!(matches!(first.status, Status::GuestError { .. }), "{first:?}");
    let second = session.run("await new Promise((r) => setTimeout(r, 30)); 'second'").expect("run");
    assert_eq!(second.value, Some(json!("second")), "{second:?}");
    assert!(!second.stdout.contains("left over"), "{second:?}");
}

#[test]
fn asyncio_runs_gather_timeouts_and_tasks() {
    let sandbox = Sandbox::new(Policy::default()).expect("sandbox");
    let code = r#"
import asyncio, time

async def work(i):
    await asyncio.sleep(0.02 * i)
    return i * i

async def main():
    started = time.monotonic()
    squares = await asyncio.gather(*(work(i) for i in range(5)))
    try:
        await asyncio.wait_for(asyncio.sleep(10), timeout=0.05)
        timed_out = False
    except TimeoutError:
        timed_out = True
    task = asyncio.create_task(work(3))
    async with asyncio.timeout(1):
        late = await task
    return squares, timed_out, late, time.monotonic() - started < 5

print(asyncio.run(main()))
"#;
    let outcome = sandbox.run(Language::Python, code).expect("run");
    assert_eq!(outcome.status, Status::Ok, "{outcome:?}");
    assert_eq!(outcome.stdout, "([0, 1, 4, 9, 16], True, 9, True)\n", "{outcome:?}");
}

#[test]
fn a_thread_pool_runs_its_tasks_as_they_come_and_processes_are_refused_with_a_reason() {
    let sandbox = Sandbox::new(Policy::default()).expect("sandbox");
    let code = r#"
import asyncio, os, subprocess, threading
from concurrent.futures import ThreadPoolExecutor, as_completed
with ThreadPoolExecutor(max_workers=4) as pool:
    print(list(pool.map(lambda x: x * 2, range(5))))
    print(sorted(f.result() for f in as_completed([pool.submit(pow, 2, i) for i in range(4)])))
    print(type(pool.submit(lambda: 1 / 0).exception()).__name__)
print(asyncio.run(asyncio.to_thread(lambda: "to_thread")))
for attempt in (lambda: subprocess.run(["ls"]), lambda: os.system("ls")):
    try:
        attempt()
    except PermissionError as error:
        print("PermissionError", "process jail" in str(error))
try:
    threading.Thread(target=print).start()
except RuntimeError as error:
    print("RuntimeError", "ThreadPoolExecutor" in str(error))
"#;
    let outcome = sandbox.run(Language::Python, code).expect("run");
    assert_eq!(outcome.status, Status::Ok, "{outcome:?}");
    assert_eq!(
        outcome.stdout,
        "[0, 2, 4, 6, 8]\n[1, 2, 4, 8]\nZeroDivisionError\nto_thread\nPermissionError True\n\
         PermissionError True\nRuntimeError True\n",
        "{outcome:?}"
    );
}

#[test]
fn a_python_tool_can_be_awaited_gathered_or_called_plainly() {
    let tool = stockade::Tool::new("get_weather")
        .description("Weather for a city")
        .schema(json!({"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}))
        .handler(|args| Ok(json!({"city": args["city"], "temp": 72})));
    let policy = Policy::builder()
        .tool("get_weather", stockade::policy::ToolPolicy::default())
        .build()
        .expect("policy");
    let sandbox = Sandbox::builder().policy(policy).tool(tool).build().expect("sandbox");
    let code = r#"
import asyncio, json

async def main():
    awaited = await get_weather(city="SF")
    plain = get_weather(city="LA")
    both = await asyncio.gather(get_weather(city="NY"), get_weather("BO"))
    return awaited["city"], plain["city"], [w["city"] for w in both], json.dumps(plain)

print(asyncio.run(main()))
print(get_weather("plain"))
"#;
    let outcome = sandbox.run(Language::Python, code).expect("run");
    assert_eq!(outcome.status, Status::Ok, "{outcome:?}");
    assert_eq!(
        outcome.stdout,
        "('SF', 'LA', ['NY', 'BO'], '{\"city\": \"LA\", \"temp\": 72}')\n{'city': 'plain', 'temp': 72}\n",
        "{outcome:?}"
    );
}
