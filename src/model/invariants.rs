//! The end-of-run invariants, checked after every run (tests, `run`, `check`, `sweep` alike):
//! a violation is a bug in the model, never a property of the scenario. One condition per
//! check; each names what broke.

use crate::engine::SimTime;

use super::World;

impl World {
    /// Every invariant that does not hold at the end of the run, described.
    pub(super) fn check_invariants(&mut self) -> Vec<String> {
        let mut broken = Vec::new();
        self.check_message_conservation(&mut broken);
        self.check_routes_hold_only_listed_brokers(&mut broken);
        self.check_fault_spans(&mut broken);
        self.check_counts(&mut broken);
        broken
    }

    /// Every message put on the wire was dropped, taken off the queue, or is still in flight:
    /// sent = lost + delivered + in flight (resets and close signals apart).
    fn check_message_conservation(&mut self, broken: &mut Vec<String>) {
        let in_flight = self.sim.pending_matching(super::Event::is_data) as u64;
        let net = &self.net;
        let sent = net.messages_sent - net.resets_sent;
        let accounted = net.messages_lost + self.data_popped + in_flight;
        if sent != accounted {
            broken.push(format!(
                "message conservation: {sent} sent, but {} lost + {} delivered + {in_flight} in flight",
                net.messages_lost, self.data_popped
            ));
        }
    }

    /// No NameServer answers with a route that holds a broker it does not list.
    fn check_routes_hold_only_listed_brokers(&self, broken: &mut Vec<String>) {
        for (ns, nameserver) in self.nameservers.iter().enumerate() {
            for (topic, &route) in nameserver.answers().iter().enumerate() {
                let Some(route) = self.routes.get(route) else { continue };
                for b in route.brokers.iter().filter(|b| !nameserver.lists(b.addr)) {
                    broken.push(format!("ns-{ns} answers topic {topic} with broker {} it does not list", b.addr));
                }
            }
        }
    }

    /// Every fault struck at its scheduled time and ended (if it did) no earlier.
    fn check_fault_spans(&self, broken: &mut Vec<String>) {
        let end_us: SimTime = self.sim.now();
        for (spec, span) in self.config.faults.iter().zip(self.metrics.fault_spans()) {
            let Some((at_us, ended_us)) = span else { continue };
            if at_us != spec.at_us {
                broken.push(format!("fault {} struck at {at_us} µs, scheduled at {} µs", spec.id, spec.at_us));
            }
            if ended_us.is_some_and(|e| e < at_us) {
                broken.push(format!("fault {} ended at {ended_us:?} µs, before it struck at {at_us} µs", spec.id));
            }
            if ended_us.is_some_and(|e| e > end_us) {
                broken.push(format!("fault {} ended at {ended_us:?} µs, after the run's end", spec.id));
            }
        }
    }

    /// Counts that bound each other.
    fn check_counts(&self, broken: &mut Vec<String>) {
        let t = self.metrics.totals();
        if t.failed_sends > t.sends {
            broken.push(format!("{} failed sends of {} sends", t.failed_sends, t.sends));
        }
        if t.failed_sends_no_route > t.failed_sends {
            broken.push(format!("{} sends without a route, {} failed sends", t.failed_sends_no_route, t.failed_sends));
        }
        if t.failed_attempts > t.attempts {
            broken.push(format!("{} failed attempts of {} attempts", t.failed_attempts, t.attempts));
        }
        if self.net.messages_lost > self.net.messages_sent {
            broken.push(format!("{} messages lost of {} sent", self.net.messages_lost, self.net.messages_sent));
        }
    }
}
