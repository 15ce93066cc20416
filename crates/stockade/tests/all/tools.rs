//! Host tools from the guest's side: the Amla examples, every check of the
//! gate, and handlers that fail. Each refusal is checked twice: the guest
//! gets a typed exception, and the handler never ran.

use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use stockade::policy::{Constraint, Rule, ToolPolicy};
use stockade::{Language, Outcome, Policy, Sandbox, Status, Tool, ToolError};

/// A tool that counts its calls and echoes its arguments.
pub fn counted(name: &str) -> (Tool, Arc<AtomicU64>) {
    let calls = Arc::new(AtomicU64::new(0));
    let seen = calls.clone();
    let tool = Tool::new(name).handler(move |args| {
        seen.fetch_add(1, Ordering::SeqCst);
        Ok(json!({"ok": true, "args": args}))
    });
    (tool, calls)
}

fn run(policy: Policy, tools: Vec<Tool>, code: &str) -> Outcome {
    let mut builder = Sandbox::builder().policy(policy);
    for tool in tools {
        builder = builder.tool(tool);
    }
    let outcome = builder.build().expect("sandbox").run(Language::JavaScript, code).expect("run");
    assert_eq!(outcome.status, Status::Ok, "{outcome:?}");
    outcome
}

/// Guest code that calls `call` and returns the value or the error's shape.
fn attempt(call: &str) -> String {
    format!(
        "try {{ return {{ value: await {call} }} }} catch (e) {{ return {{ error: e.name, kind: e.kind, message: e.message }} }}"
    )
}

/// Amla's `transfer_money` rules: `amount <= 1000`, `currency in [USD, EUR]`, 10 calls.
pub fn transfer_policy() -> ToolPolicy {
    ToolPolicy {
        max_calls: Some(10),
        constraints: [
            ("amount".to_string(), Constraint::new(vec![Rule::Le(1000.0)]).expect("rule")),
            (
                "currency".to_string(),
                Constraint::new(vec![Rule::In(vec![json!("USD"), json!("EUR")])]).expect("rule"),
            ),
        ]
        .into(),
        ..ToolPolicy::default()
    }
}

#[test]
fn amla_transfer_money_example_end_to_end() {
    let (tool, calls) = counted("transfer_money");
    let policy = Policy::builder().tool("transfer_money", transfer_policy()).build().expect("policy");
    let code = r#"
        const attempt = async (args) => {
            try { await transfer_money(args); return "ok" }
            catch (e) { return `${e.name}/${e.kind}: ${e.message}` }
        };
        const results = [
            await attempt({ amount: 5000, currency: "USD" }),
            await attempt({ amount: 10, currency: "GBP" }),
        ];
        for (let i = 0; i < 11; i++) results.push(await attempt({ amount: 10, currency: "EUR" }));
        return results;
    "#;
    let outcome = run(policy, vec![tool], code);
    let results: Vec<String> = serde_json::from_value(outcome.value.expect("value")).expect("strings");
    assert!(results[0].starts_with("ToolDenied/denied") && results[0].contains("<= 1000"), "{}", results[0]);
    assert!(results[1].starts_with("ToolDenied/denied") && results[1].contains("currency"), "{}", results[1]);
    assert!(results[2..12].iter().all(|r| r == "ok"), "{results:?}");
    assert!(results[12].starts_with("ToolDenied/budget_exceeded"), "{}", results[12]);
    assert_eq!(calls.load(Ordering::SeqCst), 10, "the handler runs exactly the allowed number of times");
    assert_eq!(outcome.usage.tool_calls, 13);
}

#[test]
fn amla_get_weather_example_returns_the_tool_value() {
    let tool = Tool::new("get_weather")
        .description("Current weather for a city.")
        .schema(json!({"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}))
        .handler(|args| Ok(json!({"city": args["city"], "temp": 72})));
    let policy = Policy::builder().tool("get_weather", ToolPolicy::default()).build().expect("policy");
    let outcome = run(policy, vec![tool], "const w = await get_weather({city: 'SF'}); return w;");
    assert_eq!(outcome.value, Some(json!({"city": "SF", "temp": 72})));
}

#[test]
fn tools_are_listed_and_described() {
    let (tool, _) = counted("lookup");
    let tool = tool.description("Looks things up.");
    let (hidden, _) = counted("hidden");
    let policy = Policy::builder().tool("lookup", ToolPolicy::default()).build().expect("policy");
    let code = "[Object.keys(tools), tools.lookup.description, typeof lookup, typeof hidden, tools.lookup === lookup]";
    let outcome = run(policy, vec![tool, hidden], code);
    assert_eq!(outcome.value, Some(json!([["lookup"], "Looks things up.", "function", "undefined", true])));
}

#[test]
fn a_run_without_tools_has_none() {
    let outcome = crate::js("[typeof tools, Object.keys(tools).length, typeof ToolDenied]");
    assert_eq!(outcome.value, Some(json!(["object", 0, "function"])));
}

#[test]
fn unlisted_tools_are_refused_unless_the_policy_allows_them() {
    let (tool, calls) = counted("delete_everything");
    let outcome = run(Policy::default(), vec![tool.clone()], &attempt("tools.delete_everything?.({})"));
    // Not even visible to the guest.
    assert_eq!(outcome.value, Some(json!({})));
    assert_eq!(calls.load(Ordering::SeqCst), 0);

    let open = Policy::builder().allow_unlisted_tools(true).build().expect("policy");
    let outcome = run(open, vec![tool], &attempt("delete_everything({})"));
    assert_eq!(outcome.value.expect("value")["value"]["ok"], json!(true));
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

#[test]
fn off_schema_arguments_are_refused_before_the_constraints() {
    let calls = Arc::new(AtomicU64::new(0));
    let seen = calls.clone();
    let tool = Tool::new("transfer_money")
        .schema(json!({
            "type": "object",
            "properties": {"amount": {"type": "number"}, "currency": {"type": "string"}},
            "required": ["amount", "currency"],
            "additionalProperties": false,
        }))
        .handler(move |_| {
            seen.fetch_add(1, Ordering::SeqCst);
            Ok(json!("sent"))
        });
    let policy = Policy::builder().tool("transfer_money", transfer_policy()).build().expect("policy");
    for args in [
        r#"{amount: "5", currency: "USD"}"#,
        r#"{amount: 5}"#,
        r#"{amount: 5, currency: "USD", sneaky: true}"#,
        r#"{amount: 5000, currency: 7}"#,
    ] {
        let outcome = run(policy.clone(), vec![tool.clone()], &attempt(&format!("transfer_money({args})")));
        let value = outcome.value.expect("value");
        assert_eq!(
            (value["error"].as_str(), value["kind"].as_str()),
            (Some("ToolDenied"), Some("invalid_arguments")),
            "{args}: {value}"
        );
    }
    for args in ["5", "[1, 2]", "'text'"] {
        let outcome = run(policy.clone(), vec![tool.clone()], &attempt(&format!("transfer_money({args})")));
        assert_eq!(outcome.value.expect("value")["error"], json!("ToolError"), "{args}");
    }
    assert_eq!(calls.load(Ordering::SeqCst), 0);
}

#[test]
fn constraints_reach_nested_arguments_and_missing_ones_are_refused() {
    let (tool, calls) = counted("pay");
    let rules = ToolPolicy {
        constraints: [(
            "recipient.country".to_string(),
            Constraint::new(vec![Rule::In(vec![json!("DE"), json!("FR")])]).expect("rule"),
        )]
        .into(),
        ..ToolPolicy::default()
    };
    let policy = Policy::builder().tool("pay", rules).build().expect("policy");
    let cases = [
        (r#"{recipient: {country: "DE"}}"#, None),
        (r#"{recipient: {country: "US"}}"#, Some("recipient.country")),
        (r#"{recipient: {}}"#, Some("missing")),
        (r#"{recipient: "DE"}"#, Some("missing")),
        (r#"{}"#, Some("missing")),
    ];
    for (args, refused) in cases {
        let outcome = run(policy.clone(), vec![tool.clone()], &attempt(&format!("pay({args})")));
        let value = outcome.value.expect("value");
        match refused {
            None => assert_eq!(value["value"]["ok"], json!(true), "{args}: {value}"),
            Some(why) => {
                assert_eq!(value["error"], json!("ToolDenied"), "{args}: {value}");
                assert!(value["message"].as_str().expect("message").contains(why), "{args}: {value}");
            }
        }
    }
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

#[test]
fn the_rate_limit_holds_under_a_tight_loop() {
    let (tool, calls) = counted("ping");
    let rules = ToolPolicy { max_calls: Some(1000), rate: Some("5/s".into()), ..ToolPolicy::default() };
    let policy = Policy::builder().tool("ping", rules).build().expect("policy");
    let code = r#"
        let allowed = 0, limited = 0;
        for (let i = 0; i < 200; i++) {
            try { await ping({}); allowed++ } catch (e) { if (e.kind === "budget_exceeded") limited++ }
        }
        return [allowed, limited];
    "#;
    let started = std::time::Instant::now();
    let outcome = run(policy, vec![tool], code);
    let elapsed = started.elapsed().as_secs_f64();
    let [allowed, limited]: [u64; 2] = serde_json::from_value(outcome.value.expect("value")).expect("counts");
    // A burst of 5, then 5 more per second that the loop took.
    let most = 5 + (elapsed * 5.0).ceil() as u64;
    assert!(allowed >= 5 && allowed <= most, "allowed {allowed} in {elapsed:.3}s");
    assert_eq!(allowed + limited, 200);
    assert_eq!(calls.load(Ordering::SeqCst), allowed);
}

#[test]
fn max_calls_defaults_to_100_per_run_and_resets_each_run() {
    let (tool, calls) = counted("tick");
    let policy = Policy::builder().tool("tick", ToolPolicy::default()).build().expect("policy");
    let sandbox = Sandbox::builder().policy(policy).tool(tool).build().expect("sandbox");
    let code = "let n = 0; for (let i = 0; i < 150; i++) { try { await tick({}); n++ } catch {} } n";
    for _ in 0..2 {
        let outcome = sandbox.run(Language::JavaScript, code).expect("run");
        assert_eq!(outcome.value, Some(json!(100)));
    }
    assert_eq!(calls.load(Ordering::SeqCst), 200);
}

#[test]
fn handler_errors_and_panics_reach_the_guest_and_the_host_survives() {
    let failing = Tool::new("failing").handler(|_| Err(ToolError::new("the bank is closed")));
    let panicking = Tool::new("panicking").handler(|_| panic!("handler bug"));
    let asynchronous = Tool::new("later").async_handler(|args| async move { Ok(json!({"echo": args})) });
    let policy = Policy::builder().allow_unlisted_tools(true).build().expect("policy");
    let sandbox = Sandbox::builder()
        .policy(policy)
        .tool(failing)
        .tool(panicking)
        .tool(asynchronous)
        .build()
        .expect("sandbox");
    let code = format!(
        "return [await (async () => {{ {} }})(), await (async () => {{ {} }})(), await later({{x: 1}})]",
        attempt("failing({})"),
        attempt("panicking({})")
    );
    for _ in 0..3 {
        let outcome = sandbox.run(Language::JavaScript, &code).expect("run");
        let value = outcome.value.expect("value");
        assert_eq!(value[0]["error"], json!("ToolError"));
        assert!(value[0]["message"].as_str().expect("message").contains("the bank is closed"));
        assert_eq!(value[1]["error"], json!("ToolError"));
        assert!(value[1]["message"].as_str().expect("message").contains("panicked: handler bug"));
        assert_eq!(value[2], json!({"echo": {"x": 1}}));
    }
}

#[test]
fn request_and_response_sizes_are_capped() {
    let big = Tool::new("big")
        .handler(|args| Ok(Value::String("x".repeat(args["n"].as_u64().unwrap_or(0) as usize))));
    let rules = ToolPolicy {
        max_request_bytes: Some(1000),
        max_response_bytes: Some(10_000),
        ..ToolPolicy::default()
    };
    let policy = Policy::builder().tool("big", rules).build().expect("policy");
    let code = format!(
        "return [await (async () => {{ {} }})(), await (async () => {{ {} }})(), await (async () => {{ {} }})()]",
        attempt("big({n: 10})"),
        attempt("big({n: 1, pad: 'p'.repeat(5000)})"),
        attempt("big({n: 100000})"),
    );
    let outcome = run(policy, vec![big], &code);
    let value = outcome.value.expect("value");
    assert_eq!(value[0]["value"], json!("x".repeat(10)));
    assert_eq!(
        (value[1]["error"].as_str(), value[1]["kind"].as_str()),
        (Some("ToolDenied"), Some("too_large"))
    );
    assert_eq!(
        (value[2]["error"].as_str(), value[2]["kind"].as_str()),
        (Some("ToolDenied"), Some("too_large"))
    );
}

#[test]
fn invalid_tools_are_refused_when_the_sandbox_is_built() {
    for tool in
        [Tool::new("bad name"), Tool::new("1st"), Tool::new("schema").schema(json!({"type": "no-such-type"}))]
    {
        assert!(Sandbox::builder().tool(tool.clone()).build().is_err(), "{tool:?}");
    }
    let twice = Sandbox::builder().tool(Tool::new("same")).tool(Tool::new("same")).build();
    assert!(twice.is_err());
}

#[test]
fn a_refused_call_s_stack_shows_only_the_guest_s_frames() {
    let policy = Policy::builder().tool("pay", ToolPolicy { max_calls: Some(0), ..ToolPolicy::default() });
    let sandbox = Sandbox::builder()
        .policy(policy.build().expect("policy"))
        .tool(Tool::new("pay"))
        .build()
        .expect("sandbox");
    let outcome = sandbox
        .run(Language::JavaScript, "async function checkout() { await pay({}) }\nawait checkout()")
        .expect("run");
    let Status::GuestError { kind, stack, .. } = &outcome.status else { panic!("{outcome:?}") };
    assert_eq!(kind, "ToolDenied");
    let stack = stack.as_deref().unwrap_or_default();
    assert!(stack.contains("checkout") && !stack.contains("eval_script"), "{stack}");
}

/// Amla's `max_calls` is the sandbox tool's whole life: with
/// `one_budget`, `max_calls_per_session` counts every fresh run and every
/// session of the sandbox together; without it, each run starts afresh.
#[test]
fn one_budget_counts_a_tools_calls_over_every_run_and_session() {
    let policy = || {
        let mut policy = Policy::default();
        policy
            .tools
            .insert("refund".into(), ToolPolicy { max_calls_per_session: Some(2), ..ToolPolicy::default() });
        policy
    };
    let (tool, calls) = counted("refund");
    let sandbox = Sandbox::builder().policy(policy()).tool(tool).one_budget().build().expect("sandbox");
    let call = attempt("refund({})");
    let results: Vec<Value> = (0..2)
        .map(|_| sandbox.run(Language::JavaScript, &call).expect("run").value.expect("value"))
        .collect();
    assert!(results.iter().all(|r| r["value"]["ok"] == true), "{results:?}");
    // A session of the same sandbox draws on the same budget, as does a clone.
    let session = sandbox.session(Language::JavaScript).expect("session");
    let third = session.run(&call).expect("run").value.expect("value");
    assert_eq!(third["error"], "ToolDenied", "{third}");
    assert_eq!(third["kind"], "budget_exceeded", "{third}");
    let fourth = sandbox.clone().run(Language::JavaScript, &call).expect("run").value.expect("value");
    assert_eq!(fourth["error"], "ToolDenied", "{fourth}");
    assert_eq!(calls.load(Ordering::SeqCst), 2, "the handler ran only within the budget");

    // Without one_budget, every fresh run is a budget of its own.
    let (tool, calls) = counted("refund");
    let separate = Sandbox::builder().policy(policy()).tool(tool).build().expect("sandbox");
    for _ in 0..3 {
        let result = separate.run(Language::JavaScript, &call).expect("run").value.expect("value");
        assert_eq!(result["value"]["ok"], true, "{result}");
    }
    assert_eq!(calls.load(Ordering::SeqCst), 3);
}

/// Amla's dotted tool names: `stripe.listTransactions(...)` in both guests.
#[test]
fn a_dotted_tool_name_is_a_function_in_a_namespace() {
    crate::python::ensure_fetched();
    let (tool, calls) = counted("stripe.listTransactions");
    let policy = Policy::from_toml_str("[tools.\"stripe.listTransactions\"]\n").expect("policy");
    policy.validate().expect("a dotted name is valid in a policy");
    let sandbox = Sandbox::builder().policy(policy).tool(tool).build().expect("sandbox");
    let js = sandbox
        .run(Language::JavaScript, "const r = await stripe.listTransactions({customer: 'cus_1'}); [r.args.customer, typeof tools.stripe.listTransactions, Object.keys(tools)]")
        .expect("run");
    assert_eq!(js.value, Some(json!(["cus_1", "function", ["stripe.listTransactions", "stripe"]])), "{js:?}");
    let python = sandbox
        .run(Language::Python, "from stockade import tools\n[stripe.listTransactions(customer='cus_2')['args']['customer'], tools.stripe.listTransactions is stripe.listTransactions]")
        .expect("run");
    assert_eq!(python.value, Some(json!(["cus_2", true])), "{python:?}");
    assert_eq!(calls.load(Ordering::SeqCst), 2);
    // Empty parts, or a part that is no identifier, are refused.
    for bad in ["stripe..list", ".list", "stripe.", "stripe.1st", "a-b.c"] {
        let refused = Sandbox::builder().tool(Tool::new(bad).handler(|_| Ok(json!(null)))).build();
        assert!(refused.is_err(), "{bad} was accepted");
        let toml = format!("[tools.{bad:?}]\n");
        assert!(Policy::from_toml_str(&toml).and_then(|p| p.validate().map(|()| p)).is_err(), "{bad}");
    }
    // A tool cannot also be the namespace of another, in either order or
    // at any depth: the guest could reach only one of the two.
    for (outer, inner) in [("stripe", "stripe.list"), ("a.b", "a.b.c"), ("x", "x.y.z")] {
        let toml = format!("[tools.{inner:?}]\n[tools.{outer:?}]\n[tools.{:?}]\n", format!("{outer}0"));
        let refused = Policy::from_toml_str(&toml).and_then(|p| p.validate()).expect_err(&toml);
        assert_eq!(refused.key(), format!("tools.{outer}"), "{refused}");
        assert!(refused.to_string().contains(&format!("namespace of the tool `{inner}`")), "{refused}");
        let registered = Sandbox::builder()
            .policy(Policy::from_toml_str("allow_unlisted_tools = true\n").expect("policy"))
            .tool(Tool::new(inner).handler(|_| Ok(json!(null))))
            .tool(Tool::new(outer).handler(|_| Ok(json!(null))))
            .build();
        assert!(registered.is_err(), "{outer} beside {inner} was registered");
    }
    // A shared prefix that is no namespace is no conflict.
    let near = Policy::from_toml_str("[tools.stripe]\n[tools.stripe_list]\n[tools.\"stripes.list\"]\n")
        .expect("policy");
    near.validate().expect("`stripe`, `stripe_list` and `stripes.list` are distinct");
}

/// Host tools for native programs: `tool NAME --key value` in the jail
/// goes through the same gate (schema, constraints, budgets, audit).
#[test]
fn a_jailed_program_calls_host_tools_through_the_policy() {
    let (transfer, calls) = counted("transfer");
    let transfer = transfer.schema(json!({"type": "object", "properties": {
        "amount": {"type": "number"}, "currency": {"type": "string"}, "tags": {"type": "array", "items": {"type": "string"}},
    }}));
    let (lookup, _) = counted("stripe.listTransactions");
    let mut policy = Policy::default();
    policy.tools.insert("transfer".into(), transfer_policy());
    policy
        .tools
        .insert("stripe.listTransactions".into(), ToolPolicy { max_calls: Some(1), ..ToolPolicy::default() });
    let sandbox = Sandbox::builder().policy(policy).tool(transfer).tool(lookup).build().expect("sandbox");
    let code = r#"
tool transfer --amount 5 --currency USD --tags a --tags b
echo "ok=$?"
tool transfer --amount 5000 --currency USD; echo "denied=$?"
tool transfer --json '{"amount": 1, "currency": "EUR"}' | tr -d '\n' | wc -c | tr -d ' '
tool transfer --amount lots; echo "typed=$?"
tool nothing; echo "unknown=$?"
tool stripe.listTransactions --customer cus_1 > /dev/null; tool stripe.listTransactions; echo "budget=$?"
tool transfer --amount 1 --currency USD & tool transfer --amount 2 --currency USD & wait
"#;
    let outcome = sandbox.run(Language::Shell, code).expect("run");
    assert_eq!(outcome.status, Status::Ok, "{outcome:?}");
    let lines: Vec<&str> = outcome.stdout.lines().collect();
    assert_eq!(
        lines[0], r#"{"args":{"amount":5.0,"currency":"USD","tags":["a","b"]},"ok":true}"#,
        "{outcome:?}"
    );
    assert_eq!(
        &lines[1..],
        ["ok=0", "denied=1", lines[3], "typed=1", "unknown=1", "budget=1", lines[7], lines[8]]
    );
    for concurrent in &lines[7..9] {
        assert!(concurrent.contains(r#""ok":true"#), "{outcome:?}");
    }
    let stderr = &outcome.stderr;
    assert!(stderr.contains("tool: constraint_violated") || stderr.contains("amount"), "{stderr}");
    assert!(stderr.contains("tool: invalid_arguments: ") && stderr.contains("lots"), "{stderr}");
    assert!(stderr.contains("no tool named \"nothing\""), "{stderr}");
    assert!(stderr.contains("budget_exceeded"), "{stderr}");
    // The refused calls never reached the handler: 1 + the --json one + 2 at once.
    assert_eq!(calls.load(Ordering::SeqCst), 4, "{outcome:?}");
    // Every call went to the gate, the refused ones too (9 in all).
    assert_eq!(outcome.usage.tool_calls, 9, "{outcome:?}");
}

/// The channel takes only a connected stream socket per call: a guest
/// that writes to it, sends it a file, or sends the channel itself gets
/// nothing, and the run still ends.
#[test]
fn the_jails_tool_channel_refuses_what_is_not_a_call() {
    let (tool, calls) = counted("ping");
    let mut policy = Policy::default();
    policy.tools.insert("ping".into(), ToolPolicy::default());
    let sandbox = Sandbox::builder().policy(policy).tool(tool).build().expect("sandbox");
    let code = r#"
import os, socket, sys
fd = int(os.environ["STOCKADE_TOOLS_FD"])
channel = socket.socket(fileno=fd)
channel.send(b'{"v":1,"id":1,"op":"call","tool":"ping","args":{}}')
with open("/tmp/x", "w+") as f:
    socket.send_fds(channel, [b"c"], [f.fileno()])
socket.send_fds(channel, [b"c"], [fd])
a, b = socket.socketpair()
socket.send_fds(channel, [b"c"], [b.fileno()])
b.close()
a.sendall(b"ping\0")
a.shutdown(socket.SHUT_WR)
print(a.recv(100))
print(repr(open("/tmp/x").read()))
"#;
    let outcome = sandbox.run(Language::PythonNative, code).expect("run");
    assert_eq!(outcome.status, Status::Ok, "{outcome:?}");
    assert!(outcome.stdout.starts_with("b'0{"), "only the real call was answered: {outcome:?}");
    assert!(outcome.stdout.ends_with("\n''\n"), "nothing was written into the file it sent: {outcome:?}");
    assert_eq!(calls.load(Ordering::SeqCst), 1, "{outcome:?}");
}

/// A jail session's turns call tools too, each turn through its own gate
/// (so `max_calls` is per turn, `max_calls_per_session` over all of them);
/// a background process that calls between turns is refused.
#[test]
fn a_jail_sessions_turns_call_host_tools_and_nothing_calls_between_them() {
    let (ping, calls) = counted("ping");
    let mut policy = Policy::default();
    policy.tools.insert(
        "ping".into(),
        ToolPolicy { max_calls: Some(1), max_calls_per_session: Some(2), ..ToolPolicy::default() },
    );
    let sandbox = Sandbox::builder().policy(policy).tool(ping).build().expect("sandbox");
    let session = sandbox.session(Language::Shell).expect("session");
    let first = session.run("tool ping --n 1; tool ping --n 2; echo \"second=$?\"").expect("run");
    assert!(first.stdout.starts_with(r#"{"args":{"n":"1"},"ok":true}"#), "{first:?}");
    assert!(first.stdout.contains("second=1") && first.stderr.contains("budget_exceeded"), "{first:?}");
    // A call made after this turn ends, by a process it left behind: it
    // waits for /tmp/go, which the host writes once the turn is over.
    let code = "(while [ ! -e /tmp/go ]; do sleep 0.01; done; tool ping --n late > /tmp/late.part 2>&1; \
                echo $? >> /tmp/late.part; mv /tmp/late.part /tmp/late.out) > /dev/null 2>&1 &";
    let later = session.run(code).expect("run");
    assert_eq!(later.status, Status::Ok, "{later:?}");
    session.files().write("go", &b"now"[..]).expect("write /tmp/go");
    let done = (0..1000).any(|_| {
        std::thread::sleep(std::time::Duration::from_millis(10));
        session.files().stat("late.out").is_ok()
    });
    assert!(done, "the background call never finished");
    let between = session.run("cat /tmp/late.out").expect("run");
    assert!(between.stdout.contains("unavailable") && between.stdout.ends_with("1\n"), "{between:?}");
    let third = session.run("tool ping --n 3; echo \"third=$?\"").expect("run");
    assert!(third.stdout.contains(r#""n":"3""#), "{third:?}");
    let fourth = session.run("tool ping --n 4; echo \"fourth=$?\"").expect("run");
    assert!(fourth.stdout.contains("fourth=1") && fourth.stderr.contains("this session"), "{fourth:?}");
    assert_eq!(calls.load(Ordering::SeqCst), 2, "the handler ran for the allowed calls only");
}
