//! The JavaScript guest's language surface: output, values, errors, await.

use crate::js;
use serde_json::json;
use stockade::Status;

#[test]
fn console_goes_to_stdout_and_stderr() {
    let outcome = js("console.log('hello', 1, {a: [1, 'x']}); console.error('oops'); console.warn('w')");
    assert_eq!(outcome.status, Status::Ok);
    assert_eq!(outcome.stdout, "hello 1 { a: [ 1, 'x' ] }\n", "quoted as node quotes it");
    assert_eq!(outcome.stderr, "oops\nw\n");
    assert_eq!(outcome.exit_code, 0);
}

#[test]
fn last_expression_is_the_value() {
    assert_eq!(js("const x = 20; x * 2 + 2").value, Some(json!(42)));
    assert_eq!(js("({a: 1, b: [true, null, 'x']})").value, Some(json!({"a": 1, "b": [true, null, "x"]})));
    assert_eq!(js("let y = 1").value, None);
    assert_eq!(js("10n ** 20n").value, Some(json!("100000000000000000000")));
}

#[test]
fn top_level_await_and_return() {
    let outcome = js("const v = await Promise.resolve(5); v + 1");
    assert_eq!(outcome.value, Some(json!(6)), "{outcome:?}");
    let outcome = js("const w = await new Promise(r => r({city: 'SF'})); return w;");
    assert_eq!(outcome.value, Some(json!({"city": "SF"})), "{outcome:?}");
    let outcome = js("if (true) { return 'early'; } 'late'");
    assert_eq!(outcome.value, Some(json!("early")), "{outcome:?}");
}

#[test]
fn uncaught_errors_are_guest_errors() {
    let outcome = js("function f() { null.x } f()");
    match &outcome.status {
        Status::GuestError { kind, message, stack } => {
            assert_eq!(kind, "TypeError");
            assert!(message.contains("null"), "{message}");
            assert!(stack.as_deref().unwrap_or_default().contains("f"), "{stack:?}");
        }
        other => panic!("expected a guest error, got {other:?}"),
    }
    assert_eq!(outcome.exit_code, 1);

    let outcome = js("await Promise.reject(new RangeError('nope'))");
    assert!(
        matches!(&outcome.status, Status::GuestError { kind, message, .. } if kind == "RangeError" && message == "nope"),
        "{outcome:?}"
    );

    let outcome = js("throw 42");
    assert!(matches!(&outcome.status, Status::GuestError { message, .. } if message == "42"), "{outcome:?}");

    let outcome = js("let = = 1");
    assert!(
        matches!(&outcome.status, Status::GuestError { kind, .. } if kind == "SyntaxError"),
        "{outcome:?}"
    );
}

#[test]
fn a_promise_that_never_settles_is_reported() {
    let outcome = js("await new Promise(() => {})");
    assert!(
        matches!(&outcome.status, Status::GuestError { kind, .. } if kind == "DeadlockError"),
        "{outcome:?}"
    );
}

#[test]
fn math_random_is_not_the_same_in_every_fresh_run() {
    // QuickJS seeded its generator before the snapshot, so every fresh
    // instance drew the same numbers.
    let draws: Vec<_> = (0..4)
        .map(|_| {
            let outcome = js("[Math.random(), Math.random()]");
            assert!(outcome.status.is_ok(), "{outcome:?}");
            outcome.value.expect("a value")
        })
        .collect();
    for (i, draw) in draws.iter().enumerate() {
        let pair = draw.as_array().expect("a pair");
        assert!(pair.iter().all(|x| x.as_f64().is_some_and(|x| (0.0..1.0).contains(&x))), "{draw}");
        assert_ne!(pair[0], pair[1]);
        assert!(!draws[..i].contains(draw), "run {i} drew the same numbers as an earlier run: {draws:?}");
    }
    // It still looks like Math.random.
    let shape = js("[typeof Math.random, Math.random.name, Object.keys(Math).includes('random')]");
    assert_eq!(shape.value, Some(serde_json::json!(["function", "random", false])));
}
