//! Writing the report folder atomically. The whole folder is built in a hidden temporary
//! sibling (`<out>/.<label>.tmp-<pid>`), fsynced, then swapped into place with
//! `renameat2(RENAME_EXCHANGE)` (a plain rename when there is no previous folder), so at every
//! instant `<out>/<label>` is either the complete previous report or the complete new one.
//! `history.parquet` is then rewritten atomically (see `atomic`). Everything happens
//! under an exclusive lock on `<out>/.handoff.lock`, which also lets the next run delete the
//! temporary leftovers of a killed run.

use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};

use crate::report::atomic::{replace_file, sync_dir, TMP_MARK};
use crate::report::charts::{self, ChartFile};
use crate::report::export::{all_exporters, Exporter};
use crate::report::history::{self, HistoryRow, HistorySink, HISTORY_FILE};
use crate::report::ReportData;
use crate::summary::Summary;
use crate::window::Window;

/// The lock file under the reports root.
pub const LOCK_FILE: &str = ".handoff.lock";

/// Draws the charts into a folder: `charts::render_all` in production, a stub in tests.
pub type RenderCharts =
    dyn Fn(&Summary, &[HistoryRow], &Path) -> anyhow::Result<Vec<ChartFile>> + Send + Sync;

/// How a report folder is written.
pub struct ReportWriter {
    pub exporters: Vec<Box<dyn Exporter>>,
    pub render_charts: Box<RenderCharts>,
    /// How long to wait for another run's lock before giving up.
    pub lock_timeout: Duration,
    /// Also given an ISO-week window's new trend rows, after `history.parquet` is replaced
    /// and still under the lock (`--history-db`).
    pub history_sink: Option<std::sync::Mutex<Box<dyn HistorySink>>>,
}

impl Default for ReportWriter {
    fn default() -> Self {
        ReportWriter {
            exporters: all_exporters(),
            render_charts: Box::new(charts::render_all),
            lock_timeout: Duration::from_secs(60),
            history_sink: None,
        }
    }
}

impl ReportWriter {
    /// Writes `<out_root>/<window.label>/` and, for an ISO-week window, merges `new_history`
    /// into `<out_root>/history.parquet`. Returns the report folder's path.
    pub fn write(
        &self,
        out_root: &Path,
        window: &Window,
        mut data: ReportData,
        new_history: Vec<HistoryRow>,
    ) -> anyhow::Result<PathBuf> {
        validate_label(&window.label)?;
        fs::create_dir_all(out_root)
            .with_context(|| format!("creating the reports folder {}", out_root.display()))?;
        let _lock = acquire_lock(out_root, self.lock_timeout)?;
        remove_stale_temporaries(out_root)?;

        let history_path = out_root.join(HISTORY_FILE);
        let mut history = history::read_history(&history_path)?;
        let sink_rows = self.history_sink.as_ref().map(|_| new_history.clone());
        if window.is_iso_week {
            history = history::merge(history, new_history);
        }

        let target = out_root.join(&window.label);
        let tmp = TempDir::create(out_root.join(format!(
            ".{}{TMP_MARK}{}",
            window.label,
            std::process::id()
        )))?;
        let charts_dir = tmp.path.join("charts");
        fs::create_dir(&charts_dir)
            .with_context(|| format!("creating {}", charts_dir.display()))?;
        // The charts and the files that read neither them nor the clock are made at once: at
        // scale the charts and `decisions.parquet` (its encoding and its fsync) are the two
        // long parts of writing.
        let write_one = |exporter: &dyn Exporter, data: &ReportData| -> anyhow::Result<()> {
            if !exporter.applies(data) {
                return Ok(());
            }
            let bytes = exporter.render(data).with_context(|| {
                format!("rendering {}", target.join(exporter.file_name()).display())
            })?;
            write_synced(&tmp.path.join(exporter.file_name()), &bytes)?;
            tracing::debug!(bytes = bytes.len(), "stage: {} written", exporter.file_name());
            Ok(())
        };
        let (charts, early) = rayon::join(
            || (self.render_charts)(&data.summary, &history, &charts_dir),
            || {
                let data = &data;
                self.exporters
                    .iter()
                    .map(|e| e.concurrent_with_charts().then(|| write_one(e.as_ref(), data)))
                    .collect::<Vec<_>>()
            },
        );
        data.charts =
            charts.with_context(|| format!("drawing the charts into {}", charts_dir.display()))?;
        tracing::debug!(charts = data.charts.len(), "stage: charts drawn");
        for (exporter, early) in self.exporters.iter().zip(early) {
            match early {
                Some(written) => written?,
                None => write_one(exporter.as_ref(), &data)?,
            }
        }
        sync_tree(&tmp.path)?;
        swap_into_place(tmp.keep(), &target)?;
        sync_dir(out_root)?;
        tracing::debug!("stage: report folder in place");

        if window.is_iso_week {
            let bytes = history::history_parquet(&history)?;
            replace_file(&history_path, &bytes)?;
            if let (Some(sink), Some(rows)) = (&self.history_sink, sink_rows) {
                // A poisoned lock only means an earlier call panicked; the sink is still usable.
                let mut sink = sink.lock().unwrap_or_else(|e| e.into_inner());
                sink.replace_windows(&rows)?;
                tracing::debug!(rows = rows.len(), "stage: trend written to the history database");
            }
        }
        Ok(target)
    }
}

/// `write` with the standard exporters and charts.
pub fn write_report(
    out_root: &Path,
    window: &Window,
    data: ReportData,
    new_history: Vec<HistoryRow>,
) -> anyhow::Result<PathBuf> {
    ReportWriter::default().write(out_root, window, data, new_history)
}

/// A label is one plain path component (letters, digits, `-`, `_`), so it can never escape
/// the reports root or collide with our hidden files.
pub fn validate_label(label: &str) -> anyhow::Result<()> {
    let plain = !label.is_empty()
        && label.len() <= 100
        && !label.starts_with(['.', '-'])
        && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if !plain {
        // A usage error (exit 2): labels come from the window flags.
        return Err(crate::error::UsageError(format!(
            "report label {label:?} is not a plain folder name (letters, digits, '-' and '_')"
        ))
        .into());
    }
    Ok(())
}

/// The held lock; released when dropped (the file closes).
pub struct RootLock {
    _file: File,
}

/// Takes the exclusive lock on `<out_root>/.handoff.lock`, waiting up to `timeout`.
pub fn acquire_lock(out_root: &Path, timeout: Duration) -> anyhow::Result<RootLock> {
    let path = out_root.join(LOCK_FILE);
    let file = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .with_context(|| format!("opening the lock file {}", path.display()))?;
    let started = Instant::now();
    loop {
        match file.try_lock() {
            Ok(()) => return Ok(RootLock { _file: file }),
            Err(fs::TryLockError::WouldBlock) if started.elapsed() < timeout => {
                std::thread::sleep(Duration::from_millis(50));
            }
            Err(fs::TryLockError::WouldBlock) => bail!(
                "another handoff run is writing to {} (it holds {}); gave up after waiting {} s. \
                 Let it finish, then run again",
                out_root.display(),
                path.display(),
                timeout.as_secs_f64()
            ),
            Err(fs::TryLockError::Error(e)) => {
                return Err(e).with_context(|| format!("locking {}", path.display()))
            }
        }
    }
}

/// Deletes `.<name>.tmp-<pid>` folders and files left by a killed run. Called with the lock
/// held, so no live run owns them.
fn remove_stale_temporaries(out_root: &Path) -> anyhow::Result<()> {
    let entries =
        fs::read_dir(out_root).with_context(|| format!("listing {}", out_root.display()))?;
    for entry in entries {
        let entry = entry.with_context(|| format!("listing {}", out_root.display()))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') && name.contains(TMP_MARK) {
            tracing::info!(path = %entry.path().display(), "removing a stale temporary from an earlier run");
            remove_any(&entry.path())?;
        }
    }
    Ok(())
}

fn remove_any(path: &Path) -> anyhow::Result<()> {
    let meta =
        fs::symlink_metadata(path).with_context(|| format!("inspecting {}", path.display()))?;
    let result = if meta.is_dir() { fs::remove_dir_all(path) } else { fs::remove_file(path) };
    result.with_context(|| format!("removing {}", path.display()))
}

/// A temporary folder removed on drop unless kept (so any failure leaves no temp behind).
struct TempDir {
    path: PathBuf,
    keep: bool,
}

impl TempDir {
    fn create(path: PathBuf) -> anyhow::Result<TempDir> {
        fs::create_dir(&path).with_context(|| format!("creating {}", path.display()))?;
        Ok(TempDir { path, keep: false })
    }
    fn keep(mut self) -> PathBuf {
        self.keep = true;
        std::mem::take(&mut self.path)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        if !self.keep {
            let _ = fs::remove_dir_all(&self.path);
        }
    }
}

fn write_synced(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let mut file = File::create(path).with_context(|| format!("creating {}", path.display()))?;
    file.write_all(bytes).with_context(|| format!("writing {}", path.display()))?;
    file.sync_all().with_context(|| format!("syncing {}", path.display()))
}

/// fsyncs every file under `dir` (charts are written by another module) and the folders.
fn sync_tree(dir: &Path) -> anyhow::Result<()> {
    for entry in fs::read_dir(dir).with_context(|| format!("listing {}", dir.display()))? {
        let path = entry.with_context(|| format!("listing {}", dir.display()))?.path();
        if path.is_dir() {
            sync_tree(&path)?;
        } else {
            File::open(&path)
                .and_then(|f| f.sync_all())
                .with_context(|| format!("syncing {}", path.display()))?;
        }
    }
    sync_dir(dir)
}

/// Moves the finished `tmp` folder to `target`. With a previous report there, the two are
/// exchanged atomically and the old one (now at `tmp`) is deleted.
fn swap_into_place(tmp: PathBuf, target: &Path) -> anyhow::Result<()> {
    let swap = || format!("moving {} into place at {}", tmp.display(), target.display());
    if fs::symlink_metadata(target).is_err() {
        return fs::rename(&tmp, target).with_context(swap);
    }
    match exchange(&tmp, target) {
        Ok(()) => {}
        Err(e) if exchange_unsupported(&e) => {
            // A filesystem without RENAME_EXCHANGE: move the old report aside first. Not
            // atomic, but never leaves a half-written folder at `target`.
            tracing::warn!(error = %e, "renameat2(RENAME_EXCHANGE) unsupported here; using two renames");
            let aside = tmp.with_extension("old");
            fs::rename(target, &aside).with_context(swap)?;
            fs::rename(&tmp, target).with_context(swap)?;
            return remove_any(&aside);
        }
        Err(e) => return Err(e).with_context(swap),
    }
    remove_any(&tmp)
}

#[cfg(target_os = "linux")]
fn exchange(a: &Path, b: &Path) -> std::io::Result<()> {
    use std::ffi::CString;
    use std::os::unix::ffi::OsStrExt;
    let to_c = |p: &Path| {
        CString::new(p.as_os_str().as_bytes())
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))
    };
    let (a, b) = (to_c(a)?, to_c(b)?);
    // SAFETY: both are valid NUL-terminated paths that outlive the call; AT_FDCWD makes them
    // relative to the working directory as std::fs does.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_renameat2,
            libc::AT_FDCWD,
            a.as_ptr(),
            libc::AT_FDCWD,
            b.as_ptr(),
            libc::RENAME_EXCHANGE,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

#[cfg(not(target_os = "linux"))]
fn exchange(_a: &Path, _b: &Path) -> std::io::Result<()> {
    Err(std::io::Error::from(std::io::ErrorKind::Unsupported))
}

fn exchange_unsupported(e: &std::io::Error) -> bool {
    #[cfg(target_os = "linux")]
    if matches!(e.raw_os_error(), Some(libc::EINVAL) | Some(libc::ENOSYS)) {
        return true;
    }
    e.kind() == std::io::ErrorKind::Unsupported
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_cannot_escape_the_root() {
        for bad in ["", "..", ".", "../x", "a/b", ".hidden", "a b", "x\0", "-rf", "a\\b"] {
            assert!(validate_label(bad).is_err(), "{bad:?} should be rejected");
        }
        for good in ["2026-W47", "all", "2026-11-01_2026-11-15", "open_2026-11-15"] {
            assert!(validate_label(good).is_ok(), "{good:?} should be accepted");
        }
    }

    #[test]
    fn exchange_swaps_two_folders() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (dir.path().join("a"), dir.path().join("b"));
        fs::create_dir(&a).unwrap();
        fs::create_dir(&b).unwrap();
        fs::write(a.join("f"), "new").unwrap();
        fs::write(b.join("f"), "old").unwrap();
        swap_into_place(a.clone(), &b).unwrap();
        assert_eq!(fs::read_to_string(b.join("f")).unwrap(), "new");
        assert!(!a.exists(), "the old folder is removed after the swap");
    }
}
