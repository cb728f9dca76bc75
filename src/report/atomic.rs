//! Writing one file atomically: the bytes go to a hidden temporary sibling, which is fsynced
//! and renamed over the target, and then the folder is fsynced so that the rename itself
//! survives a crash. At every instant the target is either the complete old file or the
//! complete new one; a failed write removes its temporary and leaves the target untouched.

use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;

/// What marks a temporary file or folder of ours (`.<name>.tmp-<pid>`); a run holding the
/// reports lock deletes the ones a killed run left behind.
pub const TMP_MARK: &str = ".tmp-";

/// The temporary sibling `path` is written through: `.<name>.tmp-<pid>` in the same folder,
/// so that the final rename never crosses filesystems.
pub fn temporary_sibling(path: &Path) -> PathBuf {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    path.with_file_name(format!(".{name}{TMP_MARK}{}", std::process::id()))
}

/// Writes `path` atomically; `write` fills the (new, empty) temporary file.
pub fn write_atomically(
    path: &Path,
    write: impl FnOnce(&mut File) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let tmp = temporary_sibling(path);
    let result = (|| -> anyhow::Result<()> {
        let mut file = File::create(&tmp).with_context(|| format!("creating {}", tmp.display()))?;
        write(&mut file)?;
        file.sync_all().with_context(|| format!("syncing {}", tmp.display()))?;
        fs::rename(&tmp, path).with_context(|| format!("replacing {}", path.display()))
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
        return result;
    }
    sync_dir(parent_dir(path))
}

/// `write_atomically` with bytes already in memory.
pub fn replace_file(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    write_atomically(path, |file| {
        file.write_all(bytes).with_context(|| format!("writing {}", path.display()))
    })
}

/// fsyncs a folder, so the entries created or renamed in it are durable.
pub fn sync_dir(dir: &Path) -> anyhow::Result<()> {
    File::open(dir).and_then(|f| f.sync_all()).with_context(|| format!("syncing {}", dir.display()))
}

/// The folder holding `path` (`.` for a bare file name).
fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_replaced_file_has_the_new_bytes_and_no_temporary_is_left() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.txt");
        fs::write(&path, "old").unwrap();
        replace_file(&path, b"new").unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), "new");
        let names: Vec<String> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, ["f.txt"]);
    }

    #[test]
    fn a_failed_write_keeps_the_old_file_and_removes_the_temporary() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.txt");
        fs::write(&path, "old").unwrap();
        let failed = write_atomically(&path, |file| {
            file.write_all(b"half")?;
            anyhow::bail!("the writer failed")
        });
        assert!(failed.is_err());
        assert_eq!(fs::read_to_string(&path).unwrap(), "old");
        assert!(!temporary_sibling(&path).exists());
    }

    #[test]
    fn a_bare_file_name_syncs_the_working_folder() {
        assert_eq!(parent_dir(Path::new("decisions.csv")), Path::new("."));
        assert_eq!(parent_dir(Path::new("out/decisions.csv")), Path::new("out"));
    }
}
