//! Logs on stderr, as text or JSON lines, quiet on request; stdout stays for requested output.

/// How log lines are written on stderr.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum LogFormat {
    /// Human-readable lines without timestamps.
    #[default]
    Text,
    /// One JSON object per line, for log collectors.
    Json,
}

/// Installs the global subscriber once; later calls are ignored (tests run commands in-process).
pub fn init(format: LogFormat, quiet: bool) {
    let level = if quiet { "error" } else { "info" };
    let filter = tracing_subscriber::EnvFilter::try_from_env("HANDOFF_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()));
    let _ = match format {
        LogFormat::Text => builder.without_time().try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
}

/// The process's CPU time so far (user and system, every thread), in seconds, for the
/// stage logs: on a shared machine, a stage's CPU seconds say more than its wall time.
pub fn cpu_seconds() -> f64 {
    // SAFETY: `getrusage` only writes the struct it is given.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    if unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) } != 0 {
        return 0.0;
    }
    let seconds = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    let total = seconds(usage.ru_utime) + seconds(usage.ru_stime);
    (total * 1000.0).round() / 1000.0
}

/// The process's resident memory now and at its peak so far, in MiB, for the stage logs
/// (`/proc/self/status`; zeros where it cannot be read). Every `stage:` debug event that
/// follows a large allocation carries it, so that a run's log shows where its peak is.
pub fn memory_mib() -> (u64, u64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| -> u64 {
        let line = status.lines().find(|l| l.starts_with(name));
        let kib = line.and_then(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok());
        kib.unwrap_or(0) / 1024
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// A `stage:` debug event, with the process's resident memory, its peak and its CPU seconds so
/// far added to the given fields, so that a run's log shows where its time and its peak go:
/// `stage!("stage: replayed", policies = n)`.
#[macro_export]
macro_rules! stage {
    ($name:literal $(, $($field:tt)+)?) => {{
        let (rss_mib, peak_mib) = $crate::logging::memory_mib();
        let cpu_s = $crate::logging::cpu_seconds();
        ::tracing::debug!($($($field)+,)? rss_mib, peak_mib, cpu_s, $name)
    }};
}
