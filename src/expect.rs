//! The expectation language: assertions that scenarios make about `summary.json`.
//!
//! This module owns everything between the text a user writes under `expect:` and a verdict:
//! parsing one assertion (`PATH OP VALUE` or `PATH in [LO, HI]`), checking its path against a
//! representative summary at load time, evaluating it over the summaries of one or many seeds
//! (per seed, or as an aggregate over seeds), and writing the verdicts as JUnit XML.
//! It knows the summary only as a `serde_json::Value`, so the summary's schema can grow without
//! touching this file. The language is documented for users in docs/EXPECTATIONS.md.
//!
//! The one subtle rule: `convergence_s.max` is a real field of a single summary, while
//! `stale_window_s.max` is the maximum over seeds. A path is therefore resolved against the
//! summary first; only when the whole path does not exist there, and its last segment is an
//! aggregate name, is that segment read as an aggregate over seeds.

use std::fmt;
use std::io::{self, Write};
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// One parsed assertion. Keeps its source text: it names the JUnit case and every error.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(try_from = "String", into = "String")]
pub struct Assertion {
    /// The assertion as written, trimmed.
    pub text: String,
    /// The dot-separated path, one entry per key. Never empty.
    pub path: Vec<Segment>,
    pub check: Check,
}

/// One key of a path, with an optional element selector: `faults[broker-a]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Segment {
    pub key: String,
    pub selector: Option<Selector>,
    /// Byte offset of the key in [`Assertion::text`], for pointing at it in errors.
    pub key_at: usize,
    /// Byte offset of the `[` of the selector, if any.
    pub selector_at: Option<usize>,
    /// Byte offset just past this segment (after `]` when there is a selector).
    pub end: usize,
}

/// Picks one element of a list of objects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selector {
    /// The element whose `id` field equals this (`faults[broker-a]`, or quoted: `faults["7"]`).
    Id(String),
    /// The element at this 0-based position (`faults[0]`).
    Index(usize),
}

/// What is compared with the observed value.
#[derive(Debug, Clone, PartialEq)]
pub enum Check {
    /// `PATH OP VALUE`. The parser only pairs ordering operators with numbers.
    Compare { op: CmpOp, value: Expected },
    /// `PATH in [LO, HI]`, both ends inclusive, `lo <= hi`.
    Within { lo: f64, hi: f64 },
}

/// A comparison operator; `Display` writes its symbol.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CmpOp {
    Lt,
    Le,
    Gt,
    Ge,
    Eq,
    Ne,
}

/// The right-hand side of a comparison.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Expected {
    Number(f64),
    Bool(bool),
    Null,
}

/// A statistic over the values that one path takes across seeds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Aggregate {
    P50,
    P90,
    P99,
    Max,
    Min,
    Mean,
    Count,
}

/// How an assertion's path is read, decided against actual summaries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// The whole path is a field of one summary; every seed must pass on its own.
    PerSeed,
    /// All but the last segment are a field; the last segment is this statistic over seeds.
    Aggregate(Aggregate),
}

/// The verdict on one assertion.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Outcome {
    pub passed: bool,
    /// What was seen, for a human: a value, the failing seeds with their values, or why the
    /// assertion could not be evaluated.
    pub observed: String,
    /// Seeds to replay, ascending. Per-seed: every seed that failed. Aggregate: the seed whose
    /// value the failing percentile, max or min is (empty for mean and count).
    pub failing_seeds: Vec<u64>,
}

/// A problem with an assertion, found while parsing it or checking its path. The message shows
/// the assertion, a caret under the problem, and a hint at the fix.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ExpectError {
    #[error("{}", show(text, *at, "the assertion has no path", "start with the path of a summary.json field, e.g. `totals.failed_sends == 0`"))]
    EmptyPath { text: String, at: usize },
    #[error("{}", show(text, *at, problem, help))]
    MalformedPath { text: String, at: usize, problem: String, help: String },
    #[error("{}", show(text, *at, "no operator after the path", "add one of <, <=, >, >=, ==, != and a value, or `in [LO, HI]`"))]
    MissingOperator { text: String, at: usize },
    #[error("{}", show(text, *at, &format!("unknown operator `{found}`"), help))]
    UnknownOperator { text: String, at: usize, found: String, help: String },
    #[error("{}", show(text, *at, "no value after the operator", "put a number, `null`, `true` or `false` after the operator"))]
    MissingValue { text: String, at: usize },
    #[error("{}", show(text, *at, &format!("malformed number `{found}`"), help))]
    MalformedNumber { text: String, at: usize, found: String, help: String },
    #[error("{}", show(text, *at, &format!("`{found}` is not a value"), help))]
    BadValue { text: String, at: usize, found: String, help: String },
    #[error("{}", show(text, *at, problem, help))]
    OperatorMismatch { text: String, at: usize, problem: String, help: String },
    #[error("{}", show(text, *at, problem, help))]
    BadRange { text: String, at: usize, problem: String, help: String },
    #[error("{}", show(text, *at, &format!("unexpected `{found}` after the value"), "an assertion is `PATH OP VALUE` or `PATH in [LO, HI]`; write one assertion per line"))]
    TrailingInput { text: String, at: usize, found: String },
    #[error("{}", show(text, *at, &format!("unknown key `{key}` in {place}"), help))]
    UnknownKey { text: String, at: usize, key: String, place: String, valid: Box<[String]>, help: String },
    #[error("{}", show(text, *at, &format!("no element of `{list}` has id `{id}`"), help))]
    UnknownId { text: String, at: usize, id: String, list: String, valid: Box<[String]>, help: String },
    #[error("{}", show(text, *at, problem, help))]
    WrongShape { text: String, at: usize, problem: String, help: String },
}

impl ExpectError {
    /// The assertion the error is about.
    pub fn assertion_text(&self) -> &str {
        match self {
            ExpectError::EmptyPath { text, .. }
            | ExpectError::MalformedPath { text, .. }
            | ExpectError::MissingOperator { text, .. }
            | ExpectError::UnknownOperator { text, .. }
            | ExpectError::MissingValue { text, .. }
            | ExpectError::MalformedNumber { text, .. }
            | ExpectError::BadValue { text, .. }
            | ExpectError::OperatorMismatch { text, .. }
            | ExpectError::BadRange { text, .. }
            | ExpectError::TrailingInput { text, .. }
            | ExpectError::UnknownKey { text, .. }
            | ExpectError::UnknownId { text, .. }
            | ExpectError::WrongShape { text, .. } => text,
        }
    }
}

/// Renders `problem`, the assertion with a caret under byte offset `at`, and `help`.
fn show(text: &str, at: usize, problem: &str, help: &str) -> String {
    // Tabs and newlines would break the caret's alignment; each is one char, so a space keeps
    // the column count.
    let line: String = text.chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
    let column = text.get(..at).map_or_else(|| text.chars().count(), |s| s.chars().count());
    format!("invalid assertion: {problem}\n    {line}\n    {}^\n  help: {help}", " ".repeat(column))
}

// ---------------------------------------------------------------------------------------------
// Parsing
// ---------------------------------------------------------------------------------------------

/// Parses one assertion. Leading and trailing whitespace is ignored.
pub fn parse(text: &str) -> Result<Assertion, ExpectError> {
    let text = text.trim();
    let mut p = Parser { text, pos: 0 };
    let path = p.path()?;
    p.skip_ws();
    let check = p.check()?;
    p.skip_ws();
    if p.pos < text.len() {
        let found = text[p.pos..].split_whitespace().next().unwrap_or_default().to_string();
        return Err(ExpectError::TrailingInput { text: text.to_string(), at: p.pos, found });
    }
    Ok(Assertion { text: text.to_string(), path, check })
}

impl FromStr for Assertion {
    type Err = ExpectError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        parse(s)
    }
}

impl TryFrom<String> for Assertion {
    type Error = ExpectError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        parse(&s)
    }
}

impl From<Assertion> for String {
    fn from(a: Assertion) -> String {
        a.text
    }
}

impl fmt::Display for Assertion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl Assertion {
    /// The last segment read as an aggregate name, if it can be one (no selector, a known name,
    /// and something before it to aggregate).
    pub fn aggregate_suffix(&self) -> Option<Aggregate> {
        let last = self.path.last()?;
        if self.path.len() < 2 || last.selector.is_some() {
            return None;
        }
        Aggregate::from_name(&last.key)
    }

    /// Decides how the path reads against `schema` (a representative summary): see the module
    /// docs for the rule. Errors when it reads neither way.
    pub fn target_in(&self, schema: &Value) -> Result<Target, ExpectError> {
        decide(self, &[schema], true)
    }
}

impl Aggregate {
    /// The statistic of ascending `sorted` values whose mean (summed in seed order) is `mean`.
    fn of(self, sorted: &[f64], mean: Option<f64>) -> Option<f64> {
        match self {
            Aggregate::P50 => nearest_rank(sorted, 50),
            Aggregate::P90 => nearest_rank(sorted, 90),
            Aggregate::P99 => nearest_rank(sorted, 99),
            Aggregate::Max => sorted.last().copied(),
            Aggregate::Min => sorted.first().copied(),
            Aggregate::Mean => mean,
            Aggregate::Count => Some(sorted.len() as f64),
        }
    }

    pub const ALL: [Aggregate; 7] = [
        Aggregate::P50,
        Aggregate::P90,
        Aggregate::P99,
        Aggregate::Max,
        Aggregate::Min,
        Aggregate::Mean,
        Aggregate::Count,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Aggregate::P50 => "p50",
            Aggregate::P90 => "p90",
            Aggregate::P99 => "p99",
            Aggregate::Max => "max",
            Aggregate::Min => "min",
            Aggregate::Mean => "mean",
            Aggregate::Count => "count",
        }
    }

    pub fn from_name(name: &str) -> Option<Aggregate> {
        Aggregate::ALL.into_iter().find(|a| a.name() == name)
    }
}

impl fmt::Display for CmpOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            CmpOp::Lt => "<",
            CmpOp::Le => "<=",
            CmpOp::Gt => ">",
            CmpOp::Ge => ">=",
            CmpOp::Eq => "==",
            CmpOp::Ne => "!=",
        })
    }
}

impl CmpOp {
    fn holds(self, observed: f64, expected: f64) -> bool {
        match self {
            CmpOp::Lt => observed < expected,
            CmpOp::Le => observed <= expected,
            CmpOp::Gt => observed > expected,
            CmpOp::Ge => observed >= expected,
            CmpOp::Eq => observed == expected,
            CmpOp::Ne => observed != expected,
        }
    }

    fn is_ordering(self) -> bool {
        !matches!(self, CmpOp::Eq | CmpOp::Ne)
    }
}

const OPERATORS_HELP: &str = "operators are <, <=, >, >=, ==, != and `in [LO, HI]`";

/// Characters a key may contain: node names such as `ns-0` and `broker-a-s1` need `-`.
fn is_key_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '-'
}

fn is_operator_char(c: char) -> bool {
    matches!(c, '<' | '>' | '=' | '!')
}

struct Parser<'t> {
    text: &'t str,
    /// Byte offset; always on a char boundary because it only moves by whole chars.
    pos: usize,
}

impl<'t> Parser<'t> {
    fn rest(&self) -> &'t str {
        self.text.get(self.pos..).unwrap_or_default()
    }

    fn peek(&self) -> Option<char> {
        self.rest().chars().next()
    }

    fn bump(&mut self) {
        if let Some(c) = self.peek() {
            self.pos += c.len_utf8();
        }
    }

    fn skip_ws(&mut self) {
        while self.peek().is_some_and(char::is_whitespace) {
            self.bump();
        }
    }

    fn take_while(&mut self, keep: impl Fn(char) -> bool) -> &'t str {
        let start = self.pos;
        while self.peek().is_some_and(&keep) {
            self.bump();
        }
        &self.text[start..self.pos]
    }

    fn path_error(&self, at: usize, problem: impl Into<String>, help: impl Into<String>) -> ExpectError {
        ExpectError::MalformedPath { text: self.text.to_string(), at, problem: problem.into(), help: help.into() }
    }

    fn path(&mut self) -> Result<Vec<Segment>, ExpectError> {
        let mut segments = Vec::new();
        loop {
            let key_at = self.pos;
            let key = self.take_while(is_key_char);
            if key.is_empty() {
                let at_path_end = self.peek().is_none_or(|c| c.is_whitespace() || is_operator_char(c));
                if segments.is_empty() && at_path_end {
                    return Err(ExpectError::EmptyPath { text: self.text.to_string(), at: key_at });
                }
                let problem = match self.peek() {
                    Some('[') => "a selector must follow a key".to_string(),
                    Some(c) if segments.is_empty() => {
                        format!("a path starts with a key, not `{c}`")
                    }
                    Some(c) => format!("expected a key after `.`, found `{c}`"),
                    None => "expected a key after `.`".to_string(),
                };
                return Err(self.path_error(
                    key_at,
                    problem,
                    "keys are letters, digits, `_` and `-`, joined by single dots: `faults[broker-a].detection_s.ns-0`",
                ));
            }
            let (selector, selector_at) = if self.peek() == Some('[') {
                let at = self.pos;
                (Some(self.selector()?), Some(at))
            } else {
                (None, None)
            };
            if self.peek() == Some('[') {
                return Err(self.path_error(
                    self.pos,
                    "only one selector per key",
                    "summary lists hold objects, so one `[id]` or `[index]` reaches an element; continue with `.key`",
                ));
            }
            segments.push(Segment { key: key.to_string(), selector, key_at, selector_at, end: self.pos });
            if self.peek() == Some('.') {
                self.bump();
                continue;
            }
            break;
        }
        match self.peek() {
            None => Ok(segments),
            Some(c) if c.is_whitespace() || is_operator_char(c) => Ok(segments),
            Some(']') => {
                Err(self.path_error(self.pos, "`]` without a matching `[`", "select an element with `key[id]`"))
            }
            Some(c) => Err(self.path_error(
                self.pos,
                format!("unexpected `{c}` in the path"),
                "keys are letters, digits, `_` and `-`; select list elements with `[id]` or `[index]`",
            )),
        }
    }

    /// Parses `[…]`; `self.pos` is at the `[`.
    fn selector(&mut self) -> Result<Selector, ExpectError> {
        let open = self.pos;
        self.bump();
        self.skip_ws();
        if let Some(quote @ ('"' | '\'')) = self.peek() {
            // A quoted selector is always an id: the way to pick an element whose id is digits.
            let quote_at = self.pos;
            self.bump();
            let id = self.take_while(|c| c != quote);
            if self.peek() != Some(quote) {
                return Err(self.path_error(quote_at, "unclosed quote in selector", format!("close it with {quote}")));
            }
            self.bump();
            self.skip_ws();
            if self.peek() != Some(']') {
                return Err(self.path_error(self.pos, "expected `]` after the quoted id", "write `key[\"id\"]`"));
            }
            self.bump();
            if id.is_empty() {
                return Err(self.path_error(open, "empty id in selector", "put an element's id between the brackets"));
            }
            return Ok(Selector::Id(id.to_string()));
        }
        let inner = self.take_while(|c| c != ']');
        if self.peek() != Some(']') {
            return Err(self.path_error(open, "unclosed `[`", "close the selector with `]`, e.g. `faults[broker-a]`"));
        }
        self.bump();
        let inner = inner.trim();
        if inner.is_empty() {
            return Err(self.path_error(
                open,
                "empty selector",
                "put an element's id (`faults[broker-a]`) or its 0-based index (`faults[0]`) between the brackets",
            ));
        }
        if inner.chars().all(|c| c.is_ascii_digit()) {
            return inner.parse().map(Selector::Index).map_err(|_| {
                self.path_error(
                    open,
                    format!("index `{inner}` is too large"),
                    "use a smaller index, or quote an id: `[\"…\"]`",
                )
            });
        }
        Ok(Selector::Id(inner.to_string()))
    }

    fn check(&mut self) -> Result<Check, ExpectError> {
        let at = self.pos;
        let rest = self.rest();
        let text = self.text;
        let unknown = |found: &str, help: &str| ExpectError::UnknownOperator {
            text: text.to_string(),
            at,
            found: found.to_string(),
            help: help.to_string(),
        };
        // Longest first, and the likely misspellings before their valid prefixes.
        let symbolic: [(&str, Result<CmpOp, &str>); 12] = [
            ("===", Err("write `==` to test equality")),
            ("=<", Err("write `<=`")),
            ("=>", Err("write `>=`")),
            ("<>", Err("write `!=` for inequality")),
            ("<=", Ok(CmpOp::Le)),
            (">=", Ok(CmpOp::Ge)),
            ("==", Ok(CmpOp::Eq)),
            ("!=", Ok(CmpOp::Ne)),
            ("<", Ok(CmpOp::Lt)),
            (">", Ok(CmpOp::Gt)),
            ("=", Err("write `==` to test equality")),
            ("!", Err("write `!=` for inequality")),
        ];
        for (token, meaning) in symbolic {
            if rest.starts_with(token) {
                let op = meaning.map_err(|help| unknown(token, help))?;
                self.pos += token.len();
                return self.compare(op);
            }
        }
        let word = self.take_while(|c| c.is_alphanumeric() || c == '_');
        match word {
            "" => match self.peek() {
                None => Err(ExpectError::MissingOperator { text: self.text.to_string(), at }),
                Some(c) => Err(unknown(&c.to_string(), OPERATORS_HELP)),
            },
            "in" => self.range(),
            "lt" | "le" | "gt" | "ge" | "eq" | "ne" => {
                let symbol = match word {
                    "lt" => "<",
                    "le" => "<=",
                    "gt" => ">",
                    "ge" => ">=",
                    "eq" => "==",
                    _ => "!=",
                };
                Err(unknown(word, &format!("write `{symbol}`")))
            }
            "between" | "within" => Err(unknown(word, "write `in [LO, HI]` for an inclusive range")),
            _ => Err(unknown(word, OPERATORS_HELP)),
        }
    }

    /// Reads a token for a value: up to whitespace, or also up to `,` / `]` inside a range.
    fn token(&mut self, in_range: bool) -> (usize, &'t str) {
        let at = self.pos;
        let token = self.take_while(|c| !(c.is_whitespace() || (in_range && (c == ',' || c == ']'))));
        (at, token)
    }

    fn compare(&mut self, op: CmpOp) -> Result<Check, ExpectError> {
        self.skip_ws();
        let (at, token) = self.token(false);
        if token.is_empty() {
            return Err(ExpectError::MissingValue { text: self.text.to_string(), at });
        }
        let value = self.value(at, token)?;
        if op.is_ordering() && !matches!(value, Expected::Number(_)) {
            return Err(ExpectError::OperatorMismatch {
                text: self.text.to_string(),
                at,
                problem: format!("`{op}` needs a number, not `{token}`"),
                help: format!("`{token}` can only be compared with == or !="),
            });
        }
        Ok(Check::Compare { op, value })
    }

    fn value(&self, at: usize, token: &str) -> Result<Expected, ExpectError> {
        let bad = |help: &str| ExpectError::BadValue {
            text: self.text.to_string(),
            at,
            found: token.to_string(),
            help: help.to_string(),
        };
        match token {
            "null" => Ok(Expected::Null),
            "true" => Ok(Expected::Bool(true)),
            "false" => Ok(Expected::Bool(false)),
            _ if ["null", "none", "nil", "nan"].contains(&token.to_ascii_lowercase().as_str()) => {
                Err(bad("write `null` (lower case) for a missing value"))
            }
            _ if ["true", "false"].contains(&token.to_ascii_lowercase().as_str()) => {
                Err(bad("write `true` or `false` in lower case"))
            }
            _ if token.starts_with(['"', '\'']) => {
                Err(bad("text values are not supported; compare numbers, `true`/`false` or `null`"))
            }
            _ if token.starts_with(|c: char| c.is_ascii_digit() || matches!(c, '-' | '+' | '.')) => {
                self.number(at, token).map(Expected::Number)
            }
            _ if token.to_ascii_lowercase().starts_with("inf") => Err(bad("write a finite number")),
            _ => Err(bad("a value is a number, `null`, `true` or `false`")),
        }
    }

    fn number(&self, at: usize, token: &str) -> Result<f64, ExpectError> {
        let malformed = |help: &str| ExpectError::MalformedNumber {
            text: self.text.to_string(),
            at,
            found: token.to_string(),
            help: help.to_string(),
        };
        if !is_decimal(token) {
            // A unit is a trailing run of letters after a well-formed number: `165s`, `3000ms`.
            // (`1e` is a broken exponent, not a unit.)
            let number_part = token.trim_end_matches(|c: char| c.is_ascii_alphabetic());
            let suffix = &token[number_part.len()..];
            let has_unit = !suffix.is_empty() && is_decimal(number_part) && !suffix.eq_ignore_ascii_case("e");
            let help = if token.contains([',', '_']) {
                "write the number without separators, e.g. 100000".to_string()
            } else if has_unit {
                format!(
                    "drop the unit `{suffix}`: values are plain numbers in the field's unit (`_s` fields are seconds, `_ms` milliseconds)"
                )
            } else {
                "write a decimal number such as 165, 0.5, -3 or 1e3".to_string()
            };
            return Err(malformed(&help));
        }
        match token.parse::<f64>() {
            Ok(x) if x.is_finite() => Ok(x),
            _ => Err(malformed("the number is out of range; write a finite number")),
        }
    }

    fn range(&mut self) -> Result<Check, ExpectError> {
        let text = self.text;
        let bad = |at: usize, problem: &str, help: &str| ExpectError::BadRange {
            text: text.to_string(),
            at,
            problem: problem.to_string(),
            help: help.to_string(),
        };
        const SHAPE: &str = "write `in [LO, HI]`, e.g. `in [90, 120]` (both ends included)";
        self.skip_ws();
        if self.peek() != Some('[') {
            return Err(bad(self.pos, "expected `[` after `in`", SHAPE));
        }
        self.bump();
        let mut bounds = [0.0; 2];
        for (i, bound) in bounds.iter_mut().enumerate() {
            self.skip_ws();
            let (at, token) = self.token(true);
            if token.is_empty() {
                let which = if i == 0 { "lower" } else { "upper" };
                return Err(bad(at, &format!("missing {which} bound"), SHAPE));
            }
            *bound = match self.value(at, token)? {
                Expected::Number(x) => x,
                _ => {
                    return Err(bad(at, &format!("range bounds are numbers, not `{token}`"), SHAPE));
                }
            };
            self.skip_ws();
            let (want, what) =
                if i == 0 { (',', "`,` between the bounds") } else { (']', "`]` after the upper bound") };
            if self.peek() != Some(want) {
                return Err(bad(self.pos, &format!("expected {what}"), SHAPE));
            }
            self.bump();
        }
        let [lo, hi] = bounds;
        if lo > hi {
            return Err(bad(
                self.pos.saturating_sub(1),
                &format!("empty range: {lo} > {hi}"),
                &format!("write the smaller bound first: `in [{hi}, {lo}]`"),
            ));
        }
        Ok(Check::Within { lo, hi })
    }
}

/// `[+-]? (digits [. digits?] | . digits) ([eE] [+-]? digits)?` — what JSON and YAML users
/// write. Rust's float parser alone would also take `inf` and `NaN`.
fn is_decimal(s: &str) -> bool {
    let s = s.strip_prefix(['+', '-']).unwrap_or(s);
    let (mantissa, exponent) = match s.find(['e', 'E']) {
        Some(i) => (&s[..i], Some(&s[i + 1..])),
        None => (s, None),
    };
    let all_digits = |t: &str| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit());
    let mantissa_ok = match mantissa.split_once('.') {
        Some((int, frac)) => {
            (all_digits(int) && (frac.is_empty() || all_digits(frac))) || (int.is_empty() && all_digits(frac))
        }
        None => all_digits(mantissa),
    };
    let exponent_ok = exponent.is_none_or(|e| all_digits(e.strip_prefix(['+', '-']).unwrap_or(e)));
    mantissa_ok && exponent_ok
}

// ---------------------------------------------------------------------------------------------
// Resolving paths against summaries
// ---------------------------------------------------------------------------------------------

/// Where a path led in one summary.
#[derive(Debug)]
enum Lookup<'v> {
    /// The path exists; this is its value (which may itself be JSON null).
    Found(&'v Value),
    /// The path went through a null (a field with no data in this run) or past the end of a
    /// list before it ended, so its value is null and the rest of its shape is unknown.
    Absent,
    /// The path does not exist in this summary.
    Missing(Miss),
}

#[derive(Debug)]
struct Miss {
    /// Index of the segment that could not be followed.
    segment: usize,
    kind: MissKind,
}

#[derive(Debug)]
enum MissKind {
    UnknownKey {
        valid: Vec<String>,
    },
    UnknownId {
        valid: Vec<String>,
    },
    /// A key was asked of something that is not an object.
    NotObject {
        found: &'static str,
        ids: Option<Vec<String>>,
    },
    /// A selector was applied to something that is not a list.
    NotList {
        found: &'static str,
    },
}

/// The kind of a JSON value, with its article, as messages say it: "is a number".
fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "text",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

/// The `id` of a list element, as the selector would spell it.
fn element_id(v: &Value) -> Option<String> {
    match v.get("id")? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn list_ids(items: &[Value]) -> Vec<String> {
    items.iter().filter_map(element_id).collect()
}

/// Follows `path` in `root`. With `shape_only`, an index past the end of a list is checked
/// against the list's first element instead: list lengths vary from seed to seed, so at load
/// time only the shape behind an index can be checked, not that the element exists.
fn lookup<'v>(root: &'v Value, path: &[Segment], shape_only: bool) -> Lookup<'v> {
    let mut cur = root;
    for (i, seg) in path.iter().enumerate() {
        let miss = |kind| Lookup::Missing(Miss { segment: i, kind });
        cur = match cur {
            Value::Null => return Lookup::Absent,
            Value::Object(map) => match map.get(&seg.key) {
                Some(v) => v,
                None => {
                    return miss(MissKind::UnknownKey { valid: map.keys().cloned().collect() });
                }
            },
            Value::Array(items) => {
                return miss(MissKind::NotObject { found: "a list", ids: Some(list_ids(items)) });
            }
            other => {
                return miss(MissKind::NotObject { found: type_name(other), ids: None });
            }
        };
        let Some(selector) = &seg.selector else {
            continue;
        };
        cur = match (cur, selector) {
            (Value::Null, _) => return Lookup::Absent,
            (Value::Array(items), Selector::Index(n)) => match items.get(*n) {
                Some(v) => v,
                None if shape_only => match items.first() {
                    Some(v) => v,
                    None => return Lookup::Absent,
                },
                None => return Lookup::Absent,
            },
            (Value::Array(items), Selector::Id(id)) => {
                match items.iter().find(|item| element_id(item).as_deref() == Some(id.as_str())) {
                    Some(v) => v,
                    None => {
                        return miss(MissKind::UnknownId { valid: list_ids(items) });
                    }
                }
            }
            (other, _) => {
                return miss(MissKind::NotList { found: type_name(other) });
            }
        };
    }
    Lookup::Found(cur)
}

/// The text of the first `n` segments of the path, e.g. `faults[broker-a]`.
fn path_prefix(a: &Assertion, n: usize) -> &str {
    match (a.path.first(), n.checked_sub(1).and_then(|i| a.path.get(i))) {
        (Some(first), Some(last)) => a.text.get(first.key_at..last.end).unwrap_or_default(),
        _ => "",
    }
}

fn describe_place(a: &Assertion, n: usize) -> String {
    match path_prefix(a, n) {
        "" => "the summary".to_string(),
        p => format!("`{p}`"),
    }
}

fn aggregate_names() -> String {
    Aggregate::ALL.iter().map(|a| format!(".{}", a.name())).collect::<Vec<_>>().join(" ")
}

/// The closest candidate, if it is close enough to be a plausible typo (`scenario::closest`,
/// the one "did you mean" rule).
fn did_you_mean<'c>(word: &str, candidates: impl IntoIterator<Item = &'c str>) -> Option<&'c str> {
    let candidates: Vec<&str> = candidates.into_iter().collect();
    crate::scenario::closest(word, &candidates)
}

fn with_suggestion(suggestion: Option<&str>, rest: String) -> String {
    match suggestion {
        Some(s) => format!("did you mean `{s}`? {rest}"),
        None => rest,
    }
}

fn miss_error(a: &Assertion, miss: Miss) -> ExpectError {
    let text = a.text.clone();
    let Some(seg) = a.path.get(miss.segment) else {
        return ExpectError::EmptyPath { text, at: 0 };
    };
    let place = describe_place(a, miss.segment);
    let is_last = miss.segment + 1 == a.path.len();
    match miss.kind {
        MissKind::UnknownKey { valid } => {
            let suggestion = did_you_mean(&seg.key, valid.iter().map(String::as_str));
            let mut help = with_suggestion(suggestion, format!("keys there: {}", valid.join(", ")));
            if is_last && a.aggregate_suffix().is_some() {
                help.push_str(&format!(
                    "; `.{}` cannot be an aggregate over seeds here because {} is not a number",
                    seg.key,
                    describe_place(a, miss.segment)
                ));
            }
            ExpectError::UnknownKey { text, at: seg.key_at, key: seg.key.clone(), place, valid: valid.into(), help }
        }
        MissKind::UnknownId { valid } => {
            let id = match &seg.selector {
                Some(Selector::Id(id)) => id.clone(),
                _ => String::new(),
            };
            let list = path_prefix(a, miss.segment + 1).split('[').next().unwrap_or_default().to_string();
            let help = if valid.is_empty() {
                "the list has no elements with ids in the schema summary; select by index, e.g. `[0]`".to_string()
            } else {
                let suggestion = did_you_mean(&id, valid.iter().map(String::as_str));
                with_suggestion(suggestion, format!("ids there: {}", valid.join(", ")))
            };
            ExpectError::UnknownId {
                text,
                at: seg.selector_at.unwrap_or(seg.key_at),
                id,
                list,
                valid: valid.into(),
                help,
            }
        }
        MissKind::NotObject { found: _, ids: Some(ids) } => {
            let example = ids.first().map_or("0", String::as_str);
            let p = path_prefix(a, miss.segment);
            ExpectError::WrongShape {
                text,
                at: seg.key_at,
                problem: format!("{place} is a list, so it has no key `{}`", seg.key),
                help: format!(
                    "select an element first: `{p}[{example}]` by id or `{p}[0]` by index{}",
                    if ids.is_empty() { String::new() } else { format!(" (ids: {})", ids.join(", ")) }
                ),
            }
        }
        MissKind::NotObject { found, ids: None } => {
            let help = if is_last && found == "a number" {
                with_suggestion(
                    did_you_mean(&seg.key, Aggregate::ALL.iter().map(|g| g.name())),
                    format!("end the path at {place}, or end it with an aggregate over seeds: {}", aggregate_names()),
                )
            } else {
                format!("end the path at {place}")
            };
            ExpectError::WrongShape {
                text,
                at: seg.key_at,
                problem: format!("{place} is {found}, so it has no key `{}`", seg.key),
                help,
            }
        }
        MissKind::NotList { found } => ExpectError::WrongShape {
            text,
            at: seg.selector_at.unwrap_or(seg.key_at),
            problem: format!(
                "`{}` is {found}, not a list; `[…]` selects list elements",
                // The path up to this key, without the selector that does not apply.
                a.text
                    .get(a.path.first().map_or(0, |s| s.key_at)..seg.key_at.saturating_add(seg.key.len()))
                    .unwrap_or_default()
            ),
            help: "remove the selector".to_string(),
        },
    }
}

/// Is `v` something an aggregate over seeds can be taken of (in this summary)?
fn aggregatable(l: &Lookup<'_>) -> bool {
    matches!(l, Lookup::Found(Value::Number(_) | Value::Null) | Lookup::Absent)
}

/// The aggregate rule: the whole path as a field of one summary wins; otherwise a trailing
/// aggregate name over a numeric field; otherwise a path through a null is taken per seed (its
/// value is null). With several summaries, one that has the field is enough.
fn decide(a: &Assertion, summaries: &[&Value], shape_only: bool) -> Result<Target, ExpectError> {
    let mut full: Vec<Lookup<'_>> = summaries.iter().map(|s| lookup(s, &a.path, shape_only)).collect();
    if full.iter().any(|l| matches!(l, Lookup::Found(_))) {
        return Ok(Target::PerSeed);
    }
    if let Some(aggregate) = a.aggregate_suffix() {
        let prefix = &a.path[..a.path.len() - 1];
        if summaries.iter().any(|s| aggregatable(&lookup(s, prefix, shape_only))) {
            return Ok(Target::Aggregate(aggregate));
        }
    }
    if full.iter().any(|l| matches!(l, Lookup::Absent)) {
        return Ok(Target::PerSeed);
    }
    match full.drain(..).find_map(|l| if let Lookup::Missing(m) = l { Some(m) } else { None }) {
        Some(miss) => Err(miss_error(a, miss)),
        // No summaries at all: nothing to contradict the path.
        None => Ok(Target::PerSeed),
    }
}

/// Checks at load time that `assertion`'s path exists in `schema`, a summary.json value of the
/// same shape as the runs' (a dry run's summary or a template), and that the value it names can
/// be compared the way the assertion compares it.
///
/// A null in the schema cannot be looked into, so the part of a path below it is accepted
/// unchecked; an index selector checks the shape of the list's elements, not that the element
/// exists, because list lengths vary from seed to seed. An id selector must name an id present
/// in the schema.
pub fn validate_path(assertion: &Assertion, schema: &Value) -> Result<(), ExpectError> {
    let target = decide(assertion, &[schema], true)?;
    let (leaf, n) = match target {
        Target::PerSeed => (lookup(schema, &assertion.path, true), assertion.path.len()),
        Target::Aggregate(_) => {
            let n = assertion.path.len() - 1;
            (lookup(schema, &assertion.path[..n], true), n)
        }
    };
    let Lookup::Found(leaf) = leaf else {
        return Ok(());
    };
    let wrong = |problem: String, help: String| ExpectError::WrongShape {
        text: assertion.text.clone(),
        // Point at the field whose kind is the problem.
        at: assertion.path.get(n.saturating_sub(1)).map_or(0, |s| s.key_at),
        problem,
        help,
    };
    let place = describe_place(assertion, n);
    match leaf {
        Value::Object(map) => {
            let keys: Vec<&str> = map.keys().map(String::as_str).collect();
            return Err(wrong(
                format!("{place} is an object, not a value"),
                format!("compare one of its keys: {}", keys.join(", ")),
            ));
        }
        Value::Array(items) => {
            let ids = list_ids(items);
            let p = path_prefix(assertion, n);
            return Err(wrong(
                format!("{place} is a list, not a value"),
                format!(
                    "select an element and one of its keys, e.g. `{p}[{}].…`",
                    ids.first().map_or("0", String::as_str)
                ),
            ));
        }
        _ => {}
    }
    let expected = match assertion.check {
        Check::Compare { value, .. } => value,
        Check::Within { lo, .. } => Expected::Number(lo),
    };
    let fits = match (expected, leaf, target) {
        (Expected::Null, _, _) | (_, Value::Null, Target::PerSeed) => true,
        (Expected::Bool(_), _, Target::Aggregate(_)) => false,
        (Expected::Number(_), Value::Number(_) | Value::Null, _) => true,
        (Expected::Bool(_), Value::Bool(_), _) => true,
        _ => false,
    };
    if fits {
        return Ok(());
    }
    let what = match target {
        Target::Aggregate(g) => format!("the {} over seeds of {place} is a number", g.name()),
        Target::PerSeed => format!("{place} is {} ({leaf})", type_name(leaf)),
    };
    let help = match leaf {
        Value::String(_) => "text fields can only be compared with `== null` or `!= null`".to_string(),
        Value::Bool(_) => "compare it with `== true` or `== false`".to_string(),
        _ => "compare it with a number".to_string(),
    };
    Err(wrong(format!("{what}, but the assertion compares it with a different kind of value"), help))
}

// ---------------------------------------------------------------------------------------------
// Evaluation
// ---------------------------------------------------------------------------------------------

/// A value as seen by a comparison.
#[derive(Debug, Clone, PartialEq)]
enum Observed {
    Null,
    Bool(bool),
    Number(f64),
    /// Any other JSON value, shown as JSON; it passes only `!= null`.
    Other(String),
    /// The path does not exist in this run's summary.
    Missing(String),
}

impl fmt::Display for Observed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Observed::Null => f.write_str("null"),
            Observed::Bool(b) => write!(f, "{b}"),
            Observed::Number(x) => write!(f, "{x}"),
            Observed::Other(json) => f.write_str(json),
            Observed::Missing(why) => write!(f, "missing ({why})"),
        }
    }
}

impl Observed {
    fn from_json(v: &Value) -> Observed {
        match v {
            Value::Null => Observed::Null,
            Value::Bool(b) => Observed::Bool(*b),
            Value::Number(n) => n.as_f64().map_or_else(|| Observed::Other(n.to_string()), Observed::Number),
            // Long objects would drown the report; the type and a bounded excerpt say enough.
            other => {
                let json = other.to_string();
                let excerpt: String = json.chars().take(80).collect();
                let ellipsis = if excerpt.len() < json.len() { "…" } else { "" };
                Observed::Other(format!("{} {excerpt}{ellipsis}", type_name(other)))
            }
        }
    }

    fn from_lookup(a: &Assertion, l: Lookup<'_>) -> Observed {
        match l {
            Lookup::Found(v) => Observed::from_json(v),
            Lookup::Absent => Observed::Null,
            Lookup::Missing(miss) => {
                // The first line of the full error says what is wrong without the caret art.
                let message = miss_error(a, miss).to_string();
                let first = message.lines().next().unwrap_or_default();
                Observed::Missing(first.trim_start_matches("invalid assertion: ").to_string())
            }
        }
    }
}

/// Does `observed` satisfy `check`? Numbers and booleans must meet a value of their own kind
/// (a number compared with null fails, whatever the operator); only `== null` / `!= null`
/// compare across kinds.
fn holds(check: &Check, observed: &Observed) -> bool {
    match (check, observed) {
        (_, Observed::Missing(_)) => false,
        (Check::Compare { op, value: Expected::Null }, _) => {
            let is_null = matches!(observed, Observed::Null);
            match op {
                CmpOp::Eq => is_null,
                CmpOp::Ne => !is_null,
                _ => false,
            }
        }
        (Check::Compare { op, value: Expected::Bool(b) }, Observed::Bool(o)) => match op {
            CmpOp::Eq => o == b,
            CmpOp::Ne => o != b,
            _ => false,
        },
        (Check::Compare { op, value: Expected::Number(x) }, Observed::Number(o)) => op.holds(*o, *x),
        (Check::Within { lo, hi }, Observed::Number(o)) => lo <= o && o <= hi,
        _ => false,
    }
}

/// The nearest-rank `percentile` (0 to 100) of sorted values (`report::nearest_rank`).
pub fn nearest_rank(sorted: &[f64], percentile: u32) -> Option<f64> {
    crate::report::nearest_rank(sorted, f64::from(percentile.min(100)) / 100.0)
}

/// The number an aggregate assertion compares (`faults[x].stale_window_s.p99`): its statistic
/// over the runs' non-null values. `None` for a per-seed assertion, a path that is not a
/// number in some run, or no values at all.
pub fn statistic(assertion: &Assertion, runs: &[(u64, Value)]) -> Option<f64> {
    let mut runs: Vec<&(u64, Value)> = runs.iter().collect();
    runs.sort_by_key(|(seed, _)| *seed);
    let summaries: Vec<&Value> = runs.iter().map(|(_, v)| v).collect();
    let Ok(Target::Aggregate(aggregate)) = decide(assertion, &summaries, false) else { return None };
    let prefix = &assertion.path[..assertion.path.len().saturating_sub(1)];
    let mut values = Vec::new();
    for (_, summary) in &runs {
        match Observed::from_lookup(assertion, lookup(summary, prefix, false)) {
            Observed::Number(x) => values.push(x),
            Observed::Null => {}
            _ => return None,
        }
    }
    let mean = (!values.is_empty()).then(|| values.iter().sum::<f64>() / values.len() as f64);
    values.sort_by(f64::total_cmp);
    aggregate.of(&values, mean)
}

/// Evaluates `assertion` over the summaries of one or more runs, given as (seed, summary).
///
/// Per-seed assertions must hold in every run; the outcome lists every failing seed with its
/// value. Aggregate assertions compare one statistic over the runs' non-null values. The
/// result does not depend on the order of `runs`. Never panics; a path that exists in no run
/// fails with the reason as its observed value.
pub fn evaluate(assertion: &Assertion, runs: &[(u64, Value)]) -> Outcome {
    if runs.is_empty() {
        return Outcome { passed: false, observed: "no runs to evaluate".to_string(), failing_seeds: Vec::new() };
    }
    let mut runs: Vec<&(u64, Value)> = runs.iter().collect();
    runs.sort_by_key(|(seed, _)| *seed);
    let summaries: Vec<&Value> = runs.iter().map(|(_, v)| v).collect();
    match decide(assertion, &summaries, false) {
        Ok(Target::PerSeed) => evaluate_per_seed(assertion, &runs),
        Ok(Target::Aggregate(aggregate)) => evaluate_aggregate(assertion, aggregate, &runs),
        Err(e) => {
            let message = e.to_string();
            let first = message.lines().next().unwrap_or_default();
            Outcome {
                passed: false,
                observed: first.trim_start_matches("invalid assertion: ").to_string(),
                failing_seeds: runs.iter().map(|(seed, _)| *seed).collect(),
            }
        }
    }
}

fn evaluate_per_seed(a: &Assertion, runs: &[&(u64, Value)]) -> Outcome {
    let observed: Vec<(u64, Observed)> =
        runs.iter().map(|(seed, v)| (*seed, Observed::from_lookup(a, lookup(v, &a.path, false)))).collect();
    let failing: Vec<&(u64, Observed)> = observed.iter().filter(|(_, o)| !holds(&a.check, o)).collect();
    let failing_seeds = failing.iter().map(|(seed, _)| *seed).collect();
    if let [(_, only)] = observed.as_slice() {
        return Outcome { passed: failing.is_empty(), observed: only.to_string(), failing_seeds };
    }
    let n = observed.len();
    if !failing.is_empty() {
        let list: Vec<String> = failing.iter().map(|(seed, o)| format!("seed {seed}: {o}")).collect();
        return Outcome {
            passed: false,
            observed: format!("{} of {n} seeds fail: {}", failing.len(), list.join("; ")),
            failing_seeds,
        };
    }
    let numbers = observed.iter().filter_map(|(_, o)| if let Observed::Number(x) = o { Some(*x) } else { None });
    let range = numbers.fold(None, |acc: Option<(f64, f64)>, x| match acc {
        None => Some((x, x)),
        Some((lo, hi)) => Some((lo.min(x), hi.max(x))),
    });
    let observed = match range {
        Some((lo, hi)) if lo == hi => format!("all {n} seeds pass; every value {lo}"),
        Some((lo, hi)) => format!("all {n} seeds pass; values from {lo} to {hi}"),
        None => format!("all {n} seeds pass"),
    };
    Outcome { passed: true, observed, failing_seeds }
}

fn evaluate_aggregate(a: &Assertion, aggregate: Aggregate, runs: &[&(u64, Value)]) -> Outcome {
    let prefix = &a.path[..a.path.len().saturating_sub(1)];
    let mut values: Vec<(f64, u64)> = Vec::new();
    let mut nulls = 0usize;
    let mut unusable: Vec<String> = Vec::new();
    let mut unusable_seeds: Vec<u64> = Vec::new();
    for (seed, summary) in runs {
        match Observed::from_lookup(a, lookup(summary, prefix, false)) {
            Observed::Number(x) => values.push((x, *seed)),
            Observed::Null => nulls += 1,
            other => {
                unusable.push(format!("seed {seed}: {other}"));
                unusable_seeds.push(*seed);
            }
        }
    }
    // Summed in seed order (runs are sorted by seed), so the mean does not depend on the
    // order the runs came in.
    let mean = (!values.is_empty()).then(|| values.iter().map(|(x, _)| x).sum::<f64>() / values.len() as f64);
    let place = path_prefix(a, prefix.len());
    if !unusable.is_empty() {
        return Outcome {
            passed: false,
            observed: format!(
                "cannot take the {} of `{place}`, which is not a number in {} of {} seeds: {}",
                aggregate.name(),
                unusable.len(),
                runs.len(),
                unusable.join("; ")
            ),
            failing_seeds: unusable_seeds,
        };
    }
    values.sort_by(|x, y| x.0.total_cmp(&y.0).then(x.1.cmp(&y.1)));
    let sorted: Vec<f64> = values.iter().map(|(x, _)| *x).collect();
    let value = aggregate.of(&sorted, mean);
    let observed = value.map_or(Observed::Null, Observed::Number);
    let passed = holds(&a.check, &observed);
    // Percentiles, max and min are one seed's value: name the seed (the smallest with that
    // value) so a failure can be replayed.
    let sample_seed = match (aggregate, value) {
        (Aggregate::Mean | Aggregate::Count, _) | (_, None) => None,
        (_, Some(x)) => values.iter().filter(|(v, _)| *v == x).map(|(_, seed)| *seed).min(),
    };
    let mut context = format!("{} over ", aggregate.name());
    if nulls == 0 {
        context.push_str(&format!("{} seeds", runs.len()));
    } else {
        context.push_str(&format!("{} non-null values of {} seeds; {nulls} null", values.len(), runs.len()));
    }
    if let Some(seed) = sample_seed {
        context.push_str(&format!("; at seed {seed}"));
    }
    Outcome {
        passed,
        observed: format!("{observed} ({context})"),
        failing_seeds: match sample_seed {
            Some(seed) if !passed => vec![seed],
            _ => Vec::new(),
        },
    }
}

// ---------------------------------------------------------------------------------------------
// JUnit XML
// ---------------------------------------------------------------------------------------------

/// One scenario's assertions, as a JUnit test suite.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JunitSuite {
    /// The scenario's name.
    pub name: String,
    pub cases: Vec<JunitCase>,
}

/// One assertion's verdict, as a JUnit test case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JunitCase {
    /// The assertion text.
    pub name: String,
    pub outcome: Outcome,
    /// How to reproduce a failure (e.g. `routesim run scenarios/x.yaml --seed 7`); shown only
    /// in failures.
    pub replay: Option<String>,
}

/// Writes `suites` as one JUnit XML document. The output is a pure function of the input: no
/// timestamps, durations or host names, so reports of identical runs are identical.
pub fn write_junit(out: &mut impl Write, suites: &[JunitSuite]) -> io::Result<()> {
    let failures = |cases: &[JunitCase]| cases.iter().filter(|c| !c.outcome.passed).count();
    let tests: usize = suites.iter().map(|s| s.cases.len()).sum();
    let failed: usize = suites.iter().map(|s| failures(&s.cases)).sum();
    writeln!(out, r#"<?xml version="1.0" encoding="UTF-8"?>"#)?;
    writeln!(out, r#"<testsuites name="routesim" tests="{tests}" failures="{failed}" errors="0">"#)?;
    for suite in suites {
        let name = crate::output::xml_escape(&suite.name, true);
        writeln!(
            out,
            r#"  <testsuite name="{name}" tests="{}" failures="{}" errors="0" skipped="0">"#,
            suite.cases.len(),
            failures(&suite.cases)
        )?;
        for case in &suite.cases {
            let case_name = crate::output::xml_escape(&case.name, true);
            if case.outcome.passed {
                writeln!(out, r#"    <testcase classname="{name}" name="{case_name}"/>"#)?;
                continue;
            }
            writeln!(out, r#"    <testcase classname="{name}" name="{case_name}">"#)?;
            let mut body = format!("observed: {}", case.outcome.observed);
            if !case.outcome.failing_seeds.is_empty() {
                let seeds: Vec<String> = case.outcome.failing_seeds.iter().map(u64::to_string).collect();
                body.push_str(&format!("\nfailing seeds: {}", seeds.join(", ")));
            }
            if let Some(replay) = &case.replay {
                body.push_str(&format!("\nreplay: {replay}"));
            }
            writeln!(
                out,
                r#"      <failure message="{}" type="assertion">{}</failure>"#,
                crate::output::xml_escape(&case.outcome.observed, true),
                crate::output::xml_escape(&body, false)
            )?;
            writeln!(out, "    </testcase>")?;
        }
        writeln!(out, "  </testsuite>")?;
    }
    writeln!(out, "</testsuites>")
}

#[cfg(test)]
mod tests;
