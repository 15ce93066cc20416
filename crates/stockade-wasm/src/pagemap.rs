//! Which pages of a guest's memory it wrote, as the kernel's `PAGEMAP_SCAN`
//! (Linux 6.7+) reports them: present pages that are neither the shared zero
//! page nor the file's own (the module's image), i.e. private copies made by
//! writes. These are the pages wasmtime's pool resets between instances.

use std::fs::File;
use std::ops::Range;
use std::os::fd::AsRawFd;
use std::sync::Mutex;

/// `_IOWR('f', 16, struct pm_scan_arg)`, from `linux/fs.h`.
const PAGEMAP_SCAN: libc::c_ulong = 0xC060_6610;

/// Page categories (`PAGE_IS_*` in `linux/fs.h`).
const WRITTEN: u64 = 1 << 1;
const FILE: u64 = 1 << 2;
const PRESENT: u64 = 1 << 3;
const PFNZERO: u64 = 1 << 5;

/// Regions asked for per call; a scan with more resumes where it stopped.
const REGIONS_PER_CALL: usize = 256;

/// `struct pm_scan_arg`.
#[repr(C)]
struct ScanArg {
    size: u64,
    flags: u64,
    start: u64,
    end: u64,
    walk_end: u64,
    vec: u64,
    vec_len: u64,
    max_pages: u64,
    category_inverted: u64,
    category_mask: u64,
    category_anyof_mask: u64,
    return_mask: u64,
}

/// `struct page_region`.
#[repr(C)]
#[derive(Clone, Copy, Default)]
struct PageRegion {
    start: u64,
    end: u64,
    categories: u64,
}

/// This process's `/proc/self/pagemap`, opened again after a fork (an open
/// one describes the process that opened it).
static PAGEMAP: Mutex<Option<(u32, File)>> = Mutex::new(None);

/// The runs of pages in `memory` that the guest wrote, as offsets into it,
/// in order; `None` when the kernel cannot say (no `PAGEMAP_SCAN`).
pub(crate) fn written_runs(memory: &[u8]) -> Option<Vec<Range<usize>>> {
    let mut pagemap = PAGEMAP.lock().unwrap_or_else(|p| p.into_inner());
    let pid = std::process::id();
    if pagemap.as_ref().is_none_or(|(opened_by, _)| *opened_by != pid) {
        *pagemap = Some((pid, File::open("/proc/self/pagemap").ok()?));
    }
    let (_, file) = pagemap.as_ref()?;
    let base = memory.as_ptr() as u64;
    let end = base + memory.len() as u64;
    let mut runs: Vec<Range<usize>> = Vec::new();
    let mut regions = [PageRegion::default(); REGIONS_PER_CALL];
    let mut start = base;
    while start < end {
        let mut arg = ScanArg {
            size: std::mem::size_of::<ScanArg>() as u64,
            flags: 0,
            start,
            end,
            walk_end: 0,
            vec: regions.as_mut_ptr() as u64,
            vec_len: REGIONS_PER_CALL as u64,
            max_pages: 0,
            // Present and written, and not the zero page or the file's.
            category_inverted: PFNZERO | FILE,
            category_mask: WRITTEN | PRESENT | PFNZERO | FILE,
            category_anyof_mask: 0,
            // Report no categories, so neighbouring pages join one region.
            return_mask: 0,
        };
        // SAFETY: `arg` is a valid `pm_scan_arg` whose `vec` points at
        // `regions`, which holds `vec_len` entries the kernel may fill; the
        // scanned range is only read (no write-protect flags are set).
        let filled = unsafe { libc::ioctl(file.as_raw_fd(), PAGEMAP_SCAN, &mut arg) };
        let filled = usize::try_from(filled).ok()?;
        for region in regions.iter().take(filled) {
            let run = (region.start - base) as usize..(region.end - base) as usize;
            match runs.last_mut() {
                // A run cut by a full buffer goes on in the next call.
                Some(last) if last.end == run.start => last.end = run.end,
                _ => runs.push(run),
            }
        }
        if arg.walk_end <= start {
            return None;
        }
        start = arg.walk_end;
    }
    Some(runs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_pages_written_and_only_those() {
        let page = 4096;
        let pages = 1024;
        // SAFETY: a fresh private anonymous mapping, unmapped below.
        let base = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                pages * page,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        assert_ne!(base, libc::MAP_FAILED);
        // SAFETY: the mapping is `pages` pages, readable and writable, and ours.
        let memory = unsafe { std::slice::from_raw_parts_mut(base.cast::<u8>(), pages * page) };
        // More separate runs than one call reports (every other page of
        // the first 600), a page only read (the zero page), a longer run.
        let mut expected = vec![];
        for written in (0..600).step_by(2) {
            memory[written * page] = 1;
            expected.push(written * page..(written + 1) * page);
        }
        let _ = std::hint::black_box(memory[700 * page]);
        for written in 800..810 {
            memory[written * page + 100] = 1;
        }
        expected.push(800 * page..810 * page);
        let runs = written_runs(memory);
        // SAFETY: unmapping what was mapped above; `memory` is not used again.
        unsafe { libc::munmap(base, pages * page) };
        let Some(runs) = runs else {
            eprintln!("skipped: this kernel has no PAGEMAP_SCAN");
            return;
        };
        assert_eq!(runs, expected);
    }
}
