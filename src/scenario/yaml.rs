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
    check_flow_depth(text)?;
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

/// Rejects flow collections (`[...]`, `{...}`) nested deeper than `FLOW_DEPTH_MAX` before
/// the parser sees them: libyaml's time grows with the square of the depth. A bracket counts
/// where it can open a collection: inside one, or at the start of a value; quoted text and
/// comments are skipped. Block nesting needs no check: its depth costs indentation, so a
/// file within the size cap cannot nest deeper than ~1,400 levels, which parses at once.
fn check_flow_depth(text: &str) -> Result<(), ParseFailure> {
    let (mut depth, mut line, mut quote, mut comment) = (0usize, 1usize, None::<char>, false);
    let mut value_start = true;
    let (mut escaped, mut prev) = (false, '\n');
    for c in text.chars() {
        if c == '\n' {
            line += 1;
            comment = false;
            value_start = true;
            prev = c;
            if depth == 0 {
                quote = None;
            }
            continue;
        }
        if comment {
            continue;
        }
        if let Some(q) = quote {
            if escaped {
                escaped = false;
            } else if q == '"' && c == '\\' {
                escaped = true;
            } else if c == q {
                quote = None;
            }
            continue;
        }
        match c {
            '#' if value_start || depth > 0 => comment = true,
            '\'' | '"' if value_start || depth > 0 => quote = Some(c),
            '[' | '{' if value_start || depth > 0 => {
                depth += 1;
                if depth > super::FLOW_DEPTH_MAX {
                    return Err(ParseFailure {
                        line: Some(line),
                        column: None,
                        field: String::new(),
                        message: format!(
                            "lists or mappings nested more than {} deep: no scenario needs that",
                            super::FLOW_DEPTH_MAX
                        ),
                    });
                }
            }
            ']' | '}' if depth > 0 => depth -= 1,
            _ => {}
        }
        // At the top level a value starts at a line's start or after `: ` or `- `; inside a
        // flow collection every bracket counts anyway.
        value_start = match c {
            ' ' | '\t' => value_start || matches!(prev, ':' | '-'),
            _ => depth > 0,
        };
        prev = c;
    }
    Ok(())
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
        // A key not on a line of its own (flow style, `- {at: 1m, target: x}`): the line of
        // the part above it is the best there is.
        let Some(key_line) = (from..to).find(|&i| {
            let line = lines[i];
            let trimmed = line.trim_start().trim_start_matches("- ");
            let ind = line.len() - line.trim_start().len();
            ind >= indent && trimmed.starts_with(&format!("{key}:"))
        }) else {
            return found;
        };
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
            let Some(item_indent) = items.first().map(|&i| lines[i].len() - lines[i].trim_start().len()) else {
                return found;
            };
            let items: Vec<usize> =
                items.into_iter().filter(|&i| lines[i].len() - lines[i].trim_start().len() == item_indent).collect();
            let Some(&start) = items.get(index) else { return found };
            let stop = items.get(index + 1).copied().unwrap_or(to);
            found = Some(start + 1);
            (from, to, indent) = (start, stop, item_indent);
        }
    }
    found
}

/// The line (1-based) of the second `key:` in the mapping at `field` (`""`: the top level),
/// where serde reports a duplicate key only at the mapping's start.
pub fn locate_duplicate(text: &str, field: &str, key: &str) -> Option<usize> {
    let lines: Vec<&str> = text.lines().collect();
    let from = if field.is_empty() { 0 } else { locate(text, field)? - 1 };
    let indent = |l: &str| l.len() - l.trim_start().len();
    let is_key = |l: &str| l.trim_start().trim_start_matches("- ").starts_with(&format!("{key}:"));
    let first = (from..lines.len()).find(|&i| is_key(lines[i]) && (!field.is_empty() || indent(lines[i]) == 0))?;
    let level = indent(lines[first]);
    (first + 1..lines.len())
        .take_while(|&i| {
            let l = lines[i];
            l.trim().is_empty() || l.trim_start().starts_with('#') || indent(l) >= level
        })
        .find(|&i| is_key(lines[i]) && indent(lines[i]) == level)
        .map(|i| i + 1)
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
        // Flow style: the item's line.
        assert_eq!(locate("faults:\n  - {at: 1m, target: x}\n", "faults[0].target"), Some(2));
    }

    #[test]
    fn locates_the_second_copy_of_a_key() {
        let doc = "name: x\nduration: 1m\ntiming:\n  nameserver_scan: 5s\n  nameserver_scan: 6s\nduration: 2m\n";
        assert_eq!(locate_duplicate(doc, "", "duration"), Some(6));
        assert_eq!(locate_duplicate(doc, "timing", "nameserver_scan"), Some(5));
        assert_eq!(locate_duplicate(doc, "", "name"), None);
    }

    #[test]
    fn deep_flow_nesting_is_refused_before_parsing() {
        let deep = format!("description: {}{}\n", "[".repeat(100_000), "]".repeat(100_000));
        let started = std::time::Instant::now();
        let failure = parse::<Value>(&deep).unwrap_err();
        assert!(failure.message.contains("nested more than"), "{}", failure.message);
        assert!(started.elapsed().as_secs() < 1);
        // Brackets in quoted text, comments and plain words do not count.
        let text = format!("a: '{0}'\nb: \"{0}\" # {0}\nc: x{0}\nd: [[1], {{e: [2]}}]\n", "[".repeat(100));
        assert!(parse::<Value>(&text).is_ok());
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
