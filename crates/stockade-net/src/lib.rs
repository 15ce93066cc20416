//! stockade's egress engine: every backend's network goes through it.
//!
//! A guest never resolves a name and never opens a socket to the world. It
//! asks the engine for a destination (an HTTP proxy request from the jail,
//! a `host::call` request from a WebAssembly guest); the engine checks the
//! name against the policy *before* any lookup, resolves it on the host,
//! refuses the whole answer if any address is not public, and connects to
//! the vetted address itself, never to the name again.
#![deny(missing_docs)]

pub mod address;
mod body;
mod budget;
mod destination;
mod engine;
mod event;
mod exchange;
mod fetch;
mod pool;
mod proxy;
mod redact;
mod refusal;
mod relay;
mod resolve;
mod secrets;
mod sni;
mod terminate;
#[cfg(feature = "testing")]
pub mod testing;
mod tls;

pub use budget::Budgets;
pub use destination::Destination;
pub use engine::{DEFAULT_IDLE, Engine};
pub use event::{NetEvent, Sink};
pub use fetch::MAX_FETCH_BODY_BYTES;
pub use refusal::{Budget, Refusal};
pub use resolve::Resolver;
pub use secrets::{MIN_SECRET_BYTES, SecretError, Secrets, Swapped, placeholder_for};
pub use stockade_core::NetworkUsage;
pub use tls::TlsError;
