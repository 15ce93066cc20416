//! Where a path is on disk, whatever name it goes by: a bind mount, a
//! second mount of the same file system or a hard link gives stockade's
//! own files other names, and a guard that compared path strings let a
//! grant of such an alias reach the audit log and the signing key.
//!
//! A [`Place`] is identified twice over:
//! - by the device and inode numbers of the path and of every folder
//!   above it, which no name changes;
//! - by the path inside its file system (the mount's root in
//!   `/proc/self/mountinfo` joined with the rest of the path), which also
//!   sees a bind mount of a folder *inside* another: walking up from the
//!   alias never meets the folder it came from.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// A file or folder, named by what it is rather than by its path.
#[derive(Debug)]
pub(crate) struct Place {
    /// Device and inode of the path itself, when it exists.
    id: Option<(u64, u64)>,
    /// Device and inode of every folder from the path (or its folder, when
    /// it does not exist) up to the root.
    above: Vec<(u64, u64)>,
    /// The mount's device (`major:minor`) and the path inside that file system.
    in_fs: Option<(String, PathBuf)>,
}

impl Place {
    /// The place of `path`: canonical and absolute; it may not exist yet
    /// (an audit log about to be created), but its folder must.
    pub fn of(path: &Path) -> Place {
        let id = std::fs::metadata(path).ok().map(|m| (m.dev(), m.ino()));
        let above = path
            .ancestors()
            .skip(usize::from(id.is_none()))
            .filter_map(|folder| std::fs::metadata(folder).ok())
            .map(|m| (m.dev(), m.ino()))
            .collect();
        let in_fs =
            std::fs::read_to_string("/proc/self/mountinfo").ok().and_then(|t| in_file_system(&t, path));
        Place { id, above, in_fs }
    }

    /// Whether one of the two is, or holds, the other.
    pub fn overlaps(&self, other: &Place) -> bool {
        let holds = |outer: &Place, inner: &Place| outer.id.is_some_and(|id| inner.above.contains(&id));
        let by_fs = match (&self.in_fs, &other.in_fs) {
            (Some((dev, a)), Some((other_dev, b))) => {
                dev == other_dev && (a.starts_with(b) || b.starts_with(a))
            }
            _ => false,
        };
        holds(self, other) || holds(other, self) || by_fs
    }
}

/// The device and in-file-system path of `path`, from the text of
/// `/proc/self/mountinfo`: the mount whose mount point holds `path` most
/// closely (the last listed wins a tie: it was mounted over the others).
fn in_file_system(mountinfo: &str, path: &Path) -> Option<(String, PathBuf)> {
    let mut best: Option<(usize, String, PathBuf)> = None;
    for line in mountinfo.lines() {
        // id parent major:minor root mount-point options ... - type source
        let fields: Vec<&str> = line.split(' ').collect();
        let [_, _, dev, root, point, ..] = fields[..] else { continue };
        let point = PathBuf::from(unescape(point));
        let Ok(rest) = path.strip_prefix(&point) else { continue };
        let depth = point.components().count();
        if best.as_ref().is_none_or(|(best_depth, ..)| depth >= *best_depth) {
            best = Some((depth, dev.to_string(), PathBuf::from(unescape(root)).join(rest)));
        }
    }
    best.map(|(_, dev, in_fs)| (dev, in_fs))
}

/// Undoes mountinfo's octal escapes (`\040` for a space, `\134` for `\`).
fn unescape(field: &str) -> String {
    let bytes = field.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let octal =
            bytes.get(i + 1..i + 4).and_then(|d| u8::from_str_radix(std::str::from_utf8(d).ok()?, 8).ok());
        match (bytes[i], octal) {
            (b'\\', Some(byte)) => {
                out.push(byte);
                i += 4;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    const MOUNTINFO: &str = "\
22 1 8:1 / / rw,relatime - ext4 /dev/sda1 rw
30 22 8:1 /var/log/stockade /mnt/alias rw - ext4 /dev/sda1 rw
31 22 8:1 /home/me/my\\040dir /mnt/spaced rw - ext4 /dev/sda1 rw
32 22 0:40 / /mnt/alias rw - tmpfs tmpfs rw
";

    #[test]
    fn a_path_is_placed_in_its_file_system_through_the_closest_mount() {
        let place = |p: &str| in_file_system(MOUNTINFO, Path::new(p));
        assert_eq!(place("/var/log/stockade/a"), Some(("8:1".into(), "/var/log/stockade/a".into())));
        assert_eq!(place("/mnt/spaced/x"), Some(("8:1".into(), "/home/me/my dir/x".into())));
        // A later mount over the same point hides the earlier one.
        assert_eq!(place("/mnt/alias/a"), Some(("0:40".into(), "/a".into())));
        assert_eq!(place("/mnt/aliased"), Some(("8:1".into(), "/mnt/aliased".into())));
    }

    #[test]
    fn a_folder_overlaps_what_it_holds_and_nothing_beside_it() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path().canonicalize().expect("canonical");
        std::fs::create_dir_all(root.join("a/b")).expect("folders");
        std::fs::create_dir_all(root.join("c")).expect("folders");
        let a = Place::of(&root.join("a"));
        assert!(a.overlaps(&Place::of(&root.join("a/b"))));
        assert!(Place::of(&root.join("a/b")).overlaps(&a));
        assert!(a.overlaps(&Place::of(&root.join("a/not-yet.jsonl"))));
        assert!(!a.overlaps(&Place::of(&root.join("c"))));
        assert!(!Place::of(&root.join("c")).overlaps(&Place::of(&root.join("a/not-yet.jsonl"))));
    }
}
