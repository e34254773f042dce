//! Reads a run directory (docs/OUTPUT.md) into plain structs and checks what the charts rely on.
//! Every failure names the file it came from; nothing here panics on what a file contains.

use std::fs;
use std::io;
use std::path::Path;

use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::ChartError;

pub(crate) const SUMMARY: &str = "summary.json";
pub(crate) const TIMESERIES: &str = "timeseries.csv";
pub(crate) const DETECTION: &str = "detection.csv";
pub(crate) const CONVERGENCE: &str = "convergence.csv";
pub(crate) const READS: &str = "reads.csv";
pub(crate) const TIMELINE: &str = "timeline.csv";

// summary.json and the CSV rows are read back, strictly, with the very types `run` writes them
// with (report.rs): a file another routesim version wrote with a different shape is refused,
// naming the field, rather than drawn half right.
pub(crate) use crate::report::{ConvergenceRow, DetectionRow, SecondCounts as TimeseriesRow};
pub(crate) use crate::report::{FaultSummary, Summary};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Role {
    Nameserver,
    Broker,
    Producer,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Layer {
    Process,
    Route,
    /// A broker's role: `master` while it is its group's master (failover runs only).
    Role,
}

#[derive(Debug, Clone, Deserialize)]
pub(crate) struct TimelineRow {
    pub node: String,
    pub role: Role,
    pub layer: Layer,
    /// Kept as text: an unknown state is drawn in a neutral colour rather than rejected, so a
    /// simulator that grows a new state does not break its own report.
    pub state: String,
    pub start_s: f64,
    pub end_s: f64,
}

/// Everything the charts draw from, already checked.
#[derive(Debug, Clone)]
pub(crate) struct RunData {
    pub summary: Summary,
    pub timeseries: Vec<TimeseriesRow>,
    pub detection: Vec<DetectionRow>,
    pub convergence: Vec<ConvergenceRow>,
    pub timeline: Vec<TimelineRow>,
    /// `reads.csv`, in runs with consumers.
    pub reads: Option<Vec<crate::report::ReadsRow>>,
}

impl RunData {
    /// Reads and checks all five files; the first problem found is returned.
    pub(crate) fn load(run_dir: &Path) -> Result<Self, ChartError> {
        let summary = read_summary(run_dir)?;
        let timeseries: Vec<TimeseriesRow> = read_csv(&run_dir.join(TIMESERIES))?;
        let detection: Vec<DetectionRow> = read_csv(&run_dir.join(DETECTION))?;
        let convergence: Vec<ConvergenceRow> = read_csv(&run_dir.join(CONVERGENCE))?;
        let timeline: Vec<TimelineRow> = read_csv(&run_dir.join(TIMELINE))?;
        check_detection(&run_dir.join(DETECTION), &detection)?;
        check_convergence(&run_dir.join(CONVERGENCE), &convergence)?;
        check_timeline(&run_dir.join(TIMELINE), &timeline)?;
        // Written only by runs with consumers.
        let reads_path = run_dir.join(READS);
        let reads = if reads_path.is_file() { Some(read_csv(&reads_path)?) } else { None };
        Ok(Self { summary, timeseries, detection, convergence, timeline, reads })
    }
}

fn read_bytes(path: &Path) -> Result<Vec<u8>, ChartError> {
    fs::read(path).map_err(|source| {
        if source.kind() == io::ErrorKind::NotFound {
            ChartError::Missing { path: path.to_path_buf() }
        } else {
            ChartError::Read { path: path.to_path_buf(), source }
        }
    })
}

fn malformed(path: &Path, reason: impl Into<String>) -> ChartError {
    ChartError::Malformed { path: path.to_path_buf(), reason: reason.into() }
}

pub(crate) fn read_summary(run_dir: &Path) -> Result<Summary, ChartError> {
    let path = run_dir.join(SUMMARY);
    let bytes = read_bytes(&path)?;
    let mut de = serde_json::Deserializer::from_slice(&bytes);
    // serde_path_to_error says where in the document the problem is (e.g. `faults[0].at_s`).
    let summary: Summary = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let at = e.path().to_string();
        malformed(&path, format!("at `{at}`: {}", e.inner()))
    })?;
    de.end().map_err(|e| malformed(&path, format!("trailing data: {e}")))?;
    check_summary(&path, &summary)?;
    Ok(summary)
}

fn check_summary(path: &Path, summary: &Summary) -> Result<(), ChartError> {
    if !(finite_non_negative(summary.duration_s) && summary.duration_s > 0.0) {
        return Err(malformed(path, "duration_s must be a positive number of seconds"));
    }
    for (i, fault) in summary.faults.iter().enumerate() {
        if !finite_non_negative(fault.at_s) {
            return Err(malformed(path, format!("faults[{i}].at_s must be a time ≥ 0")));
        }
        let times = [
            ("stale_window_s", fault.stale_window_s),
            ("convergence_s.p50", fault.convergence_s.p50),
            ("convergence_s.p99", fault.convergence_s.p99),
            ("convergence_s.max", fault.convergence_s.max),
        ];
        let detections = fault.detection_s.iter().map(|(ns, d)| (format!("detection_s.{ns}"), *d));
        for (name, v) in times.into_iter().map(|(n, v)| (n.to_string(), v)).chain(detections) {
            if v.is_some_and(|v| !finite_non_negative(v)) {
                return Err(malformed(path, format!("faults[{i}].{name} must be a time ≥ 0")));
            }
        }
        if let Some(w) = fault.detection_window_s
            && w.lo > w.hi
        {
            return Err(malformed(path, format!("faults[{i}].detection_window_s has lo > hi")));
        }
    }
    Ok(())
}

fn read_csv<T: DeserializeOwned>(path: &Path) -> Result<Vec<T>, ChartError> {
    let bytes = read_bytes(path)?;
    let mut reader = csv::ReaderBuilder::new().has_headers(true).trim(csv::Trim::All).from_reader(bytes.as_slice());
    let headers = reader.headers().map_err(|e| malformed(path, csv_reason(&e, None)))?.clone();
    let mut rows = Vec::new();
    for record in reader.deserialize() {
        let row: T = record.map_err(|e| malformed(path, csv_reason(&e, Some(&headers))))?;
        rows.push(row);
    }
    Ok(rows)
}

/// A csv error as "line N: column `x`: cause"; `csv::Error`'s own Display is less direct about
/// which column was wrong.
fn csv_reason(e: &csv::Error, headers: Option<&csv::StringRecord>) -> String {
    let cause = match e.kind() {
        csv::ErrorKind::Deserialize { err, .. } => {
            let column = err.field().and_then(|i| usize::try_from(i).ok()).and_then(|i| headers.and_then(|h| h.get(i)));
            match column {
                Some(name) => format!("column `{name}`: {}", err.kind()),
                None => err.kind().to_string(),
            }
        }
        csv::ErrorKind::UnequalLengths { expected_len, len, .. } => {
            format!("{len} fields where the header has {expected_len}")
        }
        _ => e.to_string(),
    };
    match e.position() {
        Some(pos) => format!("line {}: {cause}", pos.line()),
        None => cause,
    }
}

/// Virtual times beyond this (about 31 years) can only be a broken file; rejecting them keeps
/// axis arithmetic far from overflow.
const MAX_TIME_S: f64 = 1e9;

fn finite_non_negative(v: f64) -> bool {
    v.is_finite() && (0.0..=MAX_TIME_S).contains(&v)
}

/// Data lines start at line 2 (line 1 is the header).
fn check_detection(path: &Path, rows: &[DetectionRow]) -> Result<(), ChartError> {
    for (i, row) in rows.iter().enumerate() {
        let line = i + 2;
        for (name, v) in
            [("detection_s", row.detection_s), ("window_lo_s", row.window_lo_s), ("window_hi_s", row.window_hi_s)]
        {
            if v.is_some_and(|v| !finite_non_negative(v)) {
                return Err(malformed(path, format!("line {line}: {name} must be a number ≥ 0")));
            }
        }
        if let (Some(lo), Some(hi)) = (row.window_lo_s, row.window_hi_s)
            && lo > hi
        {
            return Err(malformed(path, format!("line {line}: window_lo_s > window_hi_s")));
        }
    }
    Ok(())
}

fn check_convergence(path: &Path, rows: &[ConvergenceRow]) -> Result<(), ChartError> {
    for (i, row) in rows.iter().enumerate() {
        if row.convergence_s.is_some_and(|v| !finite_non_negative(v)) {
            return Err(malformed(path, format!("line {}: convergence_s must be a number ≥ 0", i + 2)));
        }
    }
    Ok(())
}

fn check_timeline(path: &Path, rows: &[TimelineRow]) -> Result<(), ChartError> {
    for (i, row) in rows.iter().enumerate() {
        let line = i + 2;
        if !(finite_non_negative(row.start_s) && row.end_s.is_finite()) {
            return Err(malformed(path, format!("line {line}: start_s/end_s must be numbers ≥ 0")));
        }
        if row.end_s < row.start_s {
            return Err(malformed(path, format!("line {line}: end_s < start_s")));
        }
    }
    Ok(())
}
