//! The `handoff` binary: parse the command line, run the command, print the error chain and
//! map it to the documented exit code.

use std::process::ExitCode;

use clap::Parser;
use handoff::cli::{Cli, LogFormat};
use handoff::error::{exit, exit_code};

/// mimalloc instead of the system allocator: ingest makes and frees tens of millions of small
/// blocks from several threads, which glibc's allocator served with a quarter of the run's CPU
/// time (bins searched and consolidated) at a million conversations.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Transparent huge pages off for the process (Linux), as `MIMALLOC_ALLOW_THP=0` would set
/// them (an explicit `MIMALLOC_ALLOW_THP` is left to decide). mimalloc asks for huge pages on
/// its large reservations and gives freed memory back to the kernel; the next allocation there
/// then faults in and zeroes a whole 2 MiB page. At a million conversations that zeroing was a
/// quarter of the report's CPU time; without huge pages the system time halves and the report
/// takes about 4 s less (docs/benchmarks.md, 2026-12-01 20:20). A failure (an old kernel) only
/// leaves them on.
fn small_pages() {
    #[cfg(target_os = "linux")]
    if std::env::var_os("MIMALLOC_ALLOW_THP").is_none() {
        // SAFETY: prctl with PR_SET_THP_DISABLE takes plain integers and touches no memory.
        unsafe {
            libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0);
        }
    }
}

fn main() -> ExitCode {
    small_pages();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => {
            let code = if err.use_stderr() { exit::USAGE } else { exit::OK };
            let _ = err.print();
            return ExitCode::from(code);
        }
    };
    let json_logs = cli.command.common().is_some_and(|c| c.log_format == LogFormat::Json);
    match handoff::cmd::run(cli) {
        Ok(()) => ExitCode::from(exit::OK),
        Err(err) => {
            print_error(&err, json_logs);
            ExitCode::from(exit_code(&err))
        }
    }
}

/// The error and its causes on stderr: plain lines, or with `--log-format json` one JSON line
/// shaped like the log lines, so a log collector never meets a line it cannot parse.
fn print_error(err: &anyhow::Error, json: bool) {
    if json {
        let causes: Vec<String> = err.chain().skip(1).map(|c| c.to_string()).collect();
        let line = serde_json::json!({
            "timestamp": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
            "level": "ERROR",
            "fields": {"message": err.to_string(), "caused_by": causes},
        });
        eprintln!("{line}");
        return;
    }
    eprintln!("error: {err}");
    for cause in err.chain().skip(1) {
        eprintln!("  caused by: {cause}");
    }
}
