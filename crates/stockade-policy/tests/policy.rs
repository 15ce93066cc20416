//! The policy document from the outside: parsing, defaults, errors, schema.

use stockade_policy::{FileMode, MIB, OutputOverflow, Policy, PolicyError, Requirement, Rule};

fn refused(toml: &str) -> PolicyError {
    match Policy::from_toml_str(toml) {
        Ok(policy) => panic!("accepted {toml:?} as {policy:?}"),
        Err(e) => e,
    }
}

#[test]
fn empty_policy_denies_everything_with_safe_limits() {
    let policy = Policy::from_toml_str("").expect("empty policy");
    assert_eq!(policy, Policy::default());
    assert_eq!(policy.limits.wall_ms, 30_000);
    assert_eq!(policy.limits.memory_bytes, 256 * MIB);
    assert_eq!(policy.limits.stdout_bytes, MIB);
    assert_eq!(policy.limits.stderr_bytes, MIB);
    assert_eq!(policy.limits.fuel, None);
    assert_eq!(policy.limits.output_overflow, OutputOverflow::Truncate);
    assert!(policy.env.is_empty() && policy.files.grants.is_empty() && policy.network.allow.is_empty());
    assert!(policy.tools.is_empty() && !policy.allow_unlisted_tools && policy.secrets.is_empty());
    assert!(policy.requirements().is_empty());
}

#[test]
fn full_document_parses_in_toml_and_json() {
    let toml = r#"
        allow_unlisted_tools = false
        [limits]
        wall_ms = 1500
        fuel = 1000000
        memory_bytes = 67108864
        stdout_bytes = 4096
        stderr_bytes = 4096
        output_overflow = "kill"
        [env]
        LANG = "C.UTF-8"
        [files]
        grants = [{ host = "./data", guest = "/data", mode = "rw" }]
        tmp_bytes = 1048576
        [network]
        allow = ["api.example.com:443"]
        [tools.transfer_money]
        max_calls = 10
        rate = "5/s"
        constraints = { amount = "<=1000", currency = ["USD", "EUR"], "recipient.country" = ["DE", "FR"] }
        [secrets.OPENAI_KEY]
        from_env = "OPENAI_API_KEY"
        hosts = ["api.openai.com"]
        [audit]
        path = "audit.jsonl"
        fsync = "always"
    "#;
    let policy = Policy::from_toml_str(toml).expect("valid policy");
    assert_eq!(policy.limits.fuel, Some(1_000_000));
    assert_eq!(policy.files.grants[0].mode, FileMode::Rw);
    let tool = &policy.tools["transfer_money"];
    assert_eq!(tool.constraints["amount"].rules(), &[Rule::Le(1000.0)]);
    assert!(tool.constraints["recipient.country"].check(&serde_json::json!("DE")).is_ok());
    assert_eq!(policy.requirements().len(), 7);
    assert_eq!(policy.secrets["OPENAI_KEY"].headers, ["authorization", "x-api-key"], "the default headers");

    // The JSON form of the same document is the same policy, and so is a round trip.
    let json = serde_json::to_string(&policy).expect("serialize");
    assert_eq!(Policy::from_json_str(&json).expect("json policy"), policy);
    assert_eq!(Policy::from_str_auto(&json).expect("auto json"), policy);
    assert_eq!(Policy::from_toml_str(&policy.to_toml_string()).expect("toml round trip"), policy);
}

#[test]
fn errors_name_the_key() {
    let cases = [
        ("[limits]\nmemory_bytes = 1000", "limits.memory_bytes", "≥ 1 MiB"),
        ("[limits]\nwall_ms = -5", "limits.wall_ms", "invalid value"),
        ("[limits]\nwall_ms = \"soon\"", "limits.wall_ms", "invalid type"),
        ("[limits]\nwall_ms = 0", "limits.wall_ms", "≥ 1"),
        ("[limits]\nwalltime = 5", "limits.walltime", "unknown field `walltime`"),
        ("surprise = true", "surprise", "unknown field `surprise`"),
        ("[env]\n\"A=B\" = \"x\"", "env.A=B", "without `=`"),
        ("[files]\ngrants = [{ host = \"/x\", guest = \"data\" }]", "files.grants[0].guest", "absolute"),
        ("[files]\ngrants = [{ host = \"/x\", guest = \"/d/../etc\" }]", "files.grants[0].guest", ".."),
        (
            "[files]\ngrants = [{ host = \"/x\", guest = \"/d\", mode = \"rwx\" }]",
            "files.grants[0].mode",
            "unknown variant",
        ),
        ("[network]\nallow = [\"http://evil\"]", "network.allow[0]", "not a host"),
        ("[tools.pay]\nrate = \"fast\"", "tools.pay.rate", "N/s"),
        ("[tools.pay]\nconstraints = { amount = \"about 5\" }", "tools.pay.constraints.amount", "not a rule"),
        (
            "[tools.pay]\nconstraints = { name = { matches = \"(\" } }",
            "tools.pay.constraints.name",
            "invalid pattern",
        ),
        ("[tools.\"bad name\"]\nmax_calls = 1", "tools.bad name", "ASCII"),
        ("[secrets.K]\nfrom_env = \"K\"\nhosts = []", "secrets.K.hosts", "at least one"),
        (
            "[network]\nallow = [\"a.example\"]\n[secrets.K]\nfrom_env = \"K\"\nhosts = [\"a.example\"]\nheaders = []",
            "secrets.K.headers",
            "at least one",
        ),
        (
            "[network]\nallow = [\"a.example\"]\n[secrets.K]\nfrom_env = \"K\"\nhosts = [\"a.example\"]\nheaders = [\"Host\"]",
            "secrets.K.headers[0]",
            "set by stockade's proxy",
        ),
        (
            "[network]\nallow = [\"a.example\"]\n[secrets.K]\nfrom_env = \"K\"\nhosts = [\"a.example\"]\nheaders = [\"x api\"]",
            "secrets.K.headers[0]",
            "not a header name",
        ),
        ("[audit]\nfsync = \"sometimes\"", "audit.fsync", "unknown variant"),
        ("[limits", "<document>", ""),
    ];
    for (toml, key, reason) in cases {
        let err = refused(toml);
        assert_eq!(err.key(), key, "{toml:?} → {err}");
        assert!(err.to_string().contains(reason), "{toml:?} → {err}");
    }
}

#[test]
fn json_errors_name_the_key_too() {
    let err = Policy::from_json_str(r#"{"limits": {"memory_bytes": "lots"}}"#).expect_err("wrong type");
    assert_eq!(err.key(), "limits.memory_bytes");
    let err = Policy::from_json_str(r#"{"limits": {}} trailing"#).expect_err("trailing bytes");
    assert_eq!(err.key(), "<document>");
}

#[test]
fn hostile_documents_are_refused_without_panic() {
    let huge = format!("[env]\nX = \"{}\"", "a".repeat(2 * 1024 * 1024));
    assert!(refused(&huge).to_string().contains("at most"));
    let deep = "[".repeat(10_000);
    let _ = Policy::from_toml_str(&deep);
    let _ = Policy::from_json_str(&deep);
    let _ = Policy::from_toml_str("[env]\nX = \"a\\u0000b\"");
}

#[test]
fn builder_builds_the_same_document() {
    let built = Policy::builder()
        .wall_time(std::time::Duration::from_millis(1500))
        .memory_bytes(64 * MIB)
        .env("LANG", "C.UTF-8")
        .fuel(10)
        .build()
        .expect("valid");
    let parsed = Policy::from_toml_str(
        "[limits]\nwall_ms = 1500\nmemory_bytes = 67108864\nfuel = 10\n[env]\nLANG = \"C.UTF-8\"",
    )
    .expect("valid");
    assert_eq!(built, parsed);
    assert_eq!(built.requirements(), vec![Requirement::Fuel]);
    assert!(Policy::builder().memory_bytes(10).build().is_err());
}

#[test]
fn schema_describes_every_section() {
    let schema = Policy::json_schema();
    let properties = schema["properties"].as_object().expect("properties");
    for section in ["limits", "env", "files", "network", "tools", "secrets", "audit", "allow_unlisted_tools"]
    {
        assert!(properties.contains_key(section), "schema lacks {section}");
    }
}

/// The fuzz target's oracle on stable: known documents, then thousands of
/// deterministic mutations of them (byte flips, cuts, splices).
#[test]
fn fuzz_oracle_holds_for_seeds_and_their_mutations() {
    let seeds: Vec<Vec<u8>> = vec![
        include_bytes!("../../../examples/policy.toml").to_vec(),
        include_bytes!("../../../examples/short-wall.toml").to_vec(),
        b"[tools.pay]\nmax_calls = 3\nrate = \"5/s\"\nconstraints = { amount = \"<=1000\", c = [\"USD\"] }"
            .to_vec(),
        br#"{"limits":{"wall_ms":10,"fuel":5},"env":{"A":"b"},"network":{"allow":["a.example:443"]}}"#
            .to_vec(),
        b"[files]\ngrants = [{ host = \"./d\", guest = \"/d\", mode = \"ro\" }]\n[audit]\nfsync = \"never\""
            .to_vec(),
        Policy::default().to_toml_string().into_bytes(),
    ];
    for seed in &seeds {
        stockade_policy::oracle::policy_document(seed);
    }
    const INTERESTING: &[u8] = b"[]{}=\"'.,\n0123456789-+eE_#\\u\0\xff<>!";
    let seeds: Vec<&[u8]> = seeds.iter().map(Vec::as_slice).collect();
    for bytes in stockade_policy::oracle::Mutations::of(&seeds, INTERESTING).take(5000) {
        stockade_policy::oracle::policy_document(&bytes);
    }
}

/// The `constraint` fuzz target's oracle on stable, over every rule form.
#[test]
fn constraint_oracle_holds_for_rules_and_values() {
    let rules = [
        "<=1000",
        "< 5",
        ">= -2.5",
        "> 1e3",
        "== USD",
        "!= \"root\"",
        "in [1, 2, \"x\"]",
        "not in [\"GBP\"]",
        "starts_with /data/",
        "ends_with \".csv\"",
        "matches ^[a-z]{1,8}$",
        "len <= 3",
        "<= NaN",
        "<= inf",
        "matches (",
        "in nope",
        "len <= -1",
        "",
        "≤ 5",
    ];
    let values =
        ["null", "5", "1000.5", "-3", "\"USD\"", "\"/data/x.csv\"", "[1, 2, 3, 4]", "{\"a\": 1}", "not json"];
    for rule in rules {
        for value in values {
            stockade_policy::oracle::constraint(format!("{rule}\n{value}").as_bytes());
        }
    }
    assert!(Policy::from_toml_str("[tools.t]\nconstraints = { a = \"<= NaN\" }").is_err());
}

/// Issue 20, found by `cargo fuzz run constraint`: a long decimal parsed to
/// one float, printed, and parsed back to its neighbour, so the policy a
/// user saved was not the policy read back. Exact float parsing fixes it.
#[test]
fn a_long_decimal_bound_survives_the_round_trip() {
    // The fuzzer's input, byte for byte: 33 fives, a point, six more.
    let number = format!("{}.555555", "5".repeat(33));
    for op in ["==", "!=", "<=", ">", "in ["] {
        let close = if op == "in [" { "]" } else { "" };
        stockade_policy::oracle::constraint(format!("{op}{number}{close}\n05P").as_bytes());
    }
}

#[test]
fn every_example_policy_is_valid() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples");
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).expect("examples/") {
        let path = entry.expect("entry").path();
        if path.extension().is_some_and(|e| e == "toml") {
            let text = std::fs::read_to_string(&path).expect("read");
            Policy::from_toml_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            seen += 1;
        }
    }
    assert!(seen >= 3, "found {seen} example policies");
}

/// Issue 20: a grant at guest `/proc/x` passed `policy check`, then the
/// jail failed to build its root ("No such file or directory").
#[test]
fn a_grant_over_proc_sys_or_dev_is_refused() {
    for guest in ["/proc", "/proc/x", "/sys", "/sys/kernel", "/dev", "/dev/shm"] {
        let toml = format!(
            "[files]\ngrants = [{{ host = \"/srv\", guest = \"/data\" }}, {{ host = \"/srv\", guest = {guest:?} }}]\n"
        );
        let error = refused(&toml);
        assert_eq!(error.key(), "files.grants[1].guest", "{guest}: {error}");
        let special = guest.split('/').nth(1).expect("a folder");
        assert!(error.to_string().contains(&format!("inside /{special}")), "{guest}: {error}");
    }
    for guest in ["/process", "/devices", "/system", "/data/proc"] {
        let toml = format!("[files]\ngrants = [{{ host = \"/srv\", guest = {guest:?} }}]\n");
        assert!(Policy::from_toml_str(&toml).is_ok(), "{guest} is an ordinary folder");
    }
}

/// Issue 20: the jail's opt-ins for Unix sockets and inotify are off by
/// default, parse, and are in the schema.
#[test]
fn jail_unix_sockets_and_inotify_are_opt_in() {
    let default = Policy::default();
    assert!(!default.jail.unix_sockets && !default.jail.inotify);
    let policy = Policy::from_toml_str("[jail]\nunix_sockets = true\ninotify = true\n").expect("valid");
    assert!(policy.jail.unix_sockets && policy.jail.inotify);
    let schema = serde_json::to_string(&Policy::json_schema()).expect("schema");
    assert!(schema.contains("unix_sockets") && schema.contains("inotify"), "{schema}");
}

/// Issue 19, item 8: a TOML error keeps the parser's excerpt, with the
/// caret under the value at fault on a line of its own; the first line is
/// still `key: message`.
#[test]
fn toml_errors_keep_the_caret_under_the_fault() {
    let err = refused("[limits]\nwall_ms = \"x\"\n").to_string();
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.first(), Some(&"limits.wall_ms: invalid type: string \"x\", expected u64"), "{err}");
    assert!(lines.contains(&"2 | wall_ms = \"x\""), "{err}");
    assert!(lines.contains(&"  |           ^^^"), "{err}");
    let err = refused("[limits\n").to_string();
    assert!(err.starts_with("<document>: ") && err.lines().any(|l| l.trim_end().ends_with('^')), "{err}");
}
