//! `run --trace FILE`: the model's trace records as JSON lines, one object per line:
//! `{"t_s":274.912345,"kind":"registered","node":"ns-0","peer":"broker-a","detail":"ok"}`
//! (`fault` names the fault of a `fault` record). Written to a temporary file beside the
//! target and renamed into place when the run completes.

use std::io::{self, Write};
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::engine::secs;
use crate::model::trace::{TraceFilter, TraceKind, TraceRecord, TraceSink};

use super::{AtomicFile, OutputError};

#[derive(Serialize)]
struct Line<'a> {
    t_s: f64,
    kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    node: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    peer: Option<&'a str>,
    detail: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    fault: Option<&'a str>,
}

/// Writes records as they come; the first write error is kept and reported at `finish`.
pub struct JsonLines {
    out: AtomicFile,
    target: PathBuf,
    node_names: Vec<String>,
    fault_ids: Vec<String>,
    error: Option<io::Error>,
}

impl JsonLines {
    pub fn create(target: &Path, node_names: Vec<String>, fault_ids: Vec<String>) -> Result<JsonLines, OutputError> {
        Ok(JsonLines {
            out: AtomicFile::create(target)?,
            target: target.to_path_buf(),
            node_names,
            fault_ids,
            error: None,
        })
    }

    /// Flushes and renames the trace into place.
    pub fn finish(self) -> Result<(), OutputError> {
        if let Some(e) = self.error {
            return Err(OutputError::Io { path: self.target, source: e });
        }
        self.out.commit()
    }
}

impl TraceSink for JsonLines {
    fn record(&mut self, r: &TraceRecord) {
        if self.error.is_some() {
            return;
        }
        let name = |n: Option<u32>| n.map(|n| self.node_names[n as usize].as_str());
        let line = Line {
            t_s: secs(r.at_us),
            kind: r.kind.name(),
            node: name(r.node),
            peer: name(r.peer),
            detail: r.detail,
            fault: r.fault.map(|f| self.fault_ids[f as usize].as_str()),
        };
        let out = self.out.writer();
        let written =
            serde_json::to_writer(&mut *out, &line).map_err(io::Error::from).and_then(|()| out.write_all(b"\n"));
        if let Err(e) = written {
            self.error = Some(e);
        }
    }
}

/// Parses `--trace-filter` items: `node=NAME` or `kind=KIND`, comma-separated.
pub fn parse_filter(items: &[String], node_names: &[String]) -> Result<TraceFilter, String> {
    let mut filter = TraceFilter::default();
    for item in items.iter().flat_map(|i| i.split(',')).map(str::trim).filter(|i| !i.is_empty()) {
        match item.split_once('=') {
            Some(("node", name)) => match node_names.iter().position(|n| n == name) {
                Some(i) => filter.nodes.push(i as u32),
                None => return Err(format!("--trace-filter: no node named `{name}`")),
            },
            Some(("kind", kind)) => match TraceKind::from_name(kind) {
                Some(k) => filter.kinds.push(k),
                None => {
                    let kinds: Vec<&str> = TraceKind::ALL.iter().map(|k| k.name()).collect();
                    return Err(format!("--trace-filter: no kind `{kind}`; kinds: {}", kinds.join(", ")));
                }
            },
            _ => return Err(format!("--trace-filter: `{item}` is not `node=NAME` or `kind=KIND`")),
        }
    }
    Ok(filter)
}

impl std::fmt::Debug for JsonLines {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JsonLines").field("target", &self.target).finish()
    }
}

/// A trace sink shared between the model (which feeds it) and the caller (which finishes it).
pub struct Shared(pub std::rc::Rc<std::cell::RefCell<JsonLines>>);

impl TraceSink for Shared {
    fn record(&mut self, r: &TraceRecord) {
        self.0.borrow_mut().record(r);
    }
}
