//! The only place that knows serde_yaml (unmaintained; swap it here alone). Parses scenario
//! text into the raw types with the failing field's path and line, finds the line of a field
//! for errors found after parsing, and applies sweep overrides to a document.

use serde::de::DeserializeOwned;

pub use serde_yaml::Value;

/// A parse failure: where, which field, what.
#[derive(Debug)]
pub struct ParseFailure {
    pub line: Option<usize>,
    pub column: Option<usize>,
    pub field: String,
    pub message: String,
}

pub fn parse<T: DeserializeOwned>(text: &str) -> Result<T, ParseFailure> {
    let de = serde_yaml::Deserializer::from_str(text);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let field = e.path().to_string();
        let inner = e.into_inner();
        let location = inner.location();
        let message = strip_location(&inner.to_string());
        // serde_yaml may start its message with (part of) the path; the caller prints it once.
        let message = match message.split_once(": ") {
            Some((prefix, rest)) if field.starts_with(prefix) => rest.to_string(),
            _ => message,
        };
        ParseFailure {
            line: location.as_ref().map(|l| l.line()),
            column: location.as_ref().map(|l| l.column()),
            field: if field == "." { String::new() } else { field },
            message,
        }
    })
}

/// serde_yaml appends " at line L column C"; the caller prints the location itself.
fn strip_location(message: &str) -> String {
    match message.find(" at line ") {
        Some(i) => message[..i].to_string(),
        None => message.to_string(),
    }
}

pub fn parse_value(text: &str) -> Result<Value, ParseFailure> {
    parse(text)
}

/// Deserialises a document that was edited in memory (no lines to point at any more).
pub fn from_value<T: DeserializeOwned>(value: Value) -> Result<T, ParseFailure> {
    serde_path_to_error::deserialize(value).map_err(|e| ParseFailure {
        line: None,
        column: None,
        field: e.path().to_string(),
        message: strip_location(&e.into_inner().to_string()),
    })
}

/// A value as typed on a command line (`30s`, `true`, `0.1`), read as YAML would read it.
pub fn scalar(text: &str) -> Value {
    serde_yaml::from_str(text).unwrap_or_else(|_| Value::String(text.to_string()))
}

pub fn to_string(value: &Value) -> String {
    serde_yaml::to_string(value).unwrap_or_default()
}

/// A value as a person wrote it in the file (`10s`, `0.01`, `true`), for the columns of a
/// sweep's tables; a list or mapping as one line of JSON.
pub fn scalar_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Null => "null".to_string(),
        other => serde_json::to_string(other).unwrap_or_else(|_| to_string(other).trim().replace('\n', " ")),
    }
}

/// Sets `path` (`timing.broker_heartbeat`, `producers.retries`, `network.loss`) in `doc`.
/// A path through a list sets the key in every element (every producer group). Returns an
/// error naming the first segment that does not exist where it must.
pub fn set_path(doc: &mut Value, path: &str, value: &Value) -> Result<(), String> {
    let segments: Vec<&str> = path.split('.').collect();
    if segments.iter().any(|s| s.is_empty()) {
        return Err(format!("`{path}` is not a field path: write e.g. `timing.broker_heartbeat`"));
    }
    set_segments(doc, &segments, value, path)
}

fn set_segments(node: &mut Value, segments: &[&str], value: &Value, path: &str) -> Result<(), String> {
    let Some((first, rest)) = segments.split_first() else {
        *node = value.clone();
        return Ok(());
    };
    match node {
        Value::Sequence(items) => {
            if items.is_empty() {
                return Err(format!("`{path}`: the list holding `{first}` is empty"));
            }
            items.iter_mut().try_for_each(|item| set_segments(item, segments, value, path))
        }
        Value::Mapping(map) => {
            let key = Value::String((*first).to_string());
            if !map.contains_key(&key) {
                // Settings left at their defaults are absent from the file: create the key;
                // parsing the result rejects a name that is not a field.
                map.insert(key.clone(), if rest.is_empty() { Value::Null } else { Value::Mapping(Default::default()) });
            }
            set_segments(map.get_mut(&key).expect("inserted"), rest, value, path)
        }
        Value::Null if !rest.is_empty() || segments.len() == 1 => {
            *node = Value::Mapping(Default::default());
            set_segments(node, segments, value, path)
        }
        _ => Err(format!("`{path}`: `{first}` is inside a value that is not a mapping")),
    }
}

/// Best-effort line (1-based) of a field path like `faults[2].target` in block-style YAML:
/// the line of the deepest part of the path it can find.
pub fn locate(text: &str, field: &str) -> Option<usize> {
    let lines: Vec<&str> = text.lines().collect();
    let mut found = None;
    let (mut from, mut to, mut indent) = (0usize, lines.len(), 0usize);
    for part in field.split('.') {
        let (key, index) = match part.split_once('[') {
            Some((key, rest)) => (key, rest.trim_end_matches(']').parse::<usize>().ok()),
            None => (part, None),
        };
        let key_line = (from..to).find(|&i| {
            let line = lines[i];
            let trimmed = line.trim_start().trim_start_matches("- ");
            let ind = line.len() - line.trim_start().len();
            ind >= indent && trimmed.starts_with(&format!("{key}:"))
        })?;
        found = Some(key_line + 1);
        let key_indent = lines[key_line].len() - lines[key_line].trim_start().len();
        let end = (key_line + 1..to)
            .find(|&i| {
                let l = lines[i];
                !l.trim().is_empty()
                    && !l.trim_start().starts_with('#')
                    && l.len() - l.trim_start().len() <= key_indent
                    && !l.trim_start().starts_with("- ")
            })
            .unwrap_or(to);
        (from, to, indent) = (key_line + 1, end, key_indent + 1);
        if let Some(index) = index {
            let items: Vec<usize> = (from..to).filter(|&i| lines[i].trim_start().starts_with("- ")).collect();
            let item_indent = items.first().map(|&i| lines[i].len() - lines[i].trim_start().len())?;
            let items: Vec<usize> =
                items.into_iter().filter(|&i| lines[i].len() - lines[i].trim_start().len() == item_indent).collect();
            let start = *items.get(index)?;
            let stop = items.get(index + 1).copied().unwrap_or(to);
            found = Some(start + 1);
            (from, to, indent) = (start, stop, item_indent);
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str = "name: x\nfaults:\n  - at: 1m\n    kind: crash\n    target: broker-q\n  - at: 2m\n    kind: restart\n    target: broker-z\ntiming:\n  broker_heartbeat: 30s\n";

    #[test]
    fn locates_nested_fields() {
        assert_eq!(locate(DOC, "faults[0].target"), Some(5));
        assert_eq!(locate(DOC, "faults[1].target"), Some(8));
        assert_eq!(locate(DOC, "faults[1]"), Some(6));
        assert_eq!(locate(DOC, "timing.broker_heartbeat"), Some(10));
        assert_eq!(locate(DOC, "nothing"), None);
    }

    #[test]
    fn sets_paths_through_lists_and_missing_maps() {
        let mut doc: Value = parse_value("producers:\n  - name: a\n  - name: b\n").unwrap();
        set_path(&mut doc, "producers.retries", &Value::from(0)).unwrap();
        set_path(&mut doc, "timing.broker_heartbeat", &Value::from("10s")).unwrap();
        let text = to_string(&doc);
        assert_eq!(text.matches("retries: 0").count(), 2);
        assert!(text.contains("broker_heartbeat: 10s"));
        assert!(set_path(&mut doc, "producers..x", &Value::Null).is_err());
    }
}
