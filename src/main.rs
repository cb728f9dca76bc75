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

fn main() -> ExitCode {
    without_transparent_huge_pages();
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

/// Asks Linux not to back this process's memory with transparent huge pages. Where the kernel
/// gives them to every large mapping (`transparent_hugepage=always`), each first touch of a
/// 2 MiB range the allocator has handed back and taken again zeroes the whole 2 MiB: at a
/// million conversations that was a fifth of the report's CPU time (`clear_page_erms` under
/// `do_huge_pmd_anonymous_page`, `perf record`), against half as much system time and a lower
/// peak with 4 KiB pages (docs/benchmarks.md). Advisory: a kernel without the call ignores it.
fn without_transparent_huge_pages() {
    #[cfg(target_os = "linux")]
    // SAFETY: PR_SET_THP_DISABLE takes plain integers and touches no memory of ours.
    unsafe {
        libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0);
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
