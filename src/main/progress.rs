//! Progress bars on stderr, drawn only when stderr is a terminal (so logs and CI output stay
//! clean) and without colour when `NO_COLOR` is set.

use std::io::IsTerminal;
use std::time::Instant;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressState, ProgressStyle};

use routesim::engine::US_PER_S;

/// A bar counting `total` items called `unit` (plural), with their rate, an ETA and the
/// caller's message (explore: the worst run so far); hidden unless `shown` (not `--quiet`).
pub fn bar(total: u64, unit: &str, shown: bool) -> ProgressBar {
    let bar = ProgressBar::with_draw_target(Some(total), target(shown));
    let colour = if no_color() { "" } else { ".cyan/blue" };
    let template = format!("{{bar:30{colour}}} {{pos}}/{{len}} {unit}  {{rate}}  ETA {{eta}}  {{msg}}");
    if let Ok(style) = ProgressStyle::with_template(&template) {
        let unit = unit.to_string();
        let rate = move |state: &ProgressState, w: &mut dyn std::fmt::Write| {
            let _ = write!(w, "{:.1} {unit}/s", state.per_sec());
        };
        bar.set_style(style.with_key("rate", rate).progress_chars("=> "));
    }
    bar
}

/// `run`'s bar: virtual seconds done of `duration_us`, and events per wall second. `advance`
/// is the engine's progress callback (`routesim::simulate_watched`).
pub fn run_bar(duration_us: u64, shown: bool) -> (ProgressBar, impl Fn(u64, u64)) {
    let bar = ProgressBar::with_draw_target(Some(duration_us / US_PER_S), target(shown));
    let colour = if no_color() { "" } else { ".cyan/blue" };
    let template = format!("{{bar:30{colour}}} {{pos}}/{{len}} s virtual time  {{msg}}  {{elapsed}}");
    if let Ok(style) = ProgressStyle::with_template(&template) {
        bar.set_style(style.progress_chars("=> "));
    }
    let started = Instant::now();
    let shown_bar = bar.clone();
    let advance = move |now_us: u64, events: u64| {
        shown_bar.set_position(now_us / US_PER_S);
        let events_per_s = events as f64 / started.elapsed().as_secs_f64().max(1e-9);
        shown_bar.set_message(format!("{:.1} M events/s", events_per_s / 1e6));
    };
    (bar, advance)
}

/// stderr if it is a terminal and the bar is `shown`, else nowhere.
fn target(shown: bool) -> ProgressDrawTarget {
    if shown && std::io::stderr().is_terminal() { ProgressDrawTarget::stderr() } else { ProgressDrawTarget::hidden() }
}

/// <https://no-color.org>: set and not empty.
fn no_color() -> bool {
    std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty())
}
