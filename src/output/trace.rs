//! `run --trace FILE`: the model's trace records as JSON lines, one object per line:
//! `{"t_s":274.912345,"kind":"registered","node":"ns-0","peer":"broker-a","detail":"ok"}`
//! (`fault` names the fault of a `fault` record). Written to a temporary file beside the
//! target and renamed into place when the run completes.

use std::io;
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

/// Parses `--trace-filter` items: `node=NAME` or `kind=KIND`, comma-separated; a bare value
/// continues the key before it, so `kind=removed,route-changed` is `kind=removed,kind=route-changed`.
/// An unknown node or kind is refused with the nearest name.
pub fn parse_filter(items: &[String], node_names: &[String]) -> Result<TraceFilter, String> {
    let mut filter = TraceFilter::default();
    let mut key: Option<&str> = None;
    for item in items.iter().flat_map(|i| i.split(',')).map(str::trim).filter(|i| !i.is_empty()) {
        let (k, value) = match (item.split_once('='), key) {
            (Some((k, value)), _) => (k.trim(), value.trim()),
            (None, Some(k)) => (k, item),
            (None, None) => return Err(format!("--trace-filter: `{item}` is not `node=NAME` or `kind=KIND`")),
        };
        match k {
            "node" => match node_names.iter().position(|n| n == value) {
                Some(i) => filter.nodes.push(i as u32),
                None => {
                    let names: Vec<&str> = node_names.iter().map(String::as_str).collect();
                    return Err(unknown("node named", value, &names));
                }
            },
            "kind" => match TraceKind::from_name(value) {
                Some(kind) => filter.kinds.push(kind),
                None => return Err(unknown("kind", value, &TraceKind::ALL.map(TraceKind::name))),
            },
            _ => return Err(format!("--trace-filter: `{item}` is not `node=NAME` or `kind=KIND`")),
        }
        key = Some(k);
    }
    Ok(filter)
}

/// "no kind `remved`; did you mean `removed`?", listing every name when none is near (a
/// fleet's node names are listed only when there are few).
fn unknown(what: &str, given: &str, names: &[&str]) -> String {
    const LISTED_MAX: usize = 20;
    let mut message = format!("--trace-filter: no {what} `{given}`");
    if let Some(near) = crate::scenario::closest(given, names) {
        message.push_str(&format!("; did you mean `{near}`?"));
    } else if names.len() <= LISTED_MAX {
        message.push_str(&format!("; there are: {}", names.join(", ")));
    }
    message
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

#[cfg(test)]
mod tests {
    use super::*;

    fn names() -> Vec<String> {
        ["ns-0", "broker-a", "p-0"].map(String::from).to_vec()
    }

    fn parse(items: &[&str]) -> Result<TraceFilter, String> {
        parse_filter(&items.iter().map(|i| i.to_string()).collect::<Vec<_>>(), &names())
    }

    #[test]
    fn a_bare_value_continues_the_key_before_it() {
        let one = parse(&["kind=removed,route-changed,node=broker-a,ns-0"]).unwrap();
        let twice = parse(&["kind=removed", "kind=route-changed", "node=broker-a", "node=ns-0"]).unwrap();
        assert_eq!(one, twice);
        assert_eq!(one.kinds, [TraceKind::Removed, TraceKind::RouteChanged]);
        assert_eq!(one.nodes, [1, 0]);
    }

    #[test]
    fn unknown_names_get_the_nearest() {
        assert!(parse(&["kind=remved"]).unwrap_err().contains("did you mean `removed`?"));
        assert!(parse(&["node=broker-b"]).unwrap_err().contains("did you mean `broker-a`?"));
        let far = parse(&["kind=zzzzzzzz"]).unwrap_err();
        assert!(far.contains("there are: fault, process"), "{far}");
        assert!(parse(&["removed"]).unwrap_err().contains("not `node=NAME` or `kind=KIND`"));
    }
}
