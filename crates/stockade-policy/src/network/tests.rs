//! The repository's table of verdicts, and the policy errors that name
//! their key.

use super::cases::{Expected, verdict_cases};
use super::{Host, Rules, Verdict};
use crate::{NetworkPolicy, NetworkRule, Policy, PolicyError};

const VERDICTS: &str = include_str!("../../../../tests/network/verdicts.txt");

/// What the policy's logic says of one case, in the file's words.
fn verdict_of(allow: &[String], deny: &[String], host: &str, port: u16) -> Result<Expected, String> {
    let policy = NetworkPolicy {
        allow: allow.iter().map(NetworkRule::host).collect(),
        deny: deny.to_vec(),
        ..NetworkPolicy::default()
    };
    let rules = Rules::new(&policy).map_err(|e| format!("the rules are refused: {e}"))?;
    let Ok(host) = Host::parse(host) else { return Ok(Expected::Invalid) };
    Ok(match rules.decide(&host, port) {
        Verdict::Allowed { .. } => Expected::Allow,
        Verdict::Denied { .. } => Expected::Deny,
    })
}

#[test]
fn every_verdict_in_the_table_holds() {
    let cases = verdict_cases(VERDICTS).expect("verdicts.txt reads");
    assert!(cases.len() >= 80, "verdicts.txt has {} cases", cases.len());
    let failures: Vec<String> = cases
        .iter()
        .filter_map(|case| {
            let got = verdict_of(&case.allow, &case.deny, &case.host, case.port);
            (got.as_ref() != Ok(&case.verdict)).then(|| {
                format!(
                    "line {}: {:?} port {}: want {:?}, got {got:?}",
                    case.line, case.host, case.port, case.verdict
                )
            })
        })
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {} cases fail:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

#[test]
fn deny_names_the_first_rule_that_matches() {
    let policy = NetworkPolicy {
        allow: vec![NetworkRule::host("*.example.org"), NetworkRule::host("a.example.org")],
        deny: vec!["b.example.org:443".into(), "*.b.example.org".into(), "b.example.org".into()],
        ..NetworkPolicy::default()
    };
    let rules = Rules::new(&policy).expect("valid rules");
    let host = |raw| Host::parse(raw).expect("a host");
    assert_eq!(rules.decide(&host("a.example.org"), 443), Verdict::Allowed { rule: 0 });
    assert_eq!(rules.decide(&host("b.example.org"), 443), Verdict::Denied { by: Some(0) });
    assert_eq!(rules.decide(&host("b.example.org"), 80), Verdict::Denied { by: Some(2) });
    assert_eq!(rules.decide(&host("b.example.org"), 22), Verdict::Denied { by: Some(2) }, "every port");
    assert_eq!(rules.decide(&host("x.b.example.org"), 443), Verdict::Denied { by: Some(1) });
    assert_eq!(rules.decide(&host("example.org"), 443), Verdict::Denied { by: None });
}

#[test]
fn admits_methods_and_normal_paths() {
    let policy = NetworkPolicy {
        allow: vec![
            NetworkRule {
                host: "api.example.com".into(),
                methods: vec!["get".into()],
                paths: vec!["/v1/".into()],
            },
            NetworkRule {
                host: "api.example.com".into(),
                methods: vec![],
                paths: vec!["/v1".into(), "/%7Eme".into()],
            },
            NetworkRule::host("any.example.com"),
        ],
        ..NetworkPolicy::default()
    };
    let rules = Rules::new(&policy).expect("valid rules");
    assert!(rules.admits(0, "GET", "/v1/x") && rules.admits(0, "get", "/v1/x"));
    assert!(!rules.admits(0, "POST", "/v1/x"));
    for attack in
        ["/v1/../admin", "/v1/%2e%2e/admin", "/v1%2fadmin", "//v1/", "/v1", "/v1/..;/admin", "/v1\\x"]
    {
        assert!(!rules.admits(0, "GET", attack), "{attack}");
    }
    assert!(rules.admits(0, "GET", "/v1/a/../b") && rules.admits(0, "GET", "/%76%31/x"));
    assert!(rules.admits(1, "DELETE", "/v1") && rules.admits(1, "PUT", "/v1/x"));
    assert!(!rules.admits(1, "GET", "/v10") && !rules.admits(1, "GET", "/v1%2fx"));
    assert!(rules.admits(1, "GET", "/~me/x") && rules.admits(1, "GET", "/%7eme"));
    assert!(rules.admits(2, "BREW", "/anything/../at/all"), "no lists: anything");
    assert!(!rules.admits(3, "GET", "/"), "no such rule");
}

fn network_error(network: NetworkPolicy) -> PolicyError {
    Rules::new(&network).expect_err("refused rules")
}

#[test]
fn rule_errors_name_their_key() {
    let allow =
        |host: &str| NetworkPolicy { allow: vec![NetworkRule::host(host)], ..NetworkPolicy::default() };
    let table = |methods: &[&str], paths: &[&str]| NetworkPolicy {
        allow: vec![
            NetworkRule::host("ok.example"),
            NetworkRule {
                host: "api.example".into(),
                methods: methods.iter().map(|m| m.to_string()).collect(),
                paths: paths.iter().map(|p| p.to_string()).collect(),
            },
        ],
        ..NetworkPolicy::default()
    };
    let cases = [
        (allow("*"), "network.allow[0]", "every host"),
        (allow("*.com"), "network.allow[0]", "single label"),
        (allow("*."), "network.allow[0]", "needs a domain"),
        (allow("0.0.0.0/0"), "network.allow[0]", "every address"),
        (allow("::/0:443"), "network.allow[0]", "not a host pattern"),
        (table(&["GET", "BAD METHOD"], &[]), "network.allow[1].methods[1]", "not an HTTP method"),
        (table(&["G\0T"], &[]), "network.allow[1].methods[0]", "\\0"),
        (table(&[], &["v1/"]), "network.allow[1].paths[0]", "start with `/`"),
        (table(&[], &["/ok", "/v1/../admin"]), "network.allow[1].paths[1]", "`..`"),
        (table(&[], &["/v1/%2E%2e/x"]), "network.allow[1].paths[0]", "`..`"),
        (table(&[], &["/v1?x=1"]), "network.allow[1].paths[0]", "`?`"),
        (table(&[], &["/v1#x"]), "network.allow[1].paths[0]", "`#`"),
        (table(&[], &["/v1\r\n"]), "network.allow[1].paths[0]", "control"),
        (
            NetworkPolicy { deny: vec!["ok.example".into(), "*.com".into()], ..Default::default() },
            "network.deny[1]",
            "single",
        ),
        (NetworkPolicy { dns: vec!["8.8.8.8".into()], ..Default::default() }, "network.dns[0]", "[::1]:53"),
        (NetworkPolicy { dns: vec!["[::1]:0".into()], ..Default::default() }, "network.dns[0]", "port"),
        (
            NetworkPolicy { max_requests: Some(0), ..Default::default() },
            "network.max_requests",
            "leave the key out",
        ),
        (NetworkPolicy { max_bytes_out: Some(0), ..Default::default() }, "network.max_bytes_out", "no limit"),
        (NetworkPolicy { max_bytes_in: Some(0), ..Default::default() }, "network.max_bytes_in", "no limit"),
        (
            NetworkPolicy { idle_timeout_ms: Some(0), ..Default::default() },
            "network.idle_timeout_ms",
            "no limit",
        ),
        (
            NetworkPolicy { idle_timeout_ms: Some(u64::MAX), ..Default::default() },
            "network.idle_timeout_ms",
            "≤",
        ),
    ];
    for (network, key, why) in cases {
        let err = network_error(network.clone());
        assert_eq!(err.key(), key, "{network:?}: {err}");
        assert!(err.to_string().contains(why), "{network:?}: {err}");
    }
    let ok = NetworkPolicy { dns: vec!["127.0.0.1:5353".into(), "[::1]:53".into()], ..Default::default() };
    let rules = Rules::new(&ok).expect("valid servers");
    assert_eq!(rules.dns().len(), 2);
}

#[test]
fn documents_are_refused_with_the_key() {
    let cases = [
        ("[network]\nallow = [\"a.example\", \"b.example\", \"*.com\"]", "network.allow[2]"),
        ("[network]\ndeny = [\"*\"]", "network.deny[0]"),
        ("[network]\ndns = [\"resolver\"]", "network.dns[0]"),
        ("[network]\nmax_requests = 0", "network.max_requests"),
        ("[network]\nallow = [{ host = \"a.example\", paths = [\"/../x\"] }]", "network.allow[0].paths[0]"),
        ("[secrets.K]\nfrom_env = \"K\"\nhosts = [\"api.example\", \"*.\"]", "secrets.K.hosts[1]"),
        ("[secrets.K]\nfrom_env = \"K\"\nhosts = [\"10.0.0.0/0\"]", "secrets.K.hosts[0]"),
        ("[secrets.K]\nfrom_env = \"K\"\nhosts = [\"api.example\"]", "secrets.K"),
    ];
    for (toml, key) in cases {
        let err = Policy::from_toml_str(toml).expect_err(toml);
        assert_eq!(err.key(), key, "{toml}: {err}");
    }
    let fine = "[network]\nallow = [\"api.example.org\"]\ndeny = [\"*.evil.example\"]\nmax_requests = 5\n\
                [secrets.K]\nfrom_env = \"K\"\nhosts = [\"*.example.org:8443\", \"[2001:db8::1]:443\"]";
    Policy::from_toml_str(fine).expect("deny rules, budgets and secrets are fine");
    Policy::from_toml_str("[network]\ndeny = [\"*.evil.example\"]\nmax_requests = 5")
        .expect("deny rules and budgets without allow rules are fine");
}
