//! Names resolved by the host, never by the guest: hickory's resolver,
//! pointed at the policy's `network.dns` servers or the host's own.

use hickory_resolver::TokioResolver;
use hickory_resolver::config::{
    ConnectionConfig, NameServerConfig, ResolveHosts, ResolverConfig, ResolverOpts,
};
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The most names whose answers are remembered at once.
const REMEMBERED: usize = 256;

/// The host's resolver for one sandbox.
#[derive(Clone)]
pub struct Resolver {
    inner: TokioResolver,
    /// Each name's last answer, until hickory says it expires. A program
    /// asks for one name again and again; hickory's own cache answers it
    /// too, but builds the query, hashes it and copies the records every
    /// time (16.7k instructions a request, most of one request's vetting),
    /// where this is one map lookup.
    answers: Arc<Mutex<HashMap<String, Answer>>>,
}

struct Answer {
    addresses: Vec<IpAddr>,
    until: Instant,
}

impl std::fmt::Debug for Resolver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Resolver").finish_non_exhaustive()
    }
}

impl Resolver {
    /// A resolver that asks `servers` (UDP, then TCP for long answers), or
    /// the host's `/etc/resolv.conf` servers when there are none.
    pub fn new(servers: &[SocketAddr]) -> std::io::Result<Resolver> {
        let provider = TokioRuntimeProvider::default();
        let mut builder = if servers.is_empty() {
            TokioResolver::builder(provider).map_err(std::io::Error::other)?
        } else {
            let name_servers = servers
                .iter()
                .map(|server| {
                    let connections = [ConnectionConfig::udp(), ConnectionConfig::tcp()]
                        .into_iter()
                        .map(|mut connection| {
                            connection.port = server.port();
                            connection
                        })
                        .collect();
                    NameServerConfig::new(server.ip(), true, connections)
                })
                .collect();
            TokioResolver::builder_with_config(ResolverConfig::from_name_servers(name_servers), provider)
        };
        let options: &mut ResolverOpts = builder.options_mut();
        // One source of answers, the one the policy names: not the host's
        // /etc/hosts, whose names (localhost, the host's own) no guest needs.
        options.use_hosts_file = ResolveHosts::Never;
        options.timeout = Duration::from_secs(3);
        options.attempts = 2;
        // Names are asked as given, never completed with a search domain.
        options.ndots = 0;
        let inner = builder.build().map_err(std::io::Error::other)?;
        Ok(Resolver { inner, answers: Arc::default() })
    }

    /// Every address `name` (canonical, without a trailing dot) has.
    pub async fn lookup(&self, name: &str) -> Result<Vec<IpAddr>, String> {
        if let Some(addresses) = self.remembered(name) {
            return Ok(addresses);
        }
        match self.inner.lookup_ip(format!("{name}.")).await {
            Ok(answer) => {
                let addresses: Vec<IpAddr> = answer.iter().collect();
                self.remember(name, &addresses, answer.valid_until());
                Ok(addresses)
            }
            Err(e) if e.is_no_records_found() => Err("no such name".into()),
            Err(e) => Err(e.to_string()),
        }
    }

    /// `name`'s last answer, if it has not expired.
    fn remembered(&self, name: &str) -> Option<Vec<IpAddr>> {
        let answers = self.answers.lock().unwrap_or_else(|p| p.into_inner());
        answers
            .get(name)
            .filter(|answer| Instant::now() < answer.until)
            .map(|answer| answer.addresses.clone())
    }

    /// Keeps `name`'s answer until `until`; a full memo first drops what
    /// has expired, and keeps nothing new if that frees no room.
    fn remember(&self, name: &str, addresses: &[IpAddr], until: Instant) {
        let mut answers = self.answers.lock().unwrap_or_else(|p| p.into_inner());
        if answers.len() >= REMEMBERED && !answers.contains_key(name) {
            let now = Instant::now();
            answers.retain(|_, answer| now < answer.until);
            if answers.len() >= REMEMBERED {
                return;
            }
        }
        answers.insert(name.to_string(), Answer { addresses: addresses.to_vec(), until });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::TestDns;

    /// An answer is used again only while its TTL lasts: after it, the
    /// name is asked again and the new answer wins.
    #[test]
    fn an_answer_is_used_again_only_until_its_ttl_ends() {
        let first: IpAddr = "203.0.113.1".parse().expect("ip");
        let second: IpAddr = "203.0.113.2".parse().expect("ip");
        let dns = TestDns::with_ttl(1, move |name, n| match (name, n) {
            ("memo.test", 0) => vec![first],
            ("memo.test", _) => vec![second],
            _ => vec![],
        })
        .expect("dns");
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        runtime.block_on(async {
            let resolver = Resolver::new(&[dns.address]).expect("resolver");
            assert_eq!(resolver.lookup("memo.test").await, Ok(vec![first]));
            assert_eq!(resolver.lookup("memo.test").await, Ok(vec![first]));
            tokio::time::sleep(Duration::from_millis(1500)).await;
            assert_eq!(resolver.lookup("memo.test").await, Ok(vec![second]));
            assert_eq!(resolver.lookup("other.test").await, Err("no such name".to_string()));
        });
    }
}
