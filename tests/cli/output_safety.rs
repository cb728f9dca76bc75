//! Safety of outputs: window flags and policy names can never place a file outside
//! `--out`; input files are never modified (sha256 and modification time before and after a
//! report, and the hashes `run.json` records); the HTML page escapes data-derived text.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::harness::*;

/// Every path under `root` (folders too), relative.
fn listing(root: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            out.push(path.strip_prefix(root).unwrap().display().to_string());
            if path.is_dir() {
                stack.push(path);
            }
        }
    }
    out.sort();
    out
}

/// A sandbox: `<tmp>/data` (the baseline data set) and `<tmp>/deep/er/out` as `--out`, so that
/// `../..` from the reports root still lands inside the sandbox where the test can see it.
struct Sandbox {
    tmp: Workdir,
}

impl Sandbox {
    fn new() -> Sandbox {
        let tmp = Workdir::new();
        write_dataset(&tmp.join("data"), CONVERSATIONS, MESSAGES, OUTCOMES);
        std::fs::create_dir_all(tmp.join("deep/er")).unwrap();
        Sandbox { tmp }
    }
    fn out(&self) -> PathBuf {
        self.tmp.join("deep/er/out")
    }
    fn report(&self, policies: &Path, extra: &[&str]) -> (String, i32) {
        let output = handoff()
            .args(["report", "--quiet", "--bootstrap", "20", "--data"])
            .arg(self.tmp.join("data"))
            .arg("--policies")
            .arg(policies)
            .arg("--out")
            .arg(self.out())
            .args(extra)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&output.stderr).into_owned();
        assert!(!err.contains("panicked"), "{err}");
        (err, output.status.code().unwrap_or(-1))
    }
    /// Everything in the sandbox outside `--out`.
    fn outside_out(&self) -> Vec<String> {
        listing(self.tmp.path()).into_iter().filter(|p| !p.starts_with("deep/er/out")).collect()
    }
}

#[test]
fn malicious_window_flags_are_usage_errors_and_write_nothing() {
    let sandbox = Sandbox::new();
    let before = sandbox.outside_out();
    let cases: [&[&str]; 8] = [
        &["--since", "../../x"],
        &["--since", "../../../../../../tmp/x"],
        &["--until", "2026-11-20/../../x"],
        &["--since=-0001-01-01"],
        &["--since=+12345-01-01"],
        &["--week", "../x"],
        &["--week", "2026-W47/../../x"],
        &["--week", "/etc/passwd"],
    ];
    for flags in cases {
        let (err, code) = sandbox.report(Path::new(POLICIES), flags);
        assert_eq!(code, 2, "{flags:?}: {err}");
        assert!(err.contains("is not a date") || err.contains("is not an ISO week"), "{err}");
        assert_eq!(sandbox.outside_out(), before, "{flags:?} wrote outside --out");
        assert!(!sandbox.out().exists(), "{flags:?} created the reports root");
    }
    // A legitimate window lands in one plain folder under --out.
    let (err, code) = sandbox.report(Path::new(POLICIES), &["--since", "2026-11-16"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(sandbox.outside_out(), before);
    let top: Vec<String> = std::fs::read_dir(sandbox.out())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| !n.starts_with('.'))
        .collect();
    assert_eq!(top, ["2026-11-16_open"]);
}

#[test]
fn policy_names_that_are_not_plain_are_policies_file_errors() {
    let sandbox = Sandbox::new();
    let before = sandbox.outside_out();
    for name in ["a/b", "../../evil", "/etc/x", "..", "a\\\\b", "x<script>", ""] {
        let text = format!("[[policy]]\nname = \"{name}\"\nhand_off_on = [\"human_request\"]\n");
        let path = sandbox.tmp.join("policies.toml");
        std::fs::write(&path, text).unwrap();
        let (err, code) = sandbox.report(&path, &[]);
        assert_eq!(code, 2, "{name:?}: {err}");
        assert!(err.contains("line 2") && err.contains("name"), "{name:?}: {err}");
        std::fs::remove_file(&path).unwrap();
        assert_eq!(sandbox.outside_out(), before, "{name:?}");
        assert!(!sandbox.out().exists(), "{name:?} created the reports root");
    }
}

fn fingerprint(paths: &[PathBuf]) -> BTreeMap<PathBuf, (String, std::time::SystemTime, u64)> {
    paths
        .iter()
        .map(|p| {
            let bytes = std::fs::read(p).unwrap();
            let meta = std::fs::metadata(p).unwrap();
            let hash = format!("{:x}", Sha256::digest(&bytes));
            (p.clone(), (hash, meta.modified().unwrap(), meta.len()))
        })
        .collect()
}

#[test]
fn input_files_are_never_modified_and_run_json_records_their_hashes() {
    let sandbox = Sandbox::new();
    let data = sandbox.tmp.join("data");
    let policies = sandbox.tmp.join("policies.toml");
    std::fs::copy(POLICIES, &policies).unwrap();
    let inputs: Vec<PathBuf> = ["conversations.csv", "messages.csv", "outcomes.csv"]
        .iter()
        .map(|n| data.join(n))
        .chain([policies.clone()])
        .collect();
    let before = fingerprint(&inputs);
    let data_listing = listing(&data);
    for extra in [&[][..], &["--week", "2026-W47"][..]] {
        let (err, code) = sandbox.report(&policies, extra);
        assert_eq!(code, 0, "{err}");
    }
    assert_eq!(fingerprint(&inputs), before, "an input file changed");
    assert_eq!(listing(&data), data_listing, "the data folder changed");

    let run: serde_json::Value =
        serde_json::from_slice(&std::fs::read(sandbox.out().join("2026-W47/run.json")).unwrap())
            .unwrap();
    let recorded = run["inputs"].as_object().expect("run.json inputs");
    assert_eq!(recorded.len(), inputs.len(), "{recorded:?}");
    for (path, (hash, _, _)) in &before {
        let name = path.file_name().unwrap().to_string_lossy();
        let entry = recorded.iter().find(|(k, _)| k.ends_with(name.as_ref())).expect("hashed");
        assert_eq!(entry.1.as_str(), Some(hash.as_str()), "{name}");
    }
}

#[test]
fn the_html_page_escapes_data_derived_text() {
    let sandbox = Sandbox::new();
    let hostile = "<script>alert(1)</script>";
    let messages = MESSAGES
        .replace("What does it cost?,pricing", &format!("What does it cost?,{hostile};pricing"))
        .replace("c3,1,", "c3,<img src=x onerror=alert(2)>,");
    write(&sandbox.tmp.join("data"), "messages.csv", messages.as_bytes());
    let (err, code) = sandbox.report(Path::new(POLICIES), &["--max-rejected", "1"]);
    assert_eq!(code, 0, "{err}");
    let folder = sandbox.out().join("all");
    let summary = std::fs::read_to_string(folder.join("summary.json")).unwrap();
    assert!(summary.contains("\"<script>alert(1)</script>\": 1"), "counted in data quality");
    let page = std::fs::read_to_string(folder.join("report.html")).unwrap();
    assert!(page.contains("&lt;script&gt;alert(1)&lt;&#x2f;script&gt;"), "shown, escaped");
    assert!(!page.contains(hostile), "raw script in the page");
    assert!(!page.contains("<img src=x"), "raw markup in the page");
    assert!(!page.to_lowercase().contains("<script"), "the page runs no script at all");
}
