//! The golden test: every shipped scenario, run with its own seed, gives exactly the files
//! kept under `tests/golden/<name>/`: `summary.json` and the CSV files byte for byte, and the
//! charts and `index.html` by SHA-256 (`charts.sha256`). A model change that moves a figure
//! fails here; when the change is deliberate, regenerate with
//! `ROUTESIM_BLESS=1 cargo test --release --test golden` and commit the new files in a
//! commit that says which behaviour changed and why.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

const DATA_FILES: [&str; 5] = ["summary.json", "timeseries.csv", "detection.csv", "convergence.csv", "timeline.csv"];
/// Written by runs with consumers only.
const OPTIONAL_DATA_FILE: &str = "reads.csv";
const HASHED_EXTENSIONS: [&str; 3] = ["svg", "png", "html"];

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn shipped_scenarios() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(repo().join("scenarios"))
        .expect("scenarios/ exists")
        .map(|e| e.expect("readable entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    files
}

fn hashes(dir: &Path) -> String {
    let mut found: BTreeMap<String, String> = BTreeMap::new();
    for entry in std::fs::read_dir(dir).expect("run directory") {
        let path = entry.expect("entry").path();
        if path.extension().is_some_and(|e| HASHED_EXTENSIONS.iter().any(|h| e == *h)) {
            let digest = Sha256::digest(std::fs::read(&path).expect("readable"));
            let hex = digest.iter().fold(String::new(), |mut s, b| {
                let _ = write!(s, "{b:02x}");
                s
            });
            found.insert(path.file_name().unwrap().to_string_lossy().into_owned(), hex);
        }
    }
    found.iter().map(|(name, hex)| format!("{hex}  {name}\n")).collect()
}

#[test]
fn every_shipped_scenario_gives_its_golden_files() {
    let bless = std::env::var_os("ROUTESIM_BLESS").is_some();
    let tmp = tempfile::tempdir().unwrap();
    let scenarios = shipped_scenarios();
    assert!(!scenarios.is_empty());
    // Every run at once: they are separate processes, and the largest sets the wall time.
    let children: Vec<(String, PathBuf, std::process::Child)> = scenarios
        .iter()
        .map(|file| {
            let name = file.file_stem().unwrap().to_string_lossy().into_owned();
            let out = tmp.path().join(&name);
            let child = std::process::Command::new(env!("CARGO_BIN_EXE_routesim"))
                .args(["run", file.to_str().unwrap(), "-q", "--out", out.to_str().unwrap()])
                .spawn()
                .expect("routesim starts");
            (name, out, child)
        })
        .collect();
    let mut mismatches = Vec::new();
    for (name, out, mut child) in children {
        assert!(child.wait().unwrap().success(), "{name}: the run failed");
        let golden = repo().join("tests/golden").join(&name);
        let mut produced: Vec<(String, Vec<u8>)> =
            DATA_FILES.iter().map(|f| (f.to_string(), std::fs::read(out.join(f)).expect("data file"))).collect();
        // Runs with consumers also write reads.csv; one that stops (or starts) doing so differs.
        match std::fs::read(out.join(OPTIONAL_DATA_FILE)) {
            Ok(bytes) => produced.push((OPTIONAL_DATA_FILE.into(), bytes)),
            Err(_) if golden.join(OPTIONAL_DATA_FILE).is_file() && !bless => {
                mismatches.push(format!("{name}/{OPTIONAL_DATA_FILE}: no longer written"));
            }
            Err(_) => {}
        }
        produced.push(("charts.sha256".into(), hashes(&out).into_bytes()));
        if bless {
            std::fs::create_dir_all(&golden).unwrap();
            for (file, bytes) in &produced {
                std::fs::write(golden.join(file), bytes).unwrap();
            }
            continue;
        }
        for (file, bytes) in &produced {
            match std::fs::read(golden.join(file)) {
                Ok(kept) if kept == *bytes => {}
                Ok(_) => mismatches.push(format!(
                    "{name}/{file} differs (see `diff -r {} {}`)",
                    golden.display(),
                    out.display()
                )),
                Err(_) => mismatches.push(format!("{name}/{file}: no golden file")),
            }
        }
    }
    if !mismatches.is_empty() {
        // Keep the new output for a look.
        let kept = tmp.keep();
        panic!(
            "{} golden files differ (new output kept in {}):\n{}\nIf the change is deliberate: ROUTESIM_BLESS=1 cargo test --release --test golden",
            mismatches.len(),
            kept.display(),
            mismatches.join("\n")
        );
    }
}
