//! The rules in words, for `stockade policy explain` and the audit log.

use super::class::range_note;
use super::pattern::{Pattern, Target};
use super::rules::Rules;

impl Rules {
    /// What the rules allow and refuse, in words, one line each: the allow
    /// rules, the deny rules, then the budgets and DNS servers.
    ///
    /// ```
    /// use stockade_policy::network::Rules;
    /// use stockade_policy::{NetworkPolicy, NetworkRule};
    ///
    /// let rules = Rules::new(&NetworkPolicy {
    ///     allow: vec![NetworkRule::host("api.github.com")],
    ///     max_requests: Some(100),
    ///     ..NetworkPolicy::default()
    /// })?;
    /// assert_eq!(rules.explain(), ["allow api.github.com on ports 80 and 443", "at most 100 requests per run"]);
    /// # Ok::<(), stockade_policy::PolicyError>(())
    /// ```
    pub fn explain(&self) -> Vec<String> {
        let mut lines = Vec::new();
        if self.allow.is_empty() {
            lines.push("no network: no allow rule".to_string());
        }
        for rule in &self.allow {
            let mut line = format!("allow {}", describe(&rule.pattern, "on ports 80 and 443"));
            if !rule.methods.is_empty() {
                line.push_str(&format!(", methods {}", rule.methods.join(", ")));
            }
            if !rule.paths.is_empty() {
                line.push_str(&format!(", paths {}", rule.paths.join(", ")));
            }
            if let Some(note) = note(&rule.pattern) {
                line.push_str(&format!(" ({note})"));
            }
            lines.push(line);
        }
        for pattern in &self.deny {
            lines.push(format!("deny {}", describe(pattern, "on every port")));
        }
        let budgets = &self.budgets;
        let limits = [
            (budgets.requests, "requests per run"),
            (budgets.bytes_out, "bytes sent per run"),
            (budgets.bytes_in, "bytes received per run"),
        ];
        for (limit, what) in limits {
            if let Some(limit) = limit {
                lines.push(format!("at most {limit} {what}"));
            }
        }
        if let Some(ms) = budgets.idle_timeout_ms {
            lines.push(format!("a connection idle for {ms} ms is closed"));
        }
        if !self.dns.is_empty() {
            let servers: Vec<String> = self.dns.iter().map(ToString::to_string).collect();
            lines.push(format!("names are resolved by {}", servers.join(", ")));
        }
        lines
    }
}

/// The hosts and ports a pattern covers; `no_port` says which ports a
/// pattern without one covers.
fn describe(pattern: &Pattern, no_port: &str) -> String {
    let hosts = match &pattern.target {
        Target::Name(name) => name.clone(),
        Target::Subdomains(suffix) => {
            let domain = suffix.trim_start_matches('.');
            format!("subdomains of {domain} (not {domain} itself)")
        }
        Target::Addresses(net) => format!("addresses in {net}"),
    };
    match pattern.port {
        Some(port) => format!("{hosts} on port {port}"),
        None => format!("{hosts} {no_port}"),
    }
}

/// Whether an allow rule reaches addresses a name could never be let to.
fn note(pattern: &Pattern) -> Option<&'static str> {
    match &pattern.target {
        Target::Addresses(net) => range_note(net),
        Target::Name(_) | Target::Subdomains(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use crate::network::Rules;
    use crate::{NetworkPolicy, NetworkRule};

    #[test]
    fn one_line_per_rule() {
        let policy = NetworkPolicy {
            allow: vec![
                NetworkRule::host("api.github.com"),
                NetworkRule {
                    host: "*.example.org:8443".into(),
                    methods: vec!["get".into(), "HEAD".into()],
                    paths: vec!["/v1/".into()],
                },
                NetworkRule::host("10.1.2.3/32:8080"),
                NetworkRule::host("[2606:4700::1111]"),
            ],
            deny: vec!["secret.example.org".into(), "10.0.0.0/8:22".into()],
            max_requests: Some(100),
            max_bytes_out: Some(1024),
            max_bytes_in: Some(2048),
            idle_timeout_ms: Some(5000),
            dns: vec!["127.0.0.1:5353".into(), "[::1]:53".into()],
            upstream_ca: Vec::new(),
        };
        let rules = Rules::new(&policy).expect("valid rules");
        assert_eq!(
            rules.explain(),
            [
                "allow api.github.com on ports 80 and 443",
                "allow subdomains of example.org (not example.org itself) on port 8443, methods GET, HEAD, \
                 paths /v1/",
                "allow addresses in 10.1.2.3/32 on port 8080 (a non-public range, named exactly)",
                "allow addresses in 2606:4700::1111/128 on ports 80 and 443",
                "deny secret.example.org on every port",
                "deny addresses in 10.0.0.0/8 on port 22",
                "at most 100 requests per run",
                "at most 1024 bytes sent per run",
                "at most 2048 bytes received per run",
                "a connection idle for 5000 ms is closed",
                "names are resolved by 127.0.0.1:5353, [::1]:53",
            ]
        );
    }

    #[test]
    fn no_allow_rule_is_no_network() {
        let rules = Rules::new(&NetworkPolicy::default()).expect("valid rules");
        assert!(rules.is_empty());
        assert_eq!(rules.explain(), ["no network: no allow rule"]);
        let deny_only =
            NetworkPolicy { deny: vec!["*.evil.com".into()], max_requests: Some(1), ..Default::default() };
        let rules = Rules::new(&deny_only).expect("deny rules without allow rules are fine");
        assert!(rules.is_empty());
        assert_eq!(rules.explain()[0], "no network: no allow rule");
    }
}
