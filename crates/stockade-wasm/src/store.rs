//! A guest's store, and what its instance leaves to the next one in its
//! pool slot.
//!
//! The pool hands an instance's slot to the next guest after resetting the
//! pages the guest wrote, which wasmtime 48 finds with one `PAGEMAP_SCAN`
//! for pages that are *present* and written, reporting at most 32 runs of
//! them. Two things follow, and [`GuestStore`] deals with both when it is
//! dropped, before the pool gets the slot back:
//!
//! - **Swap** (a leak): a written page the kernel has swapped out is neither
//!   restored nor dropped, and the next guest in the slot reads it back in
//!   as the last guest left it (a fresh run saw the previous run's heap and
//!   its `__main__`). wasmtime's pull request 14357 reports it upstream.
//!   Whenever swap is on, the store has the kernel drop the whole of the
//!   guest's memory: dropped pages, swapped or not, read again as the
//!   module's image (or zeros), and a page that is not present cannot be
//!   swapped out while the pool resets. The price, only with swap on, is
//!   that the next instance faults its pages in again. Tables have the same
//!   flaw, and a stale function reference there could point into another
//!   instance, so the store also empties the guest's function table (both
//!   guests export it for this): a page swapped out after that holds only
//!   empty entries, which at worst make the next guest's call through them
//!   trap. CPython's exception objects in its GC heap are left as they are:
//!   wasm cannot read a GC object it did not allocate, and wasmtime checks
//!   every access to that heap.
//! - **Speed**: past the 32nd run the pool drops the rest of the memory, so
//!   a guest that writes more runs (CPython writes about 140) has the next
//!   instance fault them all in again. Otherwise the store joins the runs
//!   into 32 first ([`coalesce`]).

use crate::state::State;
use std::ops::{Deref, DerefMut, Range};
use wasmtime::{Instance, Store};

/// The store of one pooled guest instance: a `Store` that, when dropped,
/// first drops its guest's memory if the kernel may have swapped it, and
/// else joins the runs of pages the guest wrote (see the module's docs).
pub(crate) struct GuestStore(Store<State>);

impl GuestStore {
    /// Wraps a store whose instances come from the engine's pool.
    pub fn new(store: Store<State>) -> GuestStore {
        GuestStore(store)
    }
}

impl Deref for GuestStore {
    type Target = Store<State>;

    fn deref(&self) -> &Store<State> {
        &self.0
    }
}

impl DerefMut for GuestStore {
    fn deref_mut(&mut self) -> &mut Store<State> {
        &mut self.0
    }
}

impl Drop for GuestStore {
    fn drop(&mut self) {
        if swap_is_on() {
            forget(&mut self.0);
        } else if let Some(memory) = self.0.data().memory {
            coalesce(memory, &mut self.0);
        }
    }
}

/// Notes `instance`'s linear memory and function table in its store, for
/// [`GuestStore`] to look after when the store goes. Called as soon as an
/// instance exists.
pub(crate) fn remember_exports(instance: &Instance, store: &mut Store<State>) {
    let memory = instance.get_memory(&mut *store, crate::door::MEMORY);
    let table = instance.get_table(&mut *store, crate::door::TABLE);
    let state = store.data_mut();
    (state.memory, state.table) = (memory, table);
}

/// Whether any swap space is configured: `sysinfo`'s total swap, which
/// counts swap files, partitions and zram alike. One syscall, no file.
pub(crate) fn swap_is_on() -> bool {
    let mut info = std::mem::MaybeUninit::<libc::sysinfo>::zeroed();
    // SAFETY: `sysinfo` fills the struct it is given and touches nothing else.
    let status = unsafe { libc::sysinfo(info.as_mut_ptr()) };
    // SAFETY: zeroed is a valid `sysinfo`, and the call only wrote fields.
    let info = unsafe { info.assume_init() };
    // A failed call cannot say there is no swap.
    status != 0 || info.totalswap > 0
}

/// Runs of written pages the pool resets in place; past them it drops the
/// rest of the memory (wasmtime 48's `MAX_REGIONS`).
const POOL_RUNS: usize = 32;

/// Instances a slot whose runs fit goes without a scan.
const QUIET_INSTANCES: u8 = 7;

/// Per pool slot (by its memory's address): instances left before its runs
/// are scanned again.
static QUIET: std::sync::Mutex<std::collections::BTreeMap<usize, u8>> =
    std::sync::Mutex::new(std::collections::BTreeMap::new());

/// Most bytes [`coalesce`] copies to join runs, per instance.
const MAX_JOIN_BYTES: usize = 4 << 20;

/// Joins the guest's runs of written pages into at most [`POOL_RUNS`], by
/// having the kernel copy the untouched pages between the closest runs (a
/// private copy of a page holds what the page held, so nothing changes).
/// The pool then keeps all of them resident and resets them in place, and
/// the next instance in the slot does not fault them in again: CPython
/// writes about 140 runs of pages in a run, and past the 32nd the pool
/// dropped them all (and the pages the guest only read), so every run
/// faulted about 240 pages back in.
fn coalesce(memory: wasmtime::Memory, store: &mut Store<State>) {
    let data = memory.data_mut(&mut *store);
    // A scan of CPython's memory costs about 50 µs, and once the runs are
    // joined a slot's guests mostly write the same pages again, so a slot
    // whose runs fit is looked at again only every few instances. A slot's
    // first instance is not looked at: joining pays off only when the slot
    // is used again, and a process that runs one guest (`stockade run`)
    // would spend a millisecond copying pages for nobody.
    let slot = data.as_ptr() as usize;
    {
        let mut quiet = QUIET.lock().unwrap_or_else(|p| p.into_inner());
        let Some(left) = quiet.get_mut(&slot) else {
            quiet.insert(slot, 0);
            return;
        };
        if *left > 0 {
            *left -= 1;
            return;
        }
    }
    // Runs that fit, too far apart to join, or a kernel that cannot say:
    // the next few instances are unlikely to differ.
    if join_runs(data) != Some(true) {
        QUIET.lock().unwrap_or_else(|p| p.into_inner()).insert(slot, QUIET_INSTANCES);
    }
}

/// Joins `memory`'s runs of written pages into at most [`POOL_RUNS`]:
/// `Some(true)` when it did, `Some(false)` when they fit already, `None`
/// when the kernel cannot say or joining would copy too much.
pub(crate) fn join_runs(memory: &mut [u8]) -> Option<bool> {
    let runs = crate::pagemap::written_runs(memory)?;
    if runs.len() <= POOL_RUNS {
        return Some(false);
    }
    for gap in joins(&runs, POOL_RUNS, MAX_JOIN_BYTES)? {
        // SAFETY: the gap lies inside the guest's memory, which nothing
        // borrows while the store is dropped; populating a page for writing
        // copies its contents, it writes nothing.
        let populated = unsafe {
            rustix::mm::madvise(
                memory[gap.clone()].as_mut_ptr().cast(),
                gap.len(),
                rustix::mm::Advice::LinuxPopulateWrite,
            )
        };
        populated.ok()?;
    }
    Some(true)
}

/// The gaps whose filling leaves `runs` (in order) as at most `most` runs:
/// the smallest, unless they hold more than `budget` bytes together.
fn joins(runs: &[Range<usize>], most: usize, budget: usize) -> Option<Vec<Range<usize>>> {
    let mut gaps: Vec<Range<usize>> = runs.windows(2).map(|pair| pair[0].end..pair[1].start).collect();
    gaps.sort_by_key(|gap| gap.len());
    gaps.truncate(runs.len().saturating_sub(most));
    (gaps.iter().map(|gap| gap.len()).sum::<usize>() <= budget).then_some(gaps)
}

/// Drops every page of the guest's memory, so it reads as the module's
/// image again, and empties its function table.
pub(crate) fn forget(store: &mut Store<State>) {
    if let Some(table) = store.data().table {
        let size = table.size(&*store);
        if let Err(error) = table.fill(&mut *store, 0, wasmtime::Ref::Func(None), size) {
            tracing::warn!(%error, "could not empty a guest's function table");
        }
    }
    let Some(memory) = store.data().memory else { return };
    let data = memory.data_mut(&mut *store);
    if data.is_empty() {
        return;
    }
    // SAFETY: the range is exactly the guest's linear memory, which the
    // pool mapped private and page-aligned and which nothing borrows while
    // the store is being dropped; dropping its pages only resets contents
    // the guest was allowed to see anyway.
    let dropped = unsafe {
        rustix::mm::madvise(data.as_mut_ptr().cast(), data.len(), rustix::mm::Advice::LinuxDontNeed)
    };
    if let Err(error) = dropped {
        // Overwriting swaps every page in and leaves nothing of the guest's:
        // the pool then resets or drops them as written pages.
        tracing::warn!(%error, "could not drop a guest's memory; zeroing it");
        data.fill(0);
    }
}

#[cfg(test)]
mod tests {
    use super::joins;

    #[test]
    fn the_smallest_gaps_are_filled_within_the_budget() {
        let runs = [0..1, 3..4, 5..6, 16..17, 18..20];
        // Gaps: 1..3 (2), 4..5 (1), 6..16 (10), 17..18 (1).
        assert_eq!(joins(&runs, 5, 0), Some(vec![]));
        assert_eq!(joins(&runs, 3, 2), Some(vec![4..5, 17..18]));
        assert_eq!(joins(&runs, 2, 4), Some(vec![4..5, 17..18, 1..3]));
        assert_eq!(joins(&runs, 2, 3), None, "over the budget");
        assert_eq!(joins(&runs, 1, 100).map(|g| g.len()), Some(4));
        assert_eq!(joins(&[], 32, 0), Some(vec![]));
    }
}

/// Swap space for tests that need the kernel to swap a guest out.
#[cfg(test)]
pub(crate) mod test_swap {
    use std::path::PathBuf;

    /// Swap is on while this lives: the machine's own, or a swap file the
    /// test enabled (and disables and removes when dropped).
    pub struct Swap(Option<PathBuf>);

    /// Swap for a test, or `None` (the test then says it was skipped) when
    /// there is none and this process cannot enable any: not root, in a
    /// container that may not (`EPERM`), or with no folder on a filesystem
    /// that takes swap files (`EINVAL`: tmpfs, overlayfs). The temporary
    /// folder is tried first, then the crate's own (the checkout's disk).
    pub fn on() -> Option<Swap> {
        if super::swap_is_on() {
            return Some(Swap(None));
        }
        // SAFETY: geteuid has no preconditions.
        if unsafe { libc::geteuid() } != 0 {
            return None;
        }
        let name = format!("stockade-test-{}.swap", std::process::id());
        let folders = [std::env::temp_dir(), std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))];
        for folder in folders {
            let path = folder.join(&name);
            // A swap file may have no holes, so it is written, not truncated to size.
            std::fs::write(&path, vec![0u8; 64 << 20]).expect("write the swap file");
            std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o600))
                .expect("chmod");
            let swap = Swap(Some(path.clone()));
            let made = std::process::Command::new("mkswap").arg(&path).output().expect("run mkswap");
            assert!(made.status.success(), "mkswap: {}", String::from_utf8_lossy(&made.stderr));
            let c_path = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).expect("no NUL");
            // SAFETY: a valid NUL-terminated path; swapon only reads it.
            if unsafe { libc::swapon(c_path.as_ptr(), 0) } == 0 {
                return Some(swap);
            }
            let error = std::io::Error::last_os_error();
            // `swap` is dropped here, which removes the file (swapoff fails harmlessly).
            match error.raw_os_error() {
                Some(libc::EINVAL) => eprintln!("{} cannot hold a swap file: {error}", folder.display()),
                Some(libc::EPERM) => return None,
                _ => panic!("swapon {}: {error}", path.display()),
            }
        }
        None
    }

    impl Drop for Swap {
        fn drop(&mut self) {
            if let Some(path) = self.0.take() {
                let c_path = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).expect("no NUL");
                // SAFETY: as for swapon.
                unsafe { libc::swapoff(c_path.as_ptr()) };
                let _ = std::fs::remove_file(path);
            }
        }
    }

    /// Asks the kernel to swap out `data`'s pages now, and returns how many
    /// of them are swapped out afterwards.
    pub fn page_out(data: &mut [u8]) -> usize {
        use std::io::{Read, Seek, SeekFrom};
        // SAFETY: the range is memory this process owns; paging it out
        // changes where its contents live, not what they are.
        let status = unsafe { libc::madvise(data.as_mut_ptr().cast(), data.len(), libc::MADV_PAGEOUT) };
        assert_eq!(status, 0, "MADV_PAGEOUT: {}", std::io::Error::last_os_error());
        let pages = data.len() / 4096;
        let mut map = std::fs::File::open("/proc/self/pagemap").expect("pagemap");
        map.seek(SeekFrom::Start(data.as_ptr() as u64 / 4096 * 8)).expect("seek");
        let mut entries = vec![0u8; pages * 8];
        map.read_exact(&mut entries).expect("read pagemap");
        entries.chunks_exact(8).filter(|e| e[7] & 0x40 != 0).count()
    }
}
