//! The `explain` sentences of a fault: the chain of events behind its stale window, written
//! from the numbers the metrics recorded (`summary.json`'s `faults[].explain`); and the story
//! `routesim explain` tells of a whole run (false removals, clients that never converged),
//! which is printed, not stored.

use std::path::Path;

use serde::Serialize;

use crate::report::{ConvergenceRow, FalseRemoval, FaultSummary, Summary};

/// Fills every fault's `explain.text` from its numbers.
pub fn write_sentences(summary: &mut Summary) {
    let nameservers = summary.nameservers.clone();
    for fault in &mut summary.faults {
        let text = sentences(fault, &nameservers);
        if let Some(explanation) = &mut fault.explain {
            explanation.text = text;
        }
    }
}

/// The sentences for one fault, NameServers in `nameservers` order.
pub fn sentences(fault: &FaultSummary, nameservers: &[String]) -> Vec<String> {
    let Some(explanation) = &fault.explain else { return Vec::new() };
    let mut text = Vec::new();
    for name in nameservers {
        let Some(moment) = explanation.nameservers.get(name) else { continue };
        let last = moment
            .last_registration_s
            .map_or("no registration".to_string(), |t| format!("last registration at {t:.1} s"));
        let removed = match (moment.removed_s, &moment.cause) {
            (Some(t), Some(cause)) => format!("removed at {t:.1} s ({cause}, {:.1} s after the fault)", t - fault.at_s),
            (Some(t), None) => format!("not listed at the fault ({t:.1} s)"),
            (None, _) => "never removed within the run".to_string(),
        };
        text.push(format!("{name}: {last}; {removed}"));
    }
    if let Some(c) = &explanation.slowest_client {
        let from = c.nameserver.as_deref().map_or(String::new(), |ns| format!(" from {ns}"));
        text.push(format!("slowest client {} dropped it at {:.1} s, polling{from}", c.client, c.at_s));
    }
    if let Some(a) = &explanation.last_stale_attempt {
        text.push(format!(
            "last stale attempt by {} at {:.1} s: stale window {:.1} s",
            a.client,
            a.at_s,
            a.at_s - fault.at_s
        ));
    }
    text
}

/// What `routesim explain DIR` says about a run: each fault's chain of events, then what the
/// per-fault sentences leave out: brokers dropped while alive, and clients that never dropped
/// a broker the fault took.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RunStory {
    pub scenario: String,
    pub seed: u64,
    pub faults: Vec<FaultStory>,
    pub false_removals: Vec<String>,
    pub never_converged: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FaultStory {
    pub id: String,
    pub kind: String,
    pub target: String,
    pub at_s: f64,
    pub text: Vec<String>,
}

/// Clients named per fault in `never_converged`; the rest are counted.
const CLIENTS_NAMED_MAX: usize = 5;

/// The story of the run in `dir`, from its `summary.json` and `convergence.csv`.
pub fn read_story(dir: &Path) -> Result<RunStory, String> {
    let path = dir.join("summary.json");
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let summary: Summary =
        serde_json::from_str(&text).map_err(|e| format!("{}: not a routesim summary: {e}", path.display()))?;
    let path = dir.join("convergence.csv");
    let bad = |e: csv::Error| format!("{}: not a routesim convergence.csv: {e}", path.display());
    let convergence = csv::Reader::from_path(&path)
        .map_err(bad)?
        .deserialize()
        .collect::<Result<Vec<ConvergenceRow>, _>>()
        .map_err(bad)?;
    Ok(story(&summary, &convergence))
}

/// The story of a run from its summary and its `convergence.csv` rows.
pub fn story(summary: &Summary, convergence: &[ConvergenceRow]) -> RunStory {
    let faults = summary
        .faults
        .iter()
        .filter_map(|f| {
            let explanation = f.explain.as_ref()?;
            Some(FaultStory {
                id: f.id.clone(),
                kind: f.kind.clone(),
                target: f.target.clone(),
                at_s: f.at_s,
                text: explanation.text.clone(),
            })
        })
        .collect();
    RunStory {
        scenario: summary.scenario.clone(),
        seed: summary.seed,
        faults,
        false_removals: summary.false_removals.iter().map(|r| false_removal(summary, r)).collect(),
        never_converged: summary.faults.iter().filter_map(|f| never_converged(summary, f, convergence)).collect(),
    }
}

/// "ns-0 dropped broker-b at 280.0 s while it was alive; listed it again 1.6 s later. Why: ..."
fn false_removal(summary: &Summary, r: &FalseRemoval) -> String {
    let back = if r.relisted {
        format!("listed it again {:.1} s later", r.missing_s)
    } else {
        format!("still missing at the end of the run ({:.1} s)", r.missing_s)
    };
    let what = format!("{} dropped {} at {:.1} s while it was alive; {back}", r.nameserver, r.broker, r.at_s);
    format!("{what}. Why: {}", false_removal_cause(summary, r))
}

fn false_removal_cause(summary: &Summary, r: &FalseRemoval) -> String {
    // A fault whose own explanation records this very removal says its cause.
    let recorded = summary.faults.iter().find_map(|f| {
        let moment = f.explain.as_ref()?.nameservers.get(&r.nameserver)?;
        let same = moment.removed_s.is_some_and(|t| (t - r.at_s).abs() < 1e-6) && f.subjects.contains(&r.broker);
        same.then(|| (f, moment.cause.clone().unwrap_or_else(|| "unknown cause".into())))
    });
    if let Some((fault, cause)) = recorded {
        return format!(
            "the broker still ran, but fault {} (a {}) kept its registrations from {}, which removed it ({cause})",
            fault.id, fault.kind, r.nameserver
        );
    }
    // MODEL.md 2a: a NameServer paused past the register timeout.
    let pause = summary.faults.iter().rfind(|f| f.kind == "pause" && f.target == r.nameserver && f.at_s <= r.at_s);
    if let Some(pause) = pause {
        let resumed = summary
            .faults
            .iter()
            .find(|f| f.kind == "resume" && f.target == r.nameserver && f.at_s >= pause.at_s)
            .map_or(String::new(), |f| format!(" until {:.1} s", f.at_s));
        return format!(
            "{ns} was paused at {:.1} s{resumed} (fault {}); {broker}'s registrations to it timed out and the \
             registration timeout closed each channel; resuming, {ns} processed a registration that came over a \
             closed channel last, so that channel's close removed a live broker until its next registration \
             (MODEL.md 2a)",
            pause.at_s,
            pause.id,
            ns = r.nameserver,
            broker = r.broker
        );
    }
    format!(
        "{} removed it while it still ran, on the close of the channel it had last registered over (a \
         registration timeout closes it, MODEL.md 2a) or on expiry; `run --trace FILE --trace-filter \
         kind=removed,register-timeout` shows which",
        r.nameserver
    )
}

/// "200 of 200 clients never dropped broker-a (p-0, p-1, ... and 195 more): ..." for a fault
/// with clients that kept the broker to the end of the run.
fn never_converged(summary: &Summary, f: &FaultSummary, convergence: &[ConvergenceRow]) -> Option<String> {
    if f.convergence_s.never == 0 {
        return None;
    }
    let clients: Vec<&str> = convergence
        .iter()
        .filter(|row| row.fault_id == f.id && row.convergence_s.is_none())
        .map(|row| row.client.as_str())
        .collect();
    let mut named = clients.iter().take(CLIENTS_NAMED_MAX).copied().collect::<Vec<_>>().join(", ");
    if clients.len() > CLIENTS_NAMED_MAX {
        named.push_str(&format!(" and {} more", clients.len() - CLIENTS_NAMED_MAX));
    }
    let subjects = f.subjects.join(", ");
    let why = match &f.explain {
        None => String::new(),
        Some(explanation) => {
            let listing: Vec<&str> = summary
                .nameservers
                .iter()
                .filter(|ns| explanation.nameservers.get(*ns).is_none_or(|m| m.removed_s.is_none()))
                .map(String::as_str)
                .collect();
            if listing.len() == summary.nameservers.len() {
                format!(": no NameServer removed {subjects} within the run, so every route the clients fetched held it")
            } else if listing.is_empty() {
                ": every NameServer removed it, but these clients fetched no route after that before the run ended"
                    .to_string()
            } else {
                format!(
                    ": {} never removed it, and a client keeps the route its NameServer answers",
                    listing.join(", ")
                )
            }
        }
    };
    Some(format!(
        "fault {}: {} of {} clients never dropped {subjects} by the end of the run ({named}){why}",
        f.id, f.convergence_s.never, f.convergence_s.clients
    ))
}
