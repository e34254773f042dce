//! The `explore:` block: a grammar of faults, and the seeded draw of one fault schedule from
//! it (docs/EXPLORE.md). A schedule is a list of raw faults, validated by the same code as a
//! scenario's `faults:` list, so the YAML written for a schedule loads to the very same
//! `FaultSpec`s.
//!
//! Run `r` of an exploration with seed `s` draws only from `stream_rng(s, r)`: whichever thread
//! runs it, and whatever ran before, it gets the same schedule.

use rand::Rng;
use rand::seq::SliceRandom;

use crate::engine::{SimTime, US_PER_MS, US_PER_S, stream_rng};
use crate::model::config::{FaultSpec, Layout};

use super::raw::{RawCrashMode, RawExplore, RawExploreFault, RawExploreKind, RawFault, RawFaultKind, RawLinkClass};
use super::units::Dur;
use super::{Invalid, Names, check, invalid};

/// The most runs one exploration may ask for.
pub const RUNS_MAX: u64 = 1_000_000;
/// The most faults one schedule may hold (a swizzle counts each link it cuts).
pub const COUNT_MAX: u32 = 20;
const DEFAULT_RUNS: u64 = 1_000;
const DEFAULT_SEED: u64 = 1;
const DEFAULT_TOLERANCE: f64 = 0.05;
const DEFAULT_SPACING_US: SimTime = 5 * US_PER_S;
/// World seeds are drawn below this, to stay short enough to read and type.
const WORLD_SEED_MAX: u64 = 1_000_000;

/// What explore ranks runs by.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Objective {
    /// The longest `stale_window_s` of any fault.
    StaleWindow,
    /// `totals.failed_sends`.
    FailedSends,
}

impl Objective {
    pub fn name(self) -> &'static str {
        match self {
            Objective::StaleWindow => "stale_window",
            Objective::FailedSends => "failed_sends",
        }
    }
}

/// A validated `explore:` block (or its defaults).
#[derive(Clone, Debug)]
pub struct ExploreSpec {
    pub runs: u64,
    pub seed: u64,
    pub objective: Objective,
    pub tolerance: f64,
    pub between_us: (SimTime, SimTime),
    pub count: (u32, u32),
    pub spacing_us: SimTime,
    pub menu: Vec<MenuItem>,
    /// The scenario's own `faults:`, which every schedule keeps ahead of its drawn faults.
    pub base_faults: Vec<RawFault>,
    layout: Layout,
    duration_us: SimTime,
    base_loss: [f64; 3],
}

#[derive(Clone, Debug)]
pub struct MenuItem {
    pub kind: MenuKind,
    pub weight: u32,
}

/// One entry of the menu, node groups resolved to node names.
#[derive(Clone, Debug)]
pub enum MenuKind {
    Crash {
        targets: Vec<String>,
        mode: RawCrashMode,
        duration_us: Option<(SimTime, SimTime)>,
    },
    Shutdown {
        targets: Vec<String>,
        duration_us: Option<(SimTime, SimTime)>,
    },
    Restart {
        targets: Vec<String>,
    },
    Pause {
        targets: Vec<String>,
        duration_us: (SimTime, SimTime),
    },
    /// One of `targets` cut off from every node of `from` (as written, groups kept).
    Partition {
        targets: Vec<String>,
        from: Vec<String>,
        duration_us: (SimTime, SimTime),
    },
    Loss {
        class: Option<RawLinkClass>,
        probability: (f64, f64),
        duration_us: (SimTime, SimTime),
    },
    /// Links between one of `targets` and one of `from` (node names).
    Swizzle {
        targets: Vec<String>,
        from: Vec<String>,
        links: (u32, u32),
        step_us: (SimTime, SimTime),
    },
}

impl MenuKind {
    /// The longest time from the start of this fault to its end.
    fn span_us_max(&self) -> SimTime {
        match self {
            MenuKind::Crash { duration_us, .. } | MenuKind::Shutdown { duration_us, .. } => {
                duration_us.map_or(0, |d| d.1)
            }
            MenuKind::Restart { .. } => 0,
            MenuKind::Pause { duration_us, .. }
            | MenuKind::Partition { duration_us, .. }
            | MenuKind::Loss { duration_us, .. } => duration_us.1,
            MenuKind::Swizzle { links, step_us, .. } => 2 * SimTime::from(links.1) * step_us.1,
        }
    }
}

/// One drawn schedule: the world seed and the faults added to the scenario's own.
#[derive(Clone, Debug, PartialEq)]
pub struct Schedule {
    pub seed: u64,
    pub faults: Vec<RawFault>,
}

/// Validates `raw` (absent: the defaults) for a scenario with this layout and length.
pub(super) fn validate(
    raw: Option<&RawExplore>,
    names: &Names,
    duration_us: SimTime,
    base_faults: &[RawFault],
    base_loss: [f64; 3],
) -> Result<ExploreSpec, Invalid> {
    let empty = RawExplore {
        runs: None,
        seed: None,
        objective: None,
        tolerance: None,
        between: None,
        count: None,
        spacing: None,
        menu: None,
    };
    let raw = raw.unwrap_or(&empty);
    let runs = raw.runs.unwrap_or(DEFAULT_RUNS);
    check((1..=RUNS_MAX).contains(&runs), "explore.runs", || format!("must be 1 to {RUNS_MAX}"))?;
    let objective = match raw.objective {
        None | Some(super::raw::RawObjective::StaleWindow) => Objective::StaleWindow,
        Some(super::raw::RawObjective::FailedSends) => Objective::FailedSends,
    };
    let tolerance = raw.tolerance.unwrap_or(DEFAULT_TOLERANCE);
    check(tolerance.is_finite() && (0.0..1.0).contains(&tolerance), "explore.tolerance", || {
        "a fraction of the objective from 0 up to 1, e.g. `0.05`".into()
    })?;
    // By default faults strike in the second tenth to the second third of the run, which
    // leaves the rest for the routes to converge (the liveness check needs it).
    let between_us = match &raw.between {
        Some(b) => dur_range(b, "explore.between")?,
        None => (duration_us / 10, duration_us / 3),
    };
    check(between_us.1 < duration_us, "explore.between", || "must end before the run does (`duration`)".into())?;
    let count = match &raw.count {
        Some(c) => pair(c, "explore.count", "e.g. `[1, 3]`")?,
        None => (1, 3),
    };
    check(count.0 >= 1 && count.1 <= COUNT_MAX, "explore.count", || format!("faults per schedule: 1 to {COUNT_MAX}"))?;
    let spacing_us = raw.spacing.map_or(DEFAULT_SPACING_US, |d| d.0);
    let menu = match &raw.menu {
        Some(menu) => {
            check(!menu.is_empty(), "explore.menu", || "list at least one fault, or leave `menu` out".into())?;
            menu.iter().enumerate().map(|(i, m)| menu_item(m, &format!("explore.menu[{i}]"), names)).collect()
        }
        None => Ok(default_menu(names.layout)),
    }?;
    // A menu the user wrote must fit the run; the default one is cut to fit when drawn, so a
    // scenario without an `explore:` block always loads.
    for (i, item) in menu.iter().enumerate().filter(|_| raw.menu.is_some()) {
        check(between_us.1 + item.kind.span_us_max() < duration_us, &format!("explore.menu[{i}]"), || {
            "a fault starting at the end of `explore.between` could outlast the run; shorten it or `between`".into()
        })?;
    }
    Ok(ExploreSpec {
        runs,
        seed: raw.seed.unwrap_or(DEFAULT_SEED),
        objective,
        tolerance,
        between_us,
        count,
        spacing_us,
        menu,
        base_faults: base_faults.to_vec(),
        layout: names.layout.clone(),
        duration_us,
        base_loss,
    })
}

/// Without a menu: the faults of the shipped scenarios, on any broker or NameServer.
fn default_menu(layout: &Layout) -> Vec<MenuItem> {
    let nodes = |from: u32, to: u32| (from..to).map(|n| layout.node_name(n)).collect::<Vec<_>>();
    let brokers = nodes(layout.first_broker(), layout.first_client());
    let nameservers = nodes(0, layout.nameservers);
    let s = |secs: u64| secs * US_PER_S;
    let item = |weight, kind| MenuItem { kind, weight };
    vec![
        item(3, MenuKind::Crash { targets: brokers.clone(), mode: RawCrashMode::PowerOff, duration_us: None }),
        item(
            1,
            MenuKind::Crash { targets: brokers.clone(), mode: RawCrashMode::Kill, duration_us: Some((s(10), s(60))) },
        ),
        item(2, MenuKind::Restart { targets: nameservers.clone() }),
        item(
            1,
            MenuKind::Pause { targets: [brokers.clone(), nameservers.clone()].concat(), duration_us: (s(5), s(40)) },
        ),
        item(
            1,
            MenuKind::Loss {
                class: Some(RawLinkClass::ClientNs),
                probability: (0.2, 0.6),
                duration_us: (s(10), s(60)),
            },
        ),
        item(1, MenuKind::Swizzle { targets: brokers, from: nameservers, links: (1, 3), step_us: (s(1), s(20)) }),
    ]
}

fn menu_item(m: &RawExploreFault, field: &str, names: &Names) -> Result<MenuItem, Invalid> {
    let weight = m.weight.unwrap_or(1);
    check(weight >= 1, &format!("{field}.weight"), || {
        "must be at least 1 (leave the entry out to never draw it)".into()
    })?;
    let allowed: &[&str] = match m.kind {
        RawExploreKind::Crash => &["targets", "mode", "duration"],
        RawExploreKind::Shutdown => &["targets", "duration"],
        RawExploreKind::Restart => &["targets"],
        RawExploreKind::Pause => &["targets", "duration"],
        RawExploreKind::Partition => &["targets", "from", "duration"],
        RawExploreKind::Loss => &["class", "probability", "duration"],
        RawExploreKind::Swizzle => &["targets", "from", "links", "step"],
    };
    for (name, present) in [
        ("targets", m.targets.is_some()),
        ("from", m.from.is_some()),
        ("mode", m.mode.is_some()),
        ("duration", m.duration.is_some()),
        ("probability", m.probability.is_some()),
        ("class", m.class.is_some()),
        ("links", m.links.is_some()),
        ("step", m.step.is_some()),
    ] {
        check(!present || allowed.contains(&name), &format!("{field}.{name}"), || {
            format!("a `{:?}` entry takes only: {}", m.kind, allowed.join(", ")).to_lowercase()
        })?;
    }
    let targets = || node_set(m.targets.as_deref(), &format!("{field}.targets"), names);
    let duration = || match &m.duration {
        Some(d) => dur_range(d, &format!("{field}.duration")),
        None => invalid(format!("{field}.duration"), "give the range of durations, e.g. `duration: [5s, 1m]`"),
    };
    let optional_duration = || m.duration.as_ref().map(|d| dur_range(d, &format!("{field}.duration"))).transpose();
    let kind = match m.kind {
        RawExploreKind::Crash => {
            let Some(mode) = m.mode else {
                return invalid(format!("{field}.mode"), "say how it crashes: `mode: kill` or `mode: power-off`");
            };
            MenuKind::Crash { targets: targets()?, mode, duration_us: optional_duration()? }
        }
        RawExploreKind::Shutdown => MenuKind::Shutdown { targets: targets()?, duration_us: optional_duration()? },
        RawExploreKind::Restart => MenuKind::Restart { targets: targets()? },
        RawExploreKind::Pause => MenuKind::Pause { targets: targets()?, duration_us: duration()? },
        RawExploreKind::Partition => {
            let targets = targets()?;
            let Some(from) = &m.from else {
                return invalid(format!("{field}.from"), "name the other side, e.g. `from: [nameservers]`");
            };
            let other = node_set(Some(from), &format!("{field}.from"), names)?;
            check(!targets.iter().any(|t| other.contains(t)), &format!("{field}.from"), || {
                "a node in `targets` is also in `from`: a partition's sides must not overlap".into()
            })?;
            MenuKind::Partition { targets, from: from.clone(), duration_us: duration()? }
        }
        RawExploreKind::Loss => {
            let Some(p) = &m.probability else {
                return invalid(format!("{field}.probability"), "give the range, e.g. `probability: [0.1, 0.5]`");
            };
            let probability = pair(p, &format!("{field}.probability"), "e.g. `[0.1, 0.5]`")?;
            check(probability.0 >= 0.0 && probability.1 <= super::LOSS_MAX, &format!("{field}.probability"), || {
                format!("probabilities from 0 to {}", super::LOSS_MAX)
            })?;
            MenuKind::Loss { class: m.class, probability, duration_us: duration()? }
        }
        RawExploreKind::Swizzle => {
            let targets = targets()?;
            let from = node_set(m.from.as_deref(), &format!("{field}.from"), names)?;
            let links = match &m.links {
                Some(l) => pair(l, &format!("{field}.links"), "e.g. `[1, 4]`")?,
                None => (1, 3),
            };
            let pairs = links_between(&targets, &from).len() as u32;
            check(links.0 >= 1 && links.1 <= pairs.min(COUNT_MAX), &format!("{field}.links"), || {
                format!(
                    "from 1 to {}: the links between `targets` and `from` (at most {COUNT_MAX})",
                    pairs.min(COUNT_MAX)
                )
            })?;
            let step_us = match &m.step {
                Some(s) => dur_range(s, &format!("{field}.step"))?,
                None => (US_PER_S, 20 * US_PER_S),
            };
            check(step_us.0 > 0, &format!("{field}.step"), || "must be longer than 0s".into())?;
            MenuKind::Swizzle { targets, from, links, step_us }
        }
    };
    Ok(MenuItem { kind, weight })
}

/// Node names from a list of nodes and groups, in node order, each once.
fn node_set(list: Option<&[String]>, field: &str, names: &Names) -> Result<Vec<String>, Invalid> {
    let Some(list) = list.filter(|l| !l.is_empty()) else {
        return invalid(field, "list the nodes or groups it may hit, e.g. `[brokers]` or `[ns-0, broker-a]`");
    };
    let mut nodes = Vec::new();
    for (i, name) in list.iter().enumerate() {
        nodes.extend(names.group(name, &format!("{field}[{i}]"))?);
    }
    nodes.sort_unstable();
    nodes.dedup();
    Ok(nodes.into_iter().map(|n| names.layout.node_name(n)).collect())
}

fn links_between(targets: &[String], from: &[String]) -> Vec<(String, String)> {
    targets.iter().flat_map(|a| from.iter().filter(move |b| *b != a).map(move |b| (a.clone(), b.clone()))).collect()
}

fn pair<T: Copy + PartialOrd>(values: &[T], field: &str, example: &str) -> Result<(T, T), Invalid> {
    match values {
        [lo, hi] if lo <= hi => Ok((*lo, *hi)),
        [_, _] => invalid(field, "`[min, max]`: min must not exceed max"),
        _ => invalid(field, format!("write a range `[min, max]`, {example}")),
    }
}

fn dur_range(values: &[Dur], field: &str) -> Result<(SimTime, SimTime), Invalid> {
    let us: Vec<SimTime> = values.iter().map(|d| d.0).collect();
    pair(&us, field, "e.g. `[10s, 1m]`")
}

impl ExploreSpec {
    /// The schedule of run `run` of an exploration seeded `seed`.
    pub fn draw(&self, seed: u64, run: u64) -> Schedule {
        let mut rng = stream_rng(seed, run);
        let world_seed = rng.gen_range(1..WORLD_SEED_MAX);
        let (from_us, to_us) = self.between_us;
        let mut count = rng.gen_range(self.count.0..=self.count.1) as u64;
        // Starts at least `spacing` apart: fewer faults if the window cannot hold them.
        if let Some(fit) = (to_us - from_us).checked_div(self.spacing_us) {
            count = count.min(fit + 1).max(1);
        }
        let slack_us = (to_us - from_us).saturating_sub((count - 1) * self.spacing_us);
        let mut offsets: Vec<SimTime> = (0..count).map(|_| round_ms(rng.gen_range(0..=slack_us))).collect();
        offsets.sort_unstable();
        let total_weight: u32 = self.menu.iter().map(|m| m.weight).sum();
        let mut faults = Vec::new();
        for (i, offset) in offsets.into_iter().enumerate() {
            let at_us = from_us + offset + i as SimTime * self.spacing_us;
            let item = self.menu_item(rng.gen_range(0..total_weight));
            draw_fault(&item.kind, at_us, &mut rng, &mut faults);
        }
        // Only the default menu can reach past the end (a written one is checked to fit): cut
        // what would, so every drawn schedule validates.
        let end_us = self.duration_us - 1;
        faults.retain(|f| f.at.0 < end_us);
        for f in &mut faults {
            if let Some(d) = &mut f.duration {
                d.0 = d.0.min(end_us - f.at.0);
            }
        }
        Schedule { seed: world_seed, faults }
    }

    /// The menu entry a draw of `ticket` in `0..total weight` picks: entries own consecutive
    /// ranges of tickets, as wide as their weights.
    fn menu_item(&self, mut ticket: u32) -> &MenuItem {
        for item in &self.menu {
            if ticket < item.weight {
                return item;
            }
            ticket -= item.weight;
        }
        unreachable!("a ticket below the total weight")
    }

    /// The world's faults for `schedule`: the scenario's own, then the drawn ones, validated as
    /// one `faults:` list would be. An error names the first fault that cannot be.
    pub fn fault_specs(&self, schedule: &Schedule) -> Result<Vec<FaultSpec>, String> {
        let all: Vec<RawFault> = self.base_faults.iter().chain(&schedule.faults).cloned().collect();
        super::validate_faults(&all, &self.layout, self.duration_us, self.base_loss)
            .map_err(|(field, message)| format!("{field}: {message}"))
    }
}

fn round_ms(us: SimTime) -> SimTime {
    us / US_PER_MS * US_PER_MS
}

fn pick<'a>(rng: &mut impl Rng, items: &'a [String]) -> &'a String {
    &items[rng.gen_range(0..items.len())]
}

fn draw_range(rng: &mut impl Rng, (lo, hi): (SimTime, SimTime)) -> SimTime {
    round_ms(rng.gen_range(lo..=hi))
}

fn fault(at_us: SimTime, kind: RawFaultKind) -> RawFault {
    RawFault {
        at: Dur(at_us),
        kind,
        id: None,
        target: None,
        mode: None,
        duration: None,
        groups: None,
        one_way: None,
        probability: None,
        class: None,
    }
}

/// Draws one fault of `kind` at `at_us` (a swizzle: one partition per link) into `out`.
fn draw_fault(kind: &MenuKind, at_us: SimTime, rng: &mut impl Rng, out: &mut Vec<RawFault>) {
    match kind {
        MenuKind::Crash { targets, mode, duration_us } => out.push(RawFault {
            target: Some(pick(rng, targets).clone()),
            mode: Some(*mode),
            duration: duration_us.map(|d| Dur(draw_range(rng, d))),
            ..fault(at_us, RawFaultKind::Crash)
        }),
        MenuKind::Shutdown { targets, duration_us } => out.push(RawFault {
            target: Some(pick(rng, targets).clone()),
            duration: duration_us.map(|d| Dur(draw_range(rng, d))),
            ..fault(at_us, RawFaultKind::Shutdown)
        }),
        MenuKind::Restart { targets } => {
            out.push(RawFault { target: Some(pick(rng, targets).clone()), ..fault(at_us, RawFaultKind::Restart) })
        }
        MenuKind::Pause { targets, duration_us } => out.push(RawFault {
            target: Some(pick(rng, targets).clone()),
            duration: Some(Dur(draw_range(rng, *duration_us))),
            ..fault(at_us, RawFaultKind::Pause)
        }),
        MenuKind::Partition { targets, from, duration_us } => out.push(RawFault {
            groups: Some(vec![vec![pick(rng, targets).clone()], from.clone()]),
            duration: Some(Dur(draw_range(rng, *duration_us))),
            ..fault(at_us, RawFaultKind::Partition)
        }),
        MenuKind::Loss { class, probability: (lo, hi), duration_us } => {
            // Whole percents, so the written YAML reads as a person would write it.
            let (lo_pc, hi_pc) = ((lo * 100.0).ceil() as u32, (hi * 100.0).floor() as u32);
            let percent = rng.gen_range(lo_pc..=hi_pc.max(lo_pc));
            out.push(RawFault {
                probability: Some(f64::from(percent) / 100.0),
                class: *class,
                duration: Some(Dur(draw_range(rng, *duration_us))),
                ..fault(at_us, RawFaultKind::Loss)
            })
        }
        MenuKind::Swizzle { targets, from, links, step_us } => {
            let mut all = links_between(targets, from);
            all.shuffle(rng);
            all.truncate(rng.gen_range(links.0..=links.1) as usize);
            // Cut one by one, then restore in a new random order, a step apart each time.
            let mut t_us = at_us;
            let mut cuts = Vec::with_capacity(all.len());
            for _ in &all {
                cuts.push(t_us);
                t_us += draw_range(rng, *step_us);
            }
            let mut restore_order: Vec<usize> = (0..all.len()).collect();
            restore_order.shuffle(rng);
            let mut restores = vec![0; all.len()];
            for &link in &restore_order {
                restores[link] = t_us;
                t_us += draw_range(rng, *step_us);
            }
            for (((a, b), cut_us), restore_us) in all.into_iter().zip(cuts).zip(restores) {
                out.push(RawFault {
                    groups: Some(vec![vec![a], vec![b]]),
                    duration: Some(Dur(restore_us - cut_us)),
                    ..fault(cut_us, RawFaultKind::Partition)
                });
            }
        }
    }
}

/// A duration as a person would write it: the largest unit that holds it exactly.
pub fn duration_text(us: SimTime) -> String {
    if us == 0 {
        "0s".into()
    } else if us.is_multiple_of(US_PER_S) {
        format!("{}s", us / US_PER_S)
    } else if us.is_multiple_of(US_PER_MS) {
        format!("{}ms", us / US_PER_MS)
    } else {
        format!("{us}us")
    }
}

/// One fault as a line of a `faults:` list, in flow style: `{at: 90s, kind: crash, ...}`.
pub fn fault_yaml(f: &RawFault) -> String {
    let mut parts = vec![format!("at: {}", duration_text(f.at.0)), format!("kind: {}", kind_name(f.kind))];
    if let Some(id) = &f.id {
        parts.push(format!("id: {id}"));
    }
    if let Some(target) = &f.target {
        parts.push(format!("target: {target}"));
    }
    if let Some(mode) = f.mode {
        parts.push(format!("mode: {}", if mode == RawCrashMode::Kill { "kill" } else { "power-off" }));
    }
    if let Some(groups) = &f.groups {
        let sides: Vec<String> = groups.iter().map(|g| format!("[{}]", g.join(", "))).collect();
        parts.push(format!("groups: [{}]", sides.join(", ")));
    }
    if let Some(one_way) = f.one_way {
        parts.push(format!("one_way: {one_way}"));
    }
    if let Some(p) = f.probability {
        parts.push(format!("probability: {p:?}"));
    }
    if let Some(class) = f.class {
        parts.push(format!("class: {}", link_class_name(class)));
    }
    if let Some(d) = f.duration {
        parts.push(format!("duration: {}", duration_text(d.0)));
    }
    format!("{{{}}}", parts.join(", "))
}

fn kind_name(kind: RawFaultKind) -> &'static str {
    match kind {
        RawFaultKind::Crash => "crash",
        RawFaultKind::Shutdown => "shutdown",
        RawFaultKind::Restart => "restart",
        RawFaultKind::Pause => "pause",
        RawFaultKind::Resume => "resume",
        RawFaultKind::Partition => "partition",
        RawFaultKind::Heal => "heal",
        RawFaultKind::Loss => "loss",
    }
}

fn link_class_name(class: RawLinkClass) -> &'static str {
    match class {
        RawLinkClass::BrokerNs => "broker_ns",
        RawLinkClass::ClientNs => "client_ns",
        RawLinkClass::ClientBroker => "client_broker",
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    const SCENARIO: &str = "duration: 10m\ncluster: {nameservers: 2, broker_groups: 2}\ntopics: [{name: t}]\nproducers: [{name: p, count: 2, topic: t, rate: 5}]\n";

    #[test]
    fn schedules_depend_only_on_seed_and_run() {
        let s = super::super::from_text(Path::new("x.yaml"), SCENARIO).unwrap();
        let e = &s.explore;
        assert_eq!(e.draw(7, 3), e.draw(7, 3));
        assert_ne!(e.draw(7, 3), e.draw(7, 4));
        assert_ne!(e.draw(7, 3), e.draw(8, 3));
        for run in 0..200 {
            let schedule = e.draw(7, run);
            assert!(!schedule.faults.is_empty());
            e.fault_specs(&schedule).unwrap_or_else(|err| panic!("run {run}: {err}"));
        }
    }

    #[test]
    fn written_faults_load_back_the_same() {
        let s = super::super::from_text(Path::new("x.yaml"), SCENARIO).unwrap();
        for run in 0..50 {
            let schedule = s.explore.draw(1, run);
            let lines: Vec<String> =
                schedule.faults.iter().map(|f| format!("  - {}\n", super::fault_yaml(f))).collect();
            let text = format!("{SCENARIO}faults:\n{}", lines.concat());
            let loaded = super::super::from_text(Path::new("y.yaml"), &text).unwrap();
            let specs = s.explore.fault_specs(&schedule).unwrap();
            assert_eq!(format!("{:?}", loaded.world.faults), format!("{specs:?}"), "run {run}");
        }
    }

    #[test]
    fn a_short_run_without_a_block_draws_schedules_that_fit() {
        let short = SCENARIO.replace("duration: 10m", "duration: 40s");
        let s = super::super::from_text(Path::new("x.yaml"), &short).unwrap();
        for run in 0..100 {
            s.explore.fault_specs(&s.explore.draw(3, run)).unwrap_or_else(|err| panic!("run {run}: {err}"));
        }
    }

    #[test]
    fn bad_menus_are_named() {
        let with = |block: &str| super::super::from_text(Path::new("x.yaml"), &format!("{SCENARIO}{block}"));
        let e = with("explore:\n  menu:\n    - {kind: pause, targets: [broker-q], duration: [1s, 2s]}\n").unwrap_err();
        assert_eq!(e.field, "explore.menu[0].targets[0]");
        assert!(e.message.contains("broker-q"), "{e}");
        let e = with("explore:\n  menu:\n    - {kind: restart, targets: [ns-0], duration: [1s, 2s]}\n").unwrap_err();
        assert_eq!(e.field, "explore.menu[0].duration");
        let e = with("explore:\n  count: [3, 1]\n").unwrap_err();
        assert_eq!(e.field, "explore.count");
        let e = with("explore:\n  menu:\n    - {kind: pause, targets: [ns-0], duration: [1s, 9m]}\n").unwrap_err();
        assert_eq!(e.field, "explore.menu[0]");
        assert_eq!(e.line, Some(7));
    }
}
