//! One sandbox run's egress: its compiled rules, resolver, budgets and
//! audit sink, and the tasks that serve its connections, all stopped when
//! the run ends.

use crate::address::own_addresses;
use crate::body::Tally;
use crate::budget::Budgets;
use crate::destination::{Destination, Vetting};
use crate::event::{NetEvent, Sink};
use crate::resolve::Resolver;
use crate::secrets::Secrets;
use crate::tls::Authority;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;
use stockade_core::NetworkUsage;
use stockade_core::SandboxError;
use stockade_policy::NetworkPolicy;
use stockade_policy::network::Rules;
use tokio::runtime::Runtime;
use tokio::task::AbortHandle;

/// How long a connection may sit idle when the policy does not say.
pub const DEFAULT_IDLE: Duration = Duration::from_secs(60);

/// What every task of a run's engine shares.
pub(crate) struct Inner {
    pub rules: Rules,
    /// Per allow rule: whether it restricts methods or paths (which a tunnel hides).
    restricting: Vec<bool>,
    resolver: Resolver,
    own: Vec<IpAddr>,
    pub budgets: Budgets,
    pub idle: Duration,
    sink: Option<Sink>,
    pub secrets: Secrets,
    /// The run's own certificate authority, when some destination needs
    /// its TLS terminated (a secret may go there, or a rule restricts
    /// methods or paths); `None` otherwise.
    pub authority: Option<Authority>,
    /// The TLS client towards destinations: made when the engine starts if
    /// it terminates TLS (so a bad `network.upstream_ca` is said at once),
    /// else at a WebAssembly guest's first `https` request.
    client: Mutex<Option<Arc<rustls::ClientConfig>>>,
    upstream_ca: Vec<String>,
    /// Every task serving the run (its listener, tunnels, onward
    /// connections, fetches), aborted together when the run ends, so that
    /// none outlives it.
    /// `None` once the run has ended: a task started after that (by a
    /// connection accepted as the run ended) is aborted at once.
    tasks: Mutex<Option<Vec<AbortHandle>>>,
    /// Onward connections kept alive between the run's requests.
    pub pool: Arc<crate::pool::Pool>,
}

impl Inner {
    pub fn vetting(&self) -> Vetting<'_> {
        Vetting { rules: &self.rules, resolver: &self.resolver, own: &self.own }
    }

    /// Whether decisions are recorded at all (a run without an audit log
    /// builds no records).
    pub fn records(&self) -> bool {
        self.sink.is_some()
    }

    pub fn record(&self, event: NetEvent) {
        if let Some(sink) = &self.sink {
            sink(event);
        }
    }

    pub fn tally(self: &Arc<Self>, destination: &Destination, method: &str) -> Tally {
        Tally::new(self.clone(), destination, method)
    }

    /// Runs `task` on the current runtime (the engine's) until it ends or
    /// the run does.
    pub fn spawn<F>(&self, task: F)
    where
        F: std::future::Future<Output = ()> + Send + 'static,
    {
        self.track(tokio::spawn(task).abort_handle());
    }

    /// Ends `task` with the run.
    fn track(&self, task: AbortHandle) {
        let mut tasks = self.tasks.lock().unwrap_or_else(|p| p.into_inner());
        let Some(tasks) = tasks.as_mut() else { return task.abort() };
        tasks.retain(|task| !task.is_finished());
        tasks.push(task);
    }

    /// Whether allow rule `rule` admits only some methods or paths.
    pub fn restricts_requests(&self, rule: usize) -> bool {
        self.restricting.get(rule).copied().unwrap_or(true)
    }

    /// The TLS client towards destinations.
    pub fn client(&self) -> Result<Arc<rustls::ClientConfig>, crate::tls::TlsError> {
        let mut client = self.client.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(config) = client.as_ref() {
            return Ok(config.clone());
        }
        let config = crate::tls::client_config(&self.upstream_ca)?;
        *client = Some(config.clone());
        Ok(config)
    }

    /// Whether a tunnel to `destination` has its TLS terminated, so that
    /// its requests can be seen: a secret may go there, or its rule
    /// restricts methods or paths. All other tunnels pass as they are.
    pub fn terminates(&self, destination: &Destination) -> bool {
        self.restricts_requests(destination.rule) || self.secrets.go_to(&destination.host, destination.port)
    }
}

/// The egress engine of one run (or one session): every connection the
/// guest makes goes through it, and [`Engine::finish`] ends them all.
pub struct Engine {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine").field("usage", &self.usage()).finish_non_exhaustive()
    }
}

/// The engine's tasks run here: a small runtime of its own, so that a
/// synchronous backend (the jail) needs none.
fn runtime() -> Result<&'static Runtime, SandboxError> {
    static RUNTIME: OnceLock<Runtime> = OnceLock::new();
    if let Some(runtime) = RUNTIME.get() {
        return Ok(runtime);
    }
    // Relaying is mostly waiting: a thread for every two cores leaves the
    // rest to the guests it serves, and on a small machine one thread
    // hands a request from one socket to the next without waking another.
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads((cores / 2).clamp(1, 4))
        .thread_name("stockade-net")
        .enable_all()
        .build()
        .map_err(|source| SandboxError::Network { step: "start its runtime", source })?;
    Ok(RUNTIME.get_or_init(|| runtime))
}

impl Engine {
    /// An engine for `policy` (already validated) and the run's `secrets`,
    /// recording each decision to `sink`.
    pub fn new(policy: &NetworkPolicy, secrets: Secrets, sink: Option<Sink>) -> Result<Engine, SandboxError> {
        let rules = Rules::new(policy)?;
        let servers: Vec<SocketAddr> = policy.dns.iter().filter_map(|server| server.parse().ok()).collect();
        let _entered = runtime()?.enter();
        let resolver = Resolver::new(&servers)
            .map_err(|source| SandboxError::Network { step: "read the resolver configuration", source })?;
        let own = own_addresses()
            .map_err(|source| SandboxError::Network { step: "list the host's addresses", source })?;
        let restricting: Vec<bool> =
            policy.allow.iter().map(|rule| !rule.methods.is_empty() || !rule.paths.is_empty()).collect();
        let tls_failed = |step| {
            move |e: crate::tls::TlsError| SandboxError::Network { step, source: std::io::Error::other(e) }
        };
        let (authority, client) = if !secrets.is_empty() || restricting.contains(&true) {
            let authority = Authority::new().map_err(tls_failed("make its certificate authority"))?;
            let client =
                crate::tls::client_config(&policy.upstream_ca).map_err(tls_failed("configure TLS"))?;
            (Some(authority), Some(client))
        } else {
            (None, None)
        };
        let inner = Inner {
            rules,
            restricting,
            resolver,
            own,
            budgets: Budgets::new(policy),
            idle: policy.idle_timeout_ms.map_or(DEFAULT_IDLE, Duration::from_millis),
            sink,
            secrets,
            authority,
            client: Mutex::new(client),
            upstream_ca: policy.upstream_ca.clone(),
            tasks: Mutex::new(Some(Vec::new())),
            pool: Arc::default(),
        };
        Ok(Engine { inner: Arc::new(inner) })
    }

    /// Serves the HTTP proxy on `listener` until [`Engine::finish`]: each
    /// connection accepted gets its own task.
    pub fn serve(&self, listener: std::net::TcpListener) -> Result<(), SandboxError> {
        let runtime = runtime()?;
        listener
            .set_nonblocking(true)
            .map_err(|source| SandboxError::Network { step: "serve its proxy", source })?;
        // Every accepted connection inherits it: answers go out as written,
        // not held back for the guest's ACK (Nagle).
        socket2::SockRef::from(&listener)
            .set_tcp_nodelay(true)
            .map_err(|source| SandboxError::Network { step: "serve its proxy", source })?;
        let _entered = runtime.enter();
        let listener = tokio::net::TcpListener::from_std(listener)
            .map_err(|source| SandboxError::Network { step: "serve its proxy", source })?;
        let inner = self.inner.clone();
        let task = runtime.spawn(async move {
            loop {
                match listener.accept().await {
                    Ok((stream, _)) => {
                        // Each connection is one of the run's tasks, ended
                        // with the run like the rest.
                        inner.spawn(crate::proxy::serve(inner.clone(), stream));
                        // The new connection's request is waiting: let it
                        // be served before this task asks the listener
                        // again (and hears "not yet").
                        tokio::task::yield_now().await;
                    }
                    Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
                }
            }
        });
        self.inner.track(task.abort_handle());
        Ok(())
    }

    /// Variables the guest's environment gets: each secret's placeholder.
    pub fn guest_env(&self) -> Vec<(String, String)> {
        self.inner.secrets.guest_env()
    }

    /// The certificate (PEM) of the run's authority, which the guest must
    /// trust for the tunnels the engine terminates; `None` when it
    /// terminates none.
    pub fn authority_pem(&self) -> Option<String> {
        self.inner.authority.as_ref().map(Authority::pem)
    }

    /// Makes a WebAssembly guest's HTTP request (the door's `http`
    /// operation), within `timeout`: vetted, budgeted, audited and with its
    /// secrets swapped in like every request of the jail's.
    pub fn fetch(
        &self,
        request: stockade_core::protocol::HttpRequest,
        timeout: Duration,
    ) -> Result<stockade_core::protocol::HttpResponse, crate::Refusal> {
        let runtime = runtime().map_err(|e| crate::Refusal::Unsupported(e.to_string()))?;
        let inner = self.inner.clone();
        // The engine's own runtime does the work; this thread (the guest's,
        // suspended in its door) only waits, whatever runtime it is on.
        let (done, wait) = std::sync::mpsc::sync_channel(1);
        let task = runtime.spawn(async move {
            let _ = done.send(crate::fetch::fetch(&inner, request, timeout).await);
        });
        self.inner.track(task.abort_handle());
        wait.recv().unwrap_or_else(|_| Err(crate::Refusal::Unsupported("the run's network has ended".into())))
    }

    /// What every task of the engine shares, for the crate's own tests.
    #[cfg(test)]
    pub(crate) fn inner(&self) -> Arc<Inner> {
        self.inner.clone()
    }

    /// What the guest has used of its network so far.
    pub fn usage(&self) -> NetworkUsage {
        self.inner.budgets.usage()
    }

    /// Stops serving and closes every connection; returns what was used.
    pub fn finish(&self) -> NetworkUsage {
        let tasks = self.inner.tasks.lock().unwrap_or_else(|p| p.into_inner()).take();
        for task in tasks.into_iter().flatten() {
            task.abort();
        }
        self.inner.pool.clear();
        self.usage()
    }

    /// Vets `host` on `port` as a request to it would be: for tests and
    /// for `stockade policy check`-like tools. Nothing is connected to.
    pub fn vet(&self, host: &str, port: u16) -> Result<Destination, crate::Refusal> {
        let inner = self.inner.clone();
        let host = host.to_string();
        runtime()
            .map_err(|e| crate::Refusal::Unsupported(e.to_string()))?
            .block_on(async move { inner.vetting().vet(&host, port).await })
    }
}

impl Drop for Engine {
    fn drop(&mut self) {
        self.finish();
    }
}

impl stockade_core::Egress for Engine {
    fn serve_proxy(&self, listener: std::net::TcpListener) -> Result<(), SandboxError> {
        self.serve(listener)
    }

    fn authority_pem(&self) -> Option<String> {
        Engine::authority_pem(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicBool, Ordering};

    /// A task that starts as the run ends (a connection accepted in that
    /// moment) is aborted at once instead of outliving the run.
    #[test]
    fn a_task_started_after_the_run_ended_is_aborted_at_once() {
        let engine = Engine::new(&NetworkPolicy::default(), Default::default(), None).expect("engine");
        engine.finish();
        let (inner, ran) = (engine.inner(), Arc::new(AtomicBool::new(false)));
        let noted = ran.clone();
        let started = runtime().expect("runtime").block_on(async move {
            let (done, wait) = tokio::sync::oneshot::channel();
            inner.spawn(async move {
                // Not the first poll: a worker may poll a new task before
                // the abort lands, and this one must still not get here.
                tokio::time::sleep(Duration::from_millis(100)).await;
                noted.store(true, Ordering::SeqCst);
                let _ = done.send(());
            });
            // The sender is dropped unsent when the task is aborted.
            wait.await.is_ok()
        });
        assert!(!started, "the task ran after the run ended");
        assert!(!ran.load(Ordering::SeqCst));
    }
}
