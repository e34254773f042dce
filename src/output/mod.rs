//! Writing a run's results: `summary.json` and the CSV files of docs/OUTPUT.md, into a
//! temporary sibling directory renamed into place only when complete, so a failed run never
//! leaves a half-written directory and never damages the previous one.

pub mod charts;
pub mod explain;
pub mod sweep_charts;
pub mod table;
pub mod trace;

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::report::RunReport;

#[derive(Debug, thiserror::Error)]
pub enum OutputError {
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: io::Error },
    #[error("{path}: {source}")]
    Csv { path: PathBuf, source: csv::Error },
    #[error("{path}: {message}")]
    Other { path: PathBuf, message: String },
}

pub fn io_error(path: &Path) -> impl FnOnce(io::Error) -> OutputError + '_ {
    move |source| OutputError::Io { path: path.to_path_buf(), source }
}

/// Builds a directory with `fill` in a temporary sibling of `dir`, then swaps it into place.
pub fn write_dir_atomically(
    dir: &Path,
    fill: impl FnOnce(&Path) -> Result<(), OutputError>,
) -> Result<(), OutputError> {
    let parent = match dir.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    std::fs::create_dir_all(&parent).map_err(io_error(&parent))?;
    let name = dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "run".into());
    let tmp =
        tempfile::Builder::new().prefix(&format!(".{name}.tmp-")).tempdir_in(&parent).map_err(io_error(&parent))?;
    fill(tmp.path())?;
    let tmp_path = tmp.keep();
    if dir.exists() {
        let old =
            tempfile::Builder::new().prefix(&format!(".{name}.old-")).tempdir_in(&parent).map_err(io_error(&parent))?;
        let old_path = old.keep();
        std::fs::remove_dir(&old_path).map_err(io_error(&old_path))?;
        std::fs::rename(dir, &old_path).map_err(io_error(dir))?;
        std::fs::rename(&tmp_path, dir).map_err(io_error(dir))?;
        std::fs::remove_dir_all(&old_path).map_err(io_error(&old_path))?;
    } else {
        std::fs::rename(&tmp_path, dir).map_err(io_error(dir))?;
    }
    Ok(())
}

/// Writes `summary.json` and the CSV files into `dir` (which exists).
pub fn write_data(dir: &Path, report: &RunReport) -> Result<(), OutputError> {
    write_json(&dir.join("summary.json"), &report.summary)?;
    write_csv(&dir.join("timeseries.csv"), &report.timeseries)?;
    write_csv(&dir.join("detection.csv"), &report.detection)?;
    write_csv(&dir.join("convergence.csv"), &report.convergence)?;
    write_csv(&dir.join("timeline.csv"), &report.timeline)?;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_fill_leaves_the_old_directory_untouched() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("run");
        write_dir_atomically(&dir, |d| std::fs::write(d.join("a"), "first").map_err(io_error(d))).unwrap();
        let failed = write_dir_atomically(&dir, |d| {
            std::fs::write(d.join("a"), "second").map_err(io_error(d))?;
            Err(OutputError::Other { path: d.into(), message: "boom".into() })
        });
        assert!(failed.is_err());
        assert_eq!(std::fs::read_to_string(dir.join("a")).unwrap(), "first");
        let leftovers: Vec<_> = std::fs::read_dir(root.path()).unwrap().collect();
        assert_eq!(leftovers.len(), 1, "temporary directories are cleaned up");
        write_dir_atomically(&dir, |d| std::fs::write(d.join("b"), "third").map_err(io_error(d))).unwrap();
        assert!(!dir.join("a").exists());
        assert_eq!(std::fs::read_to_string(dir.join("b")).unwrap(), "third");
    }
}
