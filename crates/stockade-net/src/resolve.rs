//! Names resolved by the host, never by the guest: hickory's resolver,
//! pointed at the policy's `network.dns` servers or the host's own.

use hickory_resolver::TokioResolver;
use hickory_resolver::config::{
    ConnectionConfig, NameServerConfig, ResolveHosts, ResolverConfig, ResolverOpts,
};
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

/// The host's resolver for one sandbox.
#[derive(Clone)]
pub struct Resolver {
    inner: TokioResolver,
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
        Ok(Resolver { inner: builder.build().map_err(std::io::Error::other)? })
    }

    /// Every address `name` (canonical, without a trailing dot) has.
    pub async fn lookup(&self, name: &str) -> Result<Vec<IpAddr>, String> {
        match self.inner.lookup_ip(format!("{name}.")).await {
            Ok(answer) => Ok(answer.iter().collect()),
            Err(e) if e.is_no_records_found() => Err("no such name".into()),
            Err(e) => Err(e.to_string()),
        }
    }
}
