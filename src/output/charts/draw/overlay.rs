//! The overlaid charts of `routesim compare`: several runs on one set of axes, one line per
//! input (and fault), drawn with the run charts' frame, axes, binning and CDF steps.

use plotters::prelude::*;

use super::super::Overlay;
use super::super::data::RunData;
use super::{
    Drawn, FAULT_COLORS, FaultStrip, INK, LegendEntry, Root, Swatch, Why, binned, cdf_chart, cdf_steps, cdf_x_range,
    convergence_by_fault, entry, fault_strip, finish_time_chart, frame, full_view, lookup, num, per_second_axes,
    per_second_mesh, symlog, time_chart,
};
use crate::report::FaultSummary;

/// One input of a comparison: its label and its run's files.
pub(crate) struct Labelled<'a> {
    pub label: &'a str,
    pub run: &'a RunData,
}

pub(crate) fn draw<DB: DrawingBackend>(which: Overlay, root: &Root<DB>, inputs: &[Labelled]) -> Drawn {
    match which {
        Overlay::FailedSends => failed_sends(root, inputs),
        Overlay::ConvergenceCdf => convergence(root, inputs),
    }
}

fn color(i: usize) -> RGBColor {
    FAULT_COLORS[i % FAULT_COLORS.len()]
}

fn title(which: Overlay, inputs: &[Labelled]) -> String {
    let labels: Vec<&str> = inputs.iter().map(|i| i.label).collect();
    format!("{} — {}", which.subject(), labels.join(" vs "))
}

fn failed_sends<DB: DrawingBackend>(root: &Root<DB>, inputs: &[Labelled]) -> Drawn {
    let duration_s = inputs
        .iter()
        .map(|i| {
            let last = i.run.timeseries.iter().map(|r| r.second.saturating_add(1)).max().unwrap_or(0) as f64;
            i.run.summary.duration_s.max(last)
        })
        .fold(1.0_f64, f64::max);
    let view = full_view(duration_s);
    let lines: Vec<Vec<(f64, f64)>> =
        inputs.iter().map(|i| binned(&i.run.timeseries, &view, |r| r.failed_sends)).collect();
    let max_count =
        inputs.iter().flat_map(|i| i.run.timeseries.iter().map(|r| r.failed_sends)).max().unwrap_or(0).max(1);
    // Faults of every input, each (id, time, kind) once.
    let mut faults: Vec<FaultSummary> = Vec::new();
    for fault in inputs.iter().flat_map(|i| &i.run.summary.faults) {
        if !faults.iter().any(|f| f.id == fault.id && f.at_s == fault.at_s && f.mode == fault.mode) {
            faults.push(fault.clone());
        }
    }
    let mut legend: Vec<LegendEntry> = inputs
        .iter()
        .enumerate()
        .map(|(k, i)| {
            entry(Swatch::Line(color(k), 3), format!("{}: {} failed sends", i.label, i.run.summary.totals.failed_sends))
        })
        .collect();
    if !faults.is_empty() {
        legend.push(entry(Swatch::Line(INK, 2), "fault"));
    }
    let body = frame(root, &title(Overlay::FailedSends, inputs), &legend, None)?;

    let y_data_max = lines.iter().flatten().map(|(_, y)| *y).fold(symlog(1.0), f64::max);
    let (x_labels, y_labels, axes) = per_second_axes(&view, max_count, y_data_max);
    let y_top = axes.1.hi;
    let x_fmt = |v: &f64| lookup(&x_labels, *v);
    let y_fmt = |v: &f64| lookup(&y_labels, *v);
    let y_label_area_px = 70;
    let FaultStrip { strip, plot_area, marks, placed } = fault_strip(&body, &faults, &view, &axes, y_label_area_px)?;
    let mut chart = time_chart(&plot_area, 4, y_label_area_px, &axes)?;
    per_second_mesh(&mut chart, &view, Some("failed sends"), (&x_fmt, &y_fmt))?;
    for (k, points) in lines.into_iter().enumerate() {
        chart.draw_series(LineSeries::new(points, color(k).stroke_width(3))).why()?;
    }
    let empty = inputs.iter().all(|i| i.run.timeseries.is_empty()).then_some("no input has timeseries.csv rows");
    finish_time_chart(root, &chart, (&strip, &marks, &placed), y_top, empty)
}

fn convergence<DB: DrawingBackend>(root: &Root<DB>, inputs: &[Labelled]) -> Drawn {
    // One curve per input and fault: (label, sorted times, clients).
    let mut curves: Vec<(String, Vec<f64>, usize)> = Vec::new();
    for input in inputs {
        for (id, times, clients) in convergence_by_fault(&input.run.convergence) {
            let p99 = input.run.summary.faults.iter().find(|f| f.id == id).and_then(|f| f.convergence_s.p99);
            let never = clients - times.len();
            let mut label = format!("{} · {id}: ", input.label);
            label.push_str(&match p99 {
                Some(p99) => format!("p99 {} s", num(p99, 1)),
                None => "no p99".to_string(),
            });
            label.push_str(&if never == 0 {
                format!(", all {clients} converged")
            } else {
                format!(", {never} of {clients} never")
            });
            curves.push((label, times, clients));
        }
    }
    let legend: Vec<LegendEntry> =
        curves.iter().enumerate().map(|(k, (label, _, _))| entry(Swatch::Line(color(k), 3), label.clone())).collect();
    let body = frame(root, &title(Overlay::ConvergenceCdf, inputs), &legend, None)?;
    let x_range = cdf_x_range(curves.iter().map(|(_, times, _)| times.as_slice()));
    let mut chart = cdf_chart(&body, x_range)?;
    for (k, (_, times, clients)) in curves.iter().enumerate() {
        chart.draw_series(LineSeries::new(cdf_steps(times, *clients, x_range), color(k).stroke_width(3))).why()?;
    }
    if curves.is_empty() {
        super::note(
            &chart.plotting_area().strip_coord_spec(),
            "no convergence data: no client's route held a fault's subject",
        )?;
    }
    Ok(())
}
