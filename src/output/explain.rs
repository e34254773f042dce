//! The `explain` sentences of a fault: the chain of events behind its stale window, written
//! from the numbers the metrics recorded (`summary.json`'s `faults[].explain`).

use crate::report::{FaultSummary, Summary};

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
