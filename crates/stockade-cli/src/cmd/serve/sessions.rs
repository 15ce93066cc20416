//! The session table: each token's live sessions, the slots held for
//! sessions still opening, and the ids of sessions that ended.
//!
//! An ended session (closed by a limit, by `max_runs`, by its idle timeout
//! or lifetime) keeps its id here, marked ended with why, so that every
//! later request for it gets 410 rather than 404, until the caller closes
//! it (DELETE: 204, then 404) or it is forgotten. Its guest is freed when
//! it ends; only the id, language and reason stay. To keep that bounded, a
//! token keeps at most [`MAX_ENDED_PER_TOKEN`] ended ids (past it, the
//! oldest is forgotten first) and each for at most [`ENDED_KEPT`].

use super::api::Tenant;
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};
use stockade::{Language, Session};

/// Ended session ids a token keeps at most; past it the oldest is forgotten.
pub const MAX_ENDED_PER_TOKEN: usize = 64;

/// How long an ended session's id is kept, at most.
pub const ENDED_KEPT: Duration = Duration::from_secs(15 * 60);

/// What an id names.
pub enum Slot {
    /// A session that can take runs.
    Live(Arc<Session>),
    /// A session that ended; its guest is gone.
    Ended {
        /// Why it ended, as the session said.
        why: String,
        /// Its language, for the listing.
        language: Language,
        /// When it ended, to forget it after [`ENDED_KEPT`].
        at: Instant,
    },
}

struct Entry {
    owner: Arc<Tenant>,
    slot: Slot,
}

/// One of a token's sessions, as `GET /v1/sessions` lists it.
#[derive(serde::Serialize, schemars::JsonSchema)]
pub struct Listed {
    /// The session's id.
    pub id: String,
    /// Its language.
    pub language: String,
    /// Whether it has ended (its runs get 410; DELETE forgets it).
    pub ended: bool,
    /// Why it ended, when it has.
    pub why: Option<String>,
}

/// The sessions of every token, under one lock: a token's limit counts its
/// open and opening sessions together, so concurrent opens cannot all see
/// room for one more.
pub struct Table {
    entries: HashMap<String, Entry>,
    /// Sessions being opened, per tenant (by `Tenant::index`).
    opening: Vec<usize>,
    /// Ended ids per tenant, oldest first.
    ended: Vec<VecDeque<String>>,
}

impl Table {
    /// An empty table for `tenants` tokens.
    pub fn new(tenants: usize) -> Table {
        Table { entries: HashMap::new(), opening: vec![0; tenants], ended: vec![VecDeque::new(); tenants] }
    }

    /// What `id` is to `tenant`: `None` if it is unknown or another token's
    /// (another token's session is as absent as one that never existed).
    pub fn get(&self, tenant: &Arc<Tenant>, id: &str) -> Option<&Slot> {
        self.entries.get(id).filter(|entry| Arc::ptr_eq(&entry.owner, tenant)).map(|entry| &entry.slot)
    }

    /// Marks `id` ended because of `why`, if it still names `session`; the
    /// session (its guest) is returned, to be dropped outside the lock.
    pub fn end(&mut self, id: &str, session: &Arc<Session>, why: String) -> Option<Arc<Session>> {
        let entry = self.entries.get_mut(id)?;
        let Slot::Live(live) = &entry.slot else { return None };
        if !Arc::ptr_eq(live, session) {
            return None;
        }
        let ended = Slot::Ended { why, language: session.language(), at: Instant::now() };
        let Slot::Live(session) = std::mem::replace(&mut entry.slot, ended) else { return None };
        let index = entry.owner.index;
        self.ended[index].push_back(id.to_string());
        while self.ended[index].len() > MAX_ENDED_PER_TOKEN {
            if let Some(oldest) = self.ended[index].pop_front() {
                self.entries.remove(&oldest);
            }
        }
        Some(session)
    }

    /// Takes `id` out of the table if `tenant` owns it, live or ended.
    pub fn remove(&mut self, tenant: &Arc<Tenant>, id: &str) -> Option<Slot> {
        self.get(tenant, id)?;
        let entry = self.entries.remove(id)?;
        if let Slot::Ended { .. } = entry.slot {
            self.ended[tenant.index].retain(|ended| ended != id);
        }
        Some(entry.slot)
    }

    /// `tenant`'s sessions, live and ended, by id.
    pub fn list(&self, tenant: &Arc<Tenant>) -> Vec<Listed> {
        let mut listed: Vec<Listed> = self
            .entries
            .iter()
            .filter(|(_, entry)| Arc::ptr_eq(&entry.owner, tenant))
            .map(|(id, entry)| match &entry.slot {
                Slot::Live(session) => Listed {
                    id: id.clone(),
                    language: session.language().to_string(),
                    ended: false,
                    why: None,
                },
                Slot::Ended { why, language, .. } => Listed {
                    id: id.clone(),
                    language: language.to_string(),
                    ended: true,
                    why: Some(why.clone()),
                },
            })
            .collect();
        listed.sort_by(|a, b| a.id.cmp(&b.id));
        listed
    }

    /// Ends the live sessions that have expired (idle or past their
    /// lifetime) and forgets ended ids older than [`ENDED_KEPT`]. Returns
    /// the guests, to be dropped outside the lock.
    pub fn reap(&mut self) -> Vec<Arc<Session>> {
        let expired: Vec<(String, Arc<Session>)> = self
            .entries
            .iter()
            .filter_map(|(id, entry)| match &entry.slot {
                Slot::Live(session) if session.expired() => Some((id.clone(), session.clone())),
                _ => None,
            })
            .collect();
        let mut lapsed = Vec::new();
        for (id, session) in expired {
            let why = session.closed_because().unwrap_or_else(|| "expired".into());
            lapsed.extend(self.end(&id, &session, why));
        }
        let now = Instant::now();
        for ended in &mut self.ended {
            while let Some(oldest) = ended.front() {
                let old = match self.entries.get(oldest).map(|entry| &entry.slot) {
                    Some(Slot::Ended { at, .. }) => now.duration_since(*at) >= ENDED_KEPT,
                    _ => true,
                };
                if !old {
                    break;
                }
                if let Some(oldest) = ended.pop_front() {
                    self.entries.remove(&oldest);
                }
            }
        }
        lapsed
    }
}

/// A session slot held for `tenant` while its session opens. [`fill`] puts
/// the session in its place; dropped unfilled (the open failed, or the
/// request was refused or went away), it gives the slot back.
///
/// [`fill`]: Reservation::fill
pub struct Reservation<'a> {
    table: &'a Mutex<Table>,
    tenant: Arc<Tenant>,
    filled: bool,
}

/// The table, even if a thread panicked holding it (every change to it is
/// one step, so it is never left half made).
pub fn lock(table: &Mutex<Table>) -> MutexGuard<'_, Table> {
    table.lock().unwrap_or_else(|p| p.into_inner())
}

impl<'a> Reservation<'a> {
    /// A slot for one more of `tenant`'s sessions, or how many it holds if
    /// its live and opening sessions are at its `max_sessions` (ended ones
    /// do not count).
    pub fn take(table: &'a Mutex<Table>, tenant: &Arc<Tenant>) -> Result<Reservation<'a>, usize> {
        let mut locked = lock(table);
        let live = locked
            .entries
            .values()
            .filter(|entry| Arc::ptr_eq(&entry.owner, tenant) && matches!(entry.slot, Slot::Live(_)))
            .count();
        let held = live + locked.opening[tenant.index];
        if held >= tenant.max_sessions {
            return Err(held);
        }
        locked.opening[tenant.index] += 1;
        Ok(Reservation { table, tenant: tenant.clone(), filled: false })
    }

    /// Turns the slot into the live session `id`, in one step under the lock.
    pub fn fill(mut self, id: String, session: Arc<Session>) {
        let mut table = lock(self.table);
        table.opening[self.tenant.index] -= 1;
        table.entries.insert(id, Entry { owner: self.tenant.clone(), slot: Slot::Live(session) });
        self.filled = true;
    }
}

impl Drop for Reservation<'_> {
    fn drop(&mut self) {
        if !self.filled {
            lock(self.table).opening[self.tenant.index] -= 1;
        }
    }
}
