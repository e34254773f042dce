//! Writing a run's results: `summary.json` and the CSV files of docs/OUTPUT.md, into a
//! temporary sibling directory renamed into place only when complete, so a failed run never
//! leaves a half-written directory and never damages the previous one.

pub mod atomic;
pub mod charts;
pub mod compare;
pub mod explain;
pub mod sweep_charts;
pub mod table;
pub mod trace;
pub mod tune_chart;

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::report::RunReport;

pub use atomic::{
    AtomicFile, Kind, check_replaceable, remove_temporaries_on_interrupt, write_dir_atomically, write_file_atomically,
};

#[derive(Debug, thiserror::Error)]
pub enum OutputError {
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: io::Error },
    #[error("{path}: {source}")]
    Csv { path: PathBuf, source: csv::Error },
    #[error("{path}: {message}")]
    Other { path: PathBuf, message: String },
    /// The target exists and is not ours to replace: bad input (exit 2).
    #[error("{path}: {message}")]
    Refused { path: PathBuf, message: String },
}

pub fn io_error(path: &Path) -> impl FnOnce(io::Error) -> OutputError + '_ {
    move |source| OutputError::Io { path: path.to_path_buf(), source }
}

/// Writes `summary.json` and the CSV files into `dir` (which exists).
pub fn write_data(dir: &Path, report: &RunReport) -> Result<(), OutputError> {
    write_json(&dir.join("summary.json"), &report.summary)?;
    write_csv(&dir.join("timeseries.csv"), &report.timeseries)?;
    write_csv(&dir.join("detection.csv"), &report.detection)?;
    write_csv(&dir.join("convergence.csv"), &report.convergence)?;
    write_csv(&dir.join("timeline.csv"), &report.timeline)?;
    if !report.reads.is_empty() {
        write_csv(&dir.join("reads.csv"), &report.reads)?;
    }
    Ok(())
}

pub fn write_json(path: &Path, value: &impl Serialize) -> Result<(), OutputError> {
    let file = File::create(path).map_err(io_error(path))?;
    let mut w = BufWriter::new(file);
    serde_json::to_writer_pretty(&mut w, value)
        .map_err(|e| OutputError::Other { path: path.into(), message: e.to_string() })?;
    w.write_all(b"\n").map_err(io_error(path))?;
    w.flush().map_err(io_error(path))
}

pub fn write_csv<T: Serialize>(path: &Path, rows: &[T]) -> Result<(), OutputError> {
    let csv_error = |source| OutputError::Csv { path: path.to_path_buf(), source };
    let mut w = csv::Writer::from_path(path).map_err(csv_error)?;
    for row in rows {
        w.serialize(row).map_err(csv_error)?;
    }
    w.flush().map_err(io_error(path))
}

/// Escapes `s` for XML 1.0 (and HTML) text, or for a double- or single-quoted attribute value.
/// Characters XML 1.0 cannot carry at all (most C0 controls, U+FFFE, U+FFFF) are written as
/// a visible `\u{…}` so nothing is silently lost. In attributes, tab and line breaks become
/// character references, because a parser would otherwise normalise them to spaces.
pub fn xml_escape(s: &str, attribute: bool) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' if attribute => out.push_str("&quot;"),
            '\'' if attribute => out.push_str("&apos;"),
            '\n' if attribute => out.push_str("&#10;"),
            '\t' if attribute => out.push_str("&#9;"),
            // A raw CR is turned into LF by every parser, in text too.
            '\r' => out.push_str("&#13;"),
            '\n' | '\t' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => {
                out.push_str(&format!("\\u{{{:x}}}", c as u32));
            }
            c => out.push(c),
        }
    }
    out
}
