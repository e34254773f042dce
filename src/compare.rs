//! `routesim compare` (README, "Compare"): runs and sweep points side by side. This module
//! reads each input's scalar metrics, named as in a sweep's `runs.csv` (`sweep::run_metrics`),
//! and lines them up metric by metric; `output::compare` writes the files and the page.
//!
//! An input is a run's output directory (its `summary.json`) or one point of a sweep's output
//! directory, `DIR@N` (the `point` column of `points.csv`) or `DIR@PATH=VALUE[,PATH=VALUE]`
//! (the point with those grid values). A sweep point's value of a metric is its median over
//! the point's seeds (nearest rank, nulls left out), read from `runs.csv`.

use std::path::{Path, PathBuf};

use crate::report::{Summary, nearest_rank};
use crate::sweep::run_metrics;

/// What is wrong with an input; every one is bad input (exit 2) and says what to give instead.
#[derive(Debug, thiserror::Error)]
pub enum CompareError {
    #[error(
        "name at least two inputs (run directories or sweep points DIR@N), e.g. `routesim compare output/broker-kill output/broker-power-off`"
    )]
    TooFew,
    #[error("{}: no such directory: give a directory written by `routesim run` (or a sweep point DIR@N)", .0.display())]
    Missing(PathBuf),
    #[error("{}: neither a run (no summary.json) nor a sweep (no runs.csv): give a directory written by `routesim run` or `routesim sweep`", .0.display())]
    NotOutput(PathBuf),
    #[error("{}: a sweep, not a run: pick one of its {points} points with `{}@N` (N from points.csv's `point` column) or `{}@PATH=VALUE`", .dir.display(), .dir.display(), .dir.display())]
    SweepWithoutPoint { dir: PathBuf, points: usize },
    #[error("{}: a run, not a sweep: drop `@{selector}`", .dir.display())]
    RunWithPoint { dir: PathBuf, selector: String },
    #[error("{}: cannot read: {reason}", .path.display())]
    Read { path: PathBuf, reason: String },
    #[error("`{arg}`: {reason}")]
    Selector { arg: String, reason: String },
}

/// Where an input's figures come from.
#[derive(Clone, Debug, PartialEq)]
pub enum Source {
    Run { dir: PathBuf, scenario: String, seed: u64 },
    SweepPoint { dir: PathBuf, point: u64, settings: Vec<(String, String)>, seeds: usize },
}

/// One input, read.
#[derive(Clone, Debug, PartialEq)]
pub struct Input {
    /// Its column name: the directory's name, `NAME@N` for a sweep point, made unique.
    pub label: String,
    pub source: Source,
    /// Scalar metrics in `runs.csv` order; `None` is null (e.g. no stale attempt).
    pub metrics: Vec<(String, Option<f64>)>,
}

impl Input {
    /// A run's directory (time series and convergence files for the overlaid charts).
    pub fn run_dir(&self) -> Option<&Path> {
        match &self.source {
            Source::Run { dir, .. } => Some(dir),
            Source::SweepPoint { .. } => None,
        }
    }

    /// What the input is, in a line.
    pub fn describe(&self) -> String {
        match &self.source {
            Source::Run { dir, scenario, seed } => format!("run of {scenario}, seed {seed} ({})", dir.display()),
            Source::SweepPoint { dir, point, settings, seeds } => {
                let values: Vec<String> = settings.iter().map(|(path, value)| format!("{path} = {value}")).collect();
                format!("sweep point {point} ({}), median of {seeds} seeds ({})", values.join(", "), dir.display())
            }
        }
    }
}

/// One metric across the inputs.
#[derive(Clone, Debug, PartialEq)]
pub struct Row {
    pub metric: String,
    /// Per input: `None` where the input lacks the metric or its value is null.
    pub values: Vec<Option<f64>>,
    /// Whether every input has the metric (rows that are not are listed, not compared).
    pub in_all: bool,
}

impl Row {
    /// Input `i`'s value minus the first input's.
    pub fn delta(&self, i: usize) -> Option<f64> {
        Some(self.values.get(i).copied()?? - self.values[0]?)
    }

    /// Input `i`'s value over the first input's; none when the first is 0.
    pub fn ratio(&self, i: usize) -> Option<f64> {
        let (base, value) = (self.values[0]?, self.values.get(i).copied()??);
        (base != 0.0).then(|| value / base)
    }
}

/// The inputs and their metrics lined up: every metric of the first input in its order, then
/// those only later inputs have, in theirs.
#[derive(Clone, Debug, PartialEq)]
pub struct Comparison {
    pub inputs: Vec<Input>,
    pub rows: Vec<Row>,
}

impl Comparison {
    pub fn new(inputs: Vec<Input>) -> Comparison {
        let mut names: Vec<&str> = Vec::new();
        for input in &inputs {
            for (name, _) in &input.metrics {
                if !names.contains(&name.as_str()) {
                    names.push(name);
                }
            }
        }
        let rows = names
            .iter()
            .map(|name| {
                let found: Vec<Option<Option<f64>>> =
                    inputs.iter().map(|input| input.metrics.iter().find(|(n, _)| n == name).map(|(_, v)| *v)).collect();
                Row {
                    metric: name.to_string(),
                    in_all: found.iter().all(Option::is_some),
                    values: found.into_iter().map(Option::flatten).collect(),
                }
            })
            .collect();
        Comparison { inputs, rows }
    }

    /// The labels joined: `output/compare-<this>` is the default output directory.
    pub fn name(&self) -> String {
        let joined = self.inputs.iter().map(|i| i.label.as_str()).collect::<Vec<_>>().join("-vs-");
        let safe: String = joined
            .replace('@', ".point-")
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() || "._-".contains(c) { c } else { '_' })
            .collect();
        // A file name has at most 255 bytes; the rest of a long list is dropped.
        safe.chars().take(120).collect()
    }
}

/// Reads every input (in order) and lines their metrics up.
pub fn load(args: &[String]) -> Result<Comparison, CompareError> {
    if args.len() < 2 {
        return Err(CompareError::TooFew);
    }
    let mut inputs: Vec<Input> = Vec::with_capacity(args.len());
    for arg in args {
        let mut input = read_input(arg)?;
        // The same directory twice (or two runs of one name) still gets two columns.
        let base = input.label.clone();
        let mut n = 1;
        while inputs.iter().any(|i| i.label == input.label) {
            n += 1;
            input.label = format!("{base}#{n}");
        }
        inputs.push(input);
    }
    Ok(Comparison::new(inputs))
}

/// `DIR`, `DIR@N` or `DIR@PATH=VALUE,...`. A directory whose own name holds an `@` is taken
/// whole when it exists.
fn read_input(arg: &str) -> Result<Input, CompareError> {
    let whole = Path::new(arg);
    let (dir, selector) = match arg.rsplit_once('@') {
        Some((dir, selector)) if !whole.is_dir() => (Path::new(dir), Some(selector)),
        _ => (whole, None),
    };
    if !dir.is_dir() {
        return Err(CompareError::Missing(dir.to_path_buf()));
    }
    let name = dir.file_name().map_or_else(|| dir.display().to_string(), |n| n.to_string_lossy().into_owned());
    let summary = dir.join("summary.json");
    let runs = dir.join("runs.csv");
    match (summary.is_file(), runs.is_file(), selector) {
        (true, _, None) => read_run(dir, &summary, name),
        (true, false, Some(selector)) => {
            Err(CompareError::RunWithPoint { dir: dir.to_path_buf(), selector: selector.to_string() })
        }
        (_, true, selector) => {
            let table = RunsTable::read(&runs)?;
            let Some(selector) = selector else {
                return Err(CompareError::SweepWithoutPoint { dir: dir.to_path_buf(), points: table.points().len() });
            };
            let point = table.select(selector).map_err(|reason| CompareError::Selector { arg: arg.into(), reason })?;
            Ok(table.point_input(dir, &name, point))
        }
        (false, false, _) => Err(CompareError::NotOutput(dir.to_path_buf())),
    }
}

fn read_run(dir: &Path, path: &Path, name: String) -> Result<Input, CompareError> {
    let failed = |reason: String| CompareError::Read { path: path.to_path_buf(), reason };
    let text = std::fs::read_to_string(path).map_err(|e| failed(e.to_string()))?;
    let summary: Summary =
        serde_json::from_str(&text).map_err(|e| failed(format!("not a routesim summary.json: {e}")))?;
    Ok(Input {
        label: name,
        metrics: run_metrics(&summary),
        source: Source::Run { dir: dir.to_path_buf(), scenario: summary.scenario, seed: summary.seed },
    })
}

/// A sweep's `runs.csv`: `point`, the varied paths, `seed`, then one column per metric.
struct RunsTable {
    header: Vec<String>,
    /// Index of the `seed` column: the varied paths are the columns before it.
    seed_column: usize,
    rows: Vec<Vec<String>>,
}

impl RunsTable {
    fn read(path: &Path) -> Result<RunsTable, CompareError> {
        let failed = |reason: String| CompareError::Read { path: path.to_path_buf(), reason };
        let mut reader = csv::Reader::from_path(path).map_err(|e| failed(e.to_string()))?;
        let header: Vec<String> =
            reader.headers().map_err(|e| failed(e.to_string()))?.iter().map(str::to_string).collect();
        let seed_column = header
            .iter()
            .position(|h| h == "seed")
            .filter(|_| header.first().is_some_and(|h| h == "point"))
            .ok_or_else(|| failed("not a sweep's runs.csv: no `point` and `seed` columns".into()))?;
        let mut rows = Vec::new();
        for record in reader.records() {
            let record = record.map_err(|e| failed(e.to_string()))?;
            rows.push(record.iter().map(str::to_string).collect());
        }
        Ok(RunsTable { header, seed_column, rows })
    }

    /// The varied paths.
    fn paths(&self) -> &[String] {
        &self.header[1..self.seed_column]
    }

    /// Every point's index and grid values, in file order.
    fn points(&self) -> Vec<(&str, &[String])> {
        let mut points: Vec<(&str, &[String])> = Vec::new();
        for row in &self.rows {
            if points.last().is_none_or(|(p, _)| *p != row[0]) {
                points.push((&row[0], &row[1..self.seed_column]));
            }
        }
        points
    }

    /// The point a selector names: its index, or `PATH=VALUE` pairs matching exactly one point
    /// (a path may leave out its `timing.` prefix).
    fn select(&self, selector: &str) -> Result<String, String> {
        let points = self.points();
        let listing = || {
            let shown: Vec<String> = points
                .iter()
                .take(12)
                .map(|(p, values)| {
                    let pairs: Vec<String> =
                        self.paths().iter().zip(values.iter()).map(|(k, v)| format!("{k}={v}")).collect();
                    format!("{p}: {}", pairs.join(","))
                })
                .collect();
            let more = if points.len() > shown.len() {
                format!("; … {} points in all", points.len())
            } else {
                String::new()
            };
            format!("the points are {}{more}", shown.join("; "))
        };
        if let Ok(index) = selector.parse::<u64>() {
            return points
                .iter()
                .find(|(p, _)| p.parse::<u64>() == Ok(index))
                .map(|(p, _)| p.to_string())
                .ok_or_else(|| format!("no point {index} in this sweep: {}", listing()));
        }
        let mut wanted: Vec<(usize, &str)> = Vec::new();
        for pair in selector.split(',') {
            let Some((path, value)) = pair.split_once('=') else {
                return Err(format!(
                    "`{pair}`: write a point number (`@3`) or PATH=VALUE pairs (`@timing.broker_heartbeat=10s`)"
                ));
            };
            let (path, value) = (path.trim(), value.trim());
            let column = self.paths().iter().position(|p| p == path || p.strip_prefix("timing.") == Some(path));
            let Some(column) = column else {
                return Err(format!("`{path}` is not varied in this sweep; it varies {}", self.paths().join(", ")));
            };
            wanted.push((column, value));
        }
        let matching: Vec<&(&str, &[String])> =
            points.iter().filter(|(_, values)| wanted.iter().all(|(c, v)| values[*c] == *v)).collect();
        match matching.as_slice() {
            [(point, _)] => Ok(point.to_string()),
            [] => Err(format!("no point has these values: {}", listing())),
            many => Err(format!(
                "{} points have these values: name every varied path, or a point number; {}",
                many.len(),
                listing()
            )),
        }
    }

    /// Point `point`'s medians over its seeds.
    fn point_input(&self, dir: &Path, name: &str, point: String) -> Input {
        let rows: Vec<&Vec<String>> = self.rows.iter().filter(|r| r[0] == point).collect();
        let metrics = (self.seed_column + 1..self.header.len())
            .map(|c| {
                let mut values: Vec<f64> = rows
                    .iter()
                    .filter_map(|r| r.get(c).and_then(|v| v.parse::<f64>().ok()))
                    .filter(|v| v.is_finite())
                    .collect();
                values.sort_by(f64::total_cmp);
                (self.header[c].clone(), nearest_rank(&values, 0.5))
            })
            .collect();
        let settings = self.paths().iter().cloned().zip(rows[0][1..self.seed_column].iter().cloned()).collect();
        Input {
            label: format!("{name}@{point}"),
            metrics,
            source: Source::SweepPoint {
                dir: dir.to_path_buf(),
                point: point.parse().unwrap_or_default(),
                settings,
                seeds: rows.len(),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(label: &str, metrics: &[(&str, Option<f64>)]) -> Input {
        Input {
            label: label.into(),
            source: Source::Run { dir: PathBuf::from(label), scenario: label.into(), seed: 1 },
            metrics: metrics.iter().map(|(n, v)| (n.to_string(), *v)).collect(),
        }
    }

    #[test]
    fn rows_line_up_by_name_with_deltas_against_the_first() {
        let a = input("a", &[("x", Some(2.0)), ("only_a", Some(1.0)), ("z", Some(0.0))]);
        let b = input("b", &[("z", Some(5.0)), ("x", Some(3.0)), ("only_b", None)]);
        let c = Comparison::new(vec![a, b]);
        let names: Vec<&str> = c.rows.iter().map(|r| r.metric.as_str()).collect();
        assert_eq!(names, ["x", "only_a", "z", "only_b"]);
        assert_eq!((c.rows[0].delta(1), c.rows[0].ratio(1)), (Some(1.0), Some(1.5)));
        assert!(!c.rows[1].in_all && c.rows[1].delta(1).is_none());
        // No ratio against zero.
        assert_eq!((c.rows[2].delta(1), c.rows[2].ratio(1)), (Some(5.0), None));
        assert_eq!(c.name(), "a-vs-b");
    }

    fn sweep_dir() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        let csv = "point,timing.broker_heartbeat,timing.nameserver_channel_idle,seed,totals.failed_sends\n\
                   0,10s,60s,1,5\n0,10s,60s,2,7\n0,10s,60s,3,\n1,10s,120s,1,9\n1,10s,120s,2,9\n\
                   2,30s,60s,1,1\n";
        std::fs::write(dir.path().join("runs.csv"), csv).unwrap();
        dir
    }

    #[test]
    fn a_sweep_point_is_picked_by_number_or_values_and_gives_its_median() {
        let dir = sweep_dir();
        let d = dir.path().display();
        let by_number = read_input(&format!("{d}@0")).unwrap();
        assert_eq!(by_number.metrics, [("totals.failed_sends".to_string(), Some(5.0))]);
        let by_values = read_input(&format!("{d}@broker_heartbeat=10s,nameserver_channel_idle=120s")).unwrap();
        assert!(matches!(by_values.source, Source::SweepPoint { point: 1, seeds: 2, .. }));
        let one = read_input(&format!("{d}@timing.broker_heartbeat=30s")).unwrap();
        assert!(one.label.ends_with("@2"), "{}", one.label);
        for (selector, says) in [
            ("7", "no point 7"),
            ("broker_heartbeat=10s", "2 points have these values"),
            ("heartbeat=10s", "not varied"),
            ("x", "PATH=VALUE"),
        ] {
            let e = read_input(&format!("{d}@{selector}")).unwrap_err().to_string();
            assert!(e.contains(says), "{selector}: {e}");
        }
        let e = read_input(&d.to_string()).unwrap_err().to_string();
        assert!(e.contains("pick one of its 3 points"), "{e}");
    }
}
