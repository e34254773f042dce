//! The four charts, each drawn by one function generic over the plotters backend so that the SVG
//! and the PNG come from the same code.
//!
//! Every chart has the same frame: a title naming the scenario and seed, the plot, and a legend
//! strip under the plot (never inside it, so it cannot hide data). Charts with faults on a time
//! axis reserve a strip above the plot for the fault labels.

use std::fmt::Display;
use std::ops::Range;

use plotters::coord::Shift;
use plotters::coord::ranged1d::{DefaultFormatting, KeyPointHint};
use plotters::element::DashedPathElement;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::data::{ConvergenceRow, DetectionRow, FaultSummary, Layer, Role, RunData, TimelineRow, TimeseriesRow};
use super::numfmt::{linear_ticks, num, symlog, symlog_ticks};
use super::typeset::SIZE_PER_EM;
use super::{Chart, FONT_FAMILY};

mod overlay;

pub(crate) use overlay::{Labelled, draw as draw_overlay};

type Root<DB> = DrawingArea<DB, Shift>;
type Drawn = Result<(), String>;

/// plotters' errors are generic over the backend; the caller only needs their text.
trait Why<T> {
    fn why(self) -> Result<T, String>;
}

impl<T, E: Display> Why<T> for Result<T, E> {
    fn why(self) -> Result<T, String> {
        self.map_err(|e| e.to_string())
    }
}

// Okabe–Ito colours: distinguishable with the common colour-vision deficiencies.
const BLUE: RGBColor = RGBColor(0, 114, 178);
const ORANGE: RGBColor = RGBColor(230, 159, 0);
const VERMILLION: RGBColor = RGBColor(213, 94, 0);
const GREEN: RGBColor = RGBColor(0, 158, 115);
const PURPLE: RGBColor = RGBColor(204, 121, 167);
const SKY: RGBColor = RGBColor(86, 180, 233);
const INK: RGBColor = RGBColor(30, 30, 30);
const GRID: RGBColor = RGBColor(225, 225, 225);
const MUTED: RGBColor = RGBColor(110, 110, 110);

/// One colour per fault (convergence CDF lines).
const FAULT_COLORS: [RGBColor; 6] = [BLUE, VERMILLION, GREEN, PURPLE, ORANGE, SKY];

/// One colour per NameServer (detection dots and markers), chosen apart from the series colours
/// of the failed-sends chart.
const NS_COLORS: [RGBColor; 6] = [
    RGBColor(117, 112, 179),
    RGBColor(204, 121, 167),
    RGBColor(140, 86, 75),
    RGBColor(0, 128, 128),
    RGBColor(128, 128, 0),
    RGBColor(90, 90, 90),
];

const TITLE_EM_PX: f64 = 22.0;
const LABEL_EM_PX: f64 = 15.5;
const DESC_EM_PX: f64 = 16.0;
const LEGEND_EM_PX: f64 = 15.5;
const NOTE_EM_PX: f64 = 17.0;
const FAULT_LABEL_EM_PX: f64 = 14.0;
const HEADLINE_EM_PX: f64 = 16.0;
const HEADLINE_ROW_PX: i32 = 24;

const MARGIN_PX: u32 = 14;
const X_LABEL_AREA_PX: u32 = 58;
const LEGEND_ROW_PX: i32 = 22;
const FAULT_ROW_PX: i32 = 18;
const MAX_FAULT_ROWS: usize = 5;

/// A linear f64 axis whose ticks are exactly the values we computed. plotters' own f64 axis
/// picks ticks with `powf`/`log10` (libm), and its `WithKeyPoints` wrapper loses the label
/// formatter, hence this small replacement.
#[derive(Debug, Clone)]
struct Axis {
    lo: f64,
    hi: f64,
    ticks: Vec<f64>,
}

impl Axis {
    fn new(range: Range<f64>, ticks: Vec<f64>) -> Self {
        Self { lo: range.start, hi: range.end, ticks }
    }
}

impl Ranged for Axis {
    type FormatOption = DefaultFormatting;
    type ValueType = f64;

    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        let span = self.hi - self.lo;
        let pixels = limit.1 - limit.0;
        if span <= 0.0 || pixels == 0 || !value.is_finite() {
            return limit.0;
        }
        let fraction = (value - self.lo) / span;
        // The small nudge keeps values that land exactly on a pixel boundary from flickering
        // to the neighbouring pixel through rounding noise.
        if pixels > 0 {
            limit.0 + (pixels as f64 * fraction + 1e-3).floor() as i32
        } else {
            limit.0 + (pixels as f64 * fraction - 1e-3).ceil() as i32
        }
    }

    fn key_points<Hint: KeyPointHint>(&self, hint: Hint) -> Vec<f64> {
        // Only bold grid lines and labelled ticks; no light sub-grid.
        if hint.weight().allow_light_points() { Vec::new() } else { self.ticks.clone() }
    }

    fn range(&self) -> Range<f64> {
        self.lo..self.hi
    }
}

/// Text whose em is `em_px` pixels (the SVG's `font-size`).
fn text(em_px: f64) -> TextStyle<'static> {
    TextStyle::from((FONT_FAMILY, plotters_size(em_px)).into_font()).color(&INK)
}

/// The plotters size whose division by 1.24 (done by the SVG backend) gives back exactly
/// `em_px`, so the SVG says `font-size="15.5"` and not `15.500000000000002`. Not every size has
/// one (15 has not), which is why the sizes below are what they are.
fn plotters_size(em_px: f64) -> f64 {
    let size = em_px * SIZE_PER_EM;
    [size, size.next_up(), size.next_down()].into_iter().find(|s| s / SIZE_PER_EM == em_px).unwrap_or(size)
}

fn anchored(size: f64, h: HPos, v: VPos) -> TextStyle<'static> {
    text(size).pos(Pos::new(h, v))
}

pub(crate) fn draw<DB: DrawingBackend>(chart: Chart, root: &Root<DB>, run: &RunData) -> Drawn {
    match chart {
        Chart::FailedSends | Chart::FaultWindow => failed_sends(root, run, chart),
        Chart::Detection => detection(root, run),
        Chart::ConvergenceCdf => convergence_cdf(root, run),
        Chart::Timeline => timeline(root, run),
        Chart::FalseRemovals => false_removals(root, run),
        Chart::ConsumeGap => consume_gap(root, run),
    }
}

// ---------------------------------------------------------------------------------------------
// Frame: title and legend

/// A run chart's title: what it shows, for which scenario and seed.
fn run_title(chart: Chart, run: &RunData) -> String {
    format!("{} — {}, seed {}", chart.subject(), run.summary.scenario, run.summary.seed)
}

enum Swatch {
    Line(RGBColor, u32),
    Dashed(RGBColor, u32),
    Band(RGBAColor),
    Dot(RGBColor),
    Cross(RGBColor),
}

struct LegendEntry {
    swatch: Swatch,
    label: String,
}

fn entry(swatch: Swatch, label: impl Into<String>) -> LegendEntry {
    LegendEntry { swatch, label: label.into() }
}

const SWATCH_W: i32 = 30;
const SWATCH_GAP: i32 = 8;
const ENTRY_GAP: i32 = 26;

/// Fills the background, writes the title, the headline under it (if any) and the legend;
/// returns the area left for the plot.
fn frame<DB: DrawingBackend>(
    root: &Root<DB>,
    title: &str,
    legend: &[LegendEntry],
    headline: Option<&str>,
) -> Result<Root<DB>, String> {
    root.fill(&WHITE).why()?;
    let (_, title_h) = root.estimate_text_size(title, &text(TITLE_EM_PX)).why()?;
    let headline_px = if headline.is_some() { HEADLINE_ROW_PX } else { 0 };
    let title_band_px = title_h as i32 + 16 + headline_px;
    let (title_area, body) = root.split_vertically(title_band_px);
    let (title_w, _) = title_area.dim_in_pixel();
    title_area
        .draw_text(
            title,
            &anchored(TITLE_EM_PX, HPos::Center, VPos::Center),
            (title_w as i32 / 2, (title_band_px - headline_px) / 2 + 2),
        )
        .why()?;
    if let Some(headline) = headline {
        let line = fit_text(&title_area, headline, title_w as i32 - 20, &text(HEADLINE_EM_PX))?;
        title_area
            .draw_text(
                &line,
                &anchored(HEADLINE_EM_PX, HPos::Center, VPos::Center).color(&MUTED),
                (title_w as i32 / 2, title_band_px - headline_px / 2 - 2),
            )
            .why()?;
    }
    let (width_px, height_px) = body.dim_in_pixel();
    let left = (MARGIN_PX * 2) as i32;
    let right = width_px as i32 - (MARGIN_PX * 2) as i32;
    let mut placed = Vec::with_capacity(legend.len());
    let (mut x, mut row) = (left, 0i32);
    for item in legend {
        let (label_w, _) = body.estimate_text_size(&item.label, &text(LEGEND_EM_PX)).why()?;
        let w = SWATCH_W + SWATCH_GAP + label_w as i32;
        if x > left && x + w > right {
            x = left;
            row += 1;
        }
        placed.push((x, row));
        x += w + ENTRY_GAP;
    }
    let rows = if legend.is_empty() { 0 } else { row + 1 };
    let legend_h = (rows * LEGEND_ROW_PX + 8).clamp(0, height_px as i32 / 3);
    let (plot, legend_area) = body.split_vertically(height_px as i32 - legend_h);
    for (item, (x, row)) in legend.iter().zip(placed) {
        let cy = row * LEGEND_ROW_PX + LEGEND_ROW_PX / 2;
        draw_swatch(&legend_area, &item.swatch, x, cy)?;
        legend_area
            .draw_text(&item.label, &anchored(LEGEND_EM_PX, HPos::Left, VPos::Center), (x + SWATCH_W + SWATCH_GAP, cy))
            .why()?;
    }
    Ok(plot)
}

fn draw_swatch<DB: DrawingBackend>(area: &Root<DB>, swatch: &Swatch, x: i32, cy: i32) -> Drawn {
    match swatch {
        Swatch::Line(color, width) => {
            area.draw(&PathElement::new(vec![(x, cy), (x + SWATCH_W, cy)], color.stroke_width(*width))).why()
        }
        Swatch::Dashed(color, width) => area
            .draw(&DashedPathElement::new(vec![(x, cy), (x + SWATCH_W, cy)], 6, 4, color.stroke_width(*width)))
            .why(),
        Swatch::Band(color) => area.draw(&Rectangle::new([(x, cy - 7), (x + SWATCH_W, cy + 7)], color.filled())).why(),
        Swatch::Dot(color) => area.draw(&Circle::new((x + SWATCH_W / 2, cy), 5, color.filled())).why(),
        Swatch::Cross(color) => area.draw(&Cross::new((x + SWATCH_W / 2, cy), 5, color.stroke_width(2))).why(),
    }
}

/// `label` shortened in the middle ("fault-with-…name-7") until it is at most `max_px` wide, so
/// that both the common prefix and the distinguishing suffix of ids stay visible.
fn fit_text<DB: DrawingBackend>(
    area: &Root<DB>,
    label: &str,
    max_px: i32,
    style: &TextStyle,
) -> Result<String, String> {
    let fits = |s: &str| -> Result<bool, String> {
        let (w, _) = area.estimate_text_size(s, style).why()?;
        Ok(w as i32 <= max_px)
    };
    if fits(label)? {
        return Ok(label.to_string());
    }
    let chars: Vec<char> = label.chars().collect();
    for keep in (1..chars.len()).rev() {
        let head: String = chars[..keep.div_ceil(2)].iter().collect();
        let tail: String = chars[chars.len() - keep / 2..].iter().collect();
        let candidate = format!("{head}…{tail}");
        if fits(&candidate)? {
            return Ok(candidate);
        }
    }
    Ok("…".to_string())
}

/// A message in the middle of an otherwise empty plot.
fn note<DB: DrawingBackend>(area: &Root<DB>, message: &str) -> Drawn {
    let (w, h) = area.dim_in_pixel();
    area.draw_text(
        message,
        &anchored(NOTE_EM_PX, HPos::Center, VPos::Center).color(&MUTED),
        (w as i32 / 2, h as i32 / 2),
    )
    .why()
}

// ---------------------------------------------------------------------------------------------
// Fault labels above a time axis

struct FaultMark {
    at_s: f64,
    label: String,
}

struct PlacedLabel {
    line_x: i32,
    text_x: i32,
    row: usize,
    label: String,
}

/// The fault as a user named it: a crash's mode ("power-off", "kill") says more than "crash".
fn fault_kind(fault: &FaultSummary) -> &str {
    fault.mode.as_deref().unwrap_or(&fault.kind)
}

fn fault_marks(faults: &[FaultSummary], view: &View) -> Vec<FaultMark> {
    let mut marks: Vec<FaultMark> = faults
        .iter()
        .filter(|f| f.at_s >= view.from_s && f.at_s <= view.to_s)
        .map(|f| FaultMark { at_s: f.at_s, label: format!("{}: {}", f.id, fault_kind(f)) })
        .collect();
    marks.sort_by(|a, b| a.at_s.total_cmp(&b.at_s));
    marks
}

/// Puts each label in the first row where it fits: to the right of its line (to the left near
/// the right edge), clear of the labels already in that row, not across the leader of a label in
/// a row above, and without its own leader (which runs down to the plot) crossing a label in a
/// row below. A new row at the bottom always satisfies the last two. `x_px` maps seconds to
/// pixels.
fn place_fault_labels<DB: DrawingBackend>(
    area: &Root<DB>,
    marks: &[FaultMark],
    x_px: impl Fn(f64) -> i32,
) -> Result<Vec<PlacedLabel>, String> {
    const GAP_PX: i32 = 12;
    let right_edge = area.get_pixel_range().0.end;
    // Per row, the labels' horizontal spans.
    let mut rows: Vec<Vec<(i32, i32)>> = Vec::new();
    let mut placed: Vec<PlacedLabel> = Vec::with_capacity(marks.len());
    for mark in marks {
        let line_x = x_px(mark.at_s);
        let (w, _) = area.estimate_text_size(&mark.label, &text(FAULT_LABEL_EM_PX)).why()?;
        let w = w as i32;
        let text_x = if line_x + 4 + w > right_edge - 4 { line_x - 4 - w } else { line_x + 4 };
        let span = (text_x, text_x + w);
        let fits = |row: usize, rows: &[Vec<(i32, i32)>]| {
            let clear_of_row = rows[row].iter().all(|(a, b)| span.1 + GAP_PX <= *a || *b + GAP_PX <= span.0);
            let clear_of_leaders_above =
                placed.iter().filter(|p| p.row < row).all(|p| p.line_x < span.0 - 2 || p.line_x > span.1 + 2);
            let leader_clear_below = rows[row + 1..].iter().flatten().all(|(a, b)| line_x < *a - 2 || line_x > *b + 2);
            clear_of_row && clear_of_leaders_above && leader_clear_below
        };
        let row = match (0..rows.len()).find(|r| fits(*r, &rows)) {
            Some(row) => row,
            None if rows.len() < MAX_FAULT_ROWS => {
                rows.push(Vec::new());
                rows.len() - 1
            }
            // Out of rows (many faults close together): the fault keeps its line in the plot
            // but loses its label, rather than printing labels over each other.
            None => continue,
        };
        rows[row].push(span);
        placed.push(PlacedLabel { line_x, text_x, row, label: mark.label.clone() });
    }
    Ok(placed)
}

/// A chart over the run's time axis, below `top_margin_px`.
fn time_chart<'a, DB: DrawingBackend>(
    area: &'a Root<DB>,
    top_margin_px: u32,
    y_label_area_px: u32,
    axes: &(Axis, Axis),
) -> Result<ChartContext<'a, DB, Cartesian2d<Axis, Axis>>, String> {
    ChartBuilder::on(area)
        .margin(MARGIN_PX)
        .margin_top(top_margin_px)
        .margin_right(MARGIN_PX * 2)
        .x_label_area_size(X_LABEL_AREA_PX)
        .y_label_area_size(y_label_area_px)
        .build_cartesian_2d(axes.0.clone(), axes.1.clone())
        .why()
}

/// The fault labels laid out above a time chart, and the area left for the chart.
struct FaultStrip<DB: DrawingBackend> {
    strip: Root<DB>,
    plot_area: Root<DB>,
    marks: Vec<FaultMark>,
    placed: Vec<PlacedLabel>,
}

/// Probes the chart's horizontal mapping (it does not depend on the plot's height) to lay out
/// the fault labels, then splits `body` into a strip of exactly the height they need and the
/// plot area below it.
fn fault_strip<DB: DrawingBackend>(
    body: &Root<DB>,
    faults: &[FaultSummary],
    view: &View,
    axes: &(Axis, Axis),
    y_label_area_px: u32,
) -> Result<FaultStrip<DB>, String> {
    let marks = fault_marks(faults, view);
    let placed = {
        let probe = time_chart(body, MARGIN_PX, y_label_area_px, axes)?;
        place_fault_labels(body, &marks, |x| probe.backend_coord(&(x, 0.0)).0)?
    };
    let (strip, plot_area) = body.split_vertically(fault_strip_px(&placed) + 4);
    Ok(FaultStrip { strip, plot_area, marks, placed })
}

/// Draws each fault's line over the plot (up to `y_top`), a note if there was no data, and
/// the fault labels in the strip with their leaders.
fn finish_time_chart<DB: DrawingBackend>(
    root: &Root<DB>,
    chart: &ChartContext<'_, DB, Cartesian2d<Axis, Axis>>,
    (strip, marks, placed): (&Root<DB>, &[FaultMark], &[PlacedLabel]),
    y_top: f64,
    empty_note: Option<&str>,
) -> Drawn {
    for mark in marks {
        chart
            .plotting_area()
            .draw(&PathElement::new(vec![(mark.at_s, 0.0), (mark.at_s, y_top)], INK.stroke_width(2)))
            .why()?;
    }
    if let Some(message) = empty_note {
        note(&chart.plotting_area().strip_coord_spec(), message)?;
    }
    let plot_top_px = chart.plotting_area().get_pixel_range().1.start;
    draw_fault_labels(root, marks, placed, strip.get_pixel_range().1.start, plot_top_px)
}

fn fault_strip_px(placed: &[PlacedLabel]) -> i32 {
    match placed.iter().map(|p| p.row).max() {
        Some(max_row) => (max_row as i32 + 1) * FAULT_ROW_PX + 6,
        None => 0,
    }
}

/// Draws the labels in the strip above the plot and a leader from each label down to the plot,
/// where the fault's own vertical line continues. Coordinates are the root's (absolute). Labels
/// that found no room are counted in the top right corner, beside the title.
fn draw_fault_labels<DB: DrawingBackend>(
    root: &Root<DB>,
    marks: &[FaultMark],
    placed: &[PlacedLabel],
    strip_top_px: i32,
    plot_top_px: i32,
) -> Drawn {
    let omitted = marks.len() - placed.len();
    if omitted > 0 {
        let (width_px, _) = root.dim_in_pixel();
        let noun = if omitted == 1 { "label" } else { "labels" };
        root.draw_text(
            &format!("{omitted} fault {noun} omitted for space"),
            &anchored(FAULT_LABEL_EM_PX, HPos::Right, VPos::Top).color(&MUTED),
            (width_px as i32 - 10, 6),
        )
        .why()?;
    }
    for p in placed {
        let cy = strip_top_px + p.row as i32 * FAULT_ROW_PX + FAULT_ROW_PX / 2;
        root.draw(&PathElement::new(
            vec![(p.line_x, cy - FAULT_ROW_PX / 2 + 2), (p.line_x, plot_top_px)],
            INK.stroke_width(1),
        ))
        .why()?;
        root.draw_text(&p.label, &anchored(FAULT_LABEL_EM_PX, HPos::Left, VPos::Center), (p.text_x, cy)).why()?;
    }
    Ok(())
}

/// Tick values and their labels.
type TickLabels = Vec<(f64, String)>;

/// The x and y axes' label formatters.
type AxisLabels<'a> = (&'a dyn Fn(&f64) -> String, &'a dyn Fn(&f64) -> String);

/// Formats tick values with a lookup from the exact key points we handed plotters, so a label
/// is never plotters' own rendering of a float.
fn tick_labels(ticks: &[f64], decimals: usize) -> TickLabels {
    ticks.iter().map(|t| (*t, num(*t, decimals))).collect()
}

fn lookup(labels: &[(f64, String)], v: f64) -> String {
    labels.iter().find(|(t, _)| *t == v).map(|(_, l)| l.clone()).unwrap_or_default()
}

/// Every NameServer the run mentions, in one fixed order: summary.json's list, then any other
/// name found in detection data, sorted. Colours are assigned by this order so that a
/// NameServer has the same colour in every chart.
fn all_nameservers(run: &RunData) -> Vec<&str> {
    let mut order: Vec<&str> = run.summary.nameservers.iter().map(String::as_str).collect();
    let mut extra: Vec<&str> = run
        .detection
        .iter()
        .map(|r| r.nameserver.as_str())
        .chain(run.summary.faults.iter().flat_map(|f| f.detection_s.keys().map(String::as_str)))
        .filter(|n| !order.contains(n))
        .collect();
    extra.sort_unstable();
    extra.dedup();
    order.extend(extra);
    order
}

fn ns_color(run: &RunData, ns: &str) -> RGBColor {
    let order = all_nameservers(run);
    let index = order.iter().position(|n| *n == ns).unwrap_or(order.len());
    NS_COLORS[index % NS_COLORS.len()]
}

// ---------------------------------------------------------------------------------------------
// failed-sends

/// Picks one per-second count out of a timeseries row.
type CountOf = fn(&TimeseriesRow) -> u64;

/// The stretch of time a failed-sends chart covers, and how many seconds each drawn step averages.
struct View {
    from_s: f64,
    to_s: f64,
    bin_s: u64,
}

/// The full run in about 150 steps (a 600 s run: 4 s each), so that a sawtooth of a few seconds
/// (sync threads released together by their send budget) reads as its average, not as a comb.
fn full_view(duration_s: f64) -> View {
    View { from_s: 0.0, to_s: duration_s, bin_s: (duration_s / 150.0).ceil().max(1.0) as u64 }
}

/// Second by second, from a little before the first fault with subjects until a little after
/// its last effect (last stale attempt, last client converged, last NameServer removal). None
/// if no fault took a broker out of service.
fn fault_view(run: &RunData, duration_s: f64) -> Option<View> {
    let fault = run.summary.faults.iter().find(|f| !f.subjects.is_empty())?;
    let after_s =
        [fault.stale_window_s, fault.convergence_s.max, fault.detection_s.values().flatten().copied().reduce(f64::max)]
            .into_iter()
            .flatten()
            .fold(10.0_f64, f64::max);
    let pad_s = (after_s * 0.15).max(5.0);
    let from_s = (fault.at_s - pad_s).max(0.0).floor();
    let to_s = (fault.at_s + after_s + pad_s).min(duration_s).ceil();
    Some(View { from_s, to_s, bin_s: 1 })
}

/// Each count averaged per second over `bin_s`-second steps inside the view, as the corners of
/// a step line.
fn binned(rows: &[TimeseriesRow], view: &View, value: CountOf) -> Vec<(f64, f64)> {
    let mut sums: std::collections::BTreeMap<u64, u64> = std::collections::BTreeMap::new();
    for row in rows {
        let t = row.second as f64;
        if t >= view.from_s && t < view.to_s {
            *sums.entry(row.second / view.bin_s).or_default() += value(row);
        }
    }
    let mut points = Vec::with_capacity(sums.len() * 2);
    for (bin, sum) in sums {
        let y = symlog(sum as f64 / view.bin_s as f64);
        let x0 = ((bin * view.bin_s) as f64).max(view.from_s);
        let x1 = (((bin + 1) * view.bin_s) as f64).min(view.to_s);
        points.push((x0, y));
        points.push((x1, y));
    }
    points
}

/// The first line a reader needs: what the first fault with subjects cost.
fn headline(run: &RunData) -> Option<String> {
    let fault = run.summary.faults.iter().find(|f| !f.subjects.is_empty())?;
    let mut parts = vec![format!("{} {} at {} s", fault.id, fault_kind(fault), num(fault.at_s, 1))];
    parts.push(match fault.stale_window_s {
        Some(w) => format!("stale window {} s", num(w, 1)),
        None => "no stale attempt".to_string(),
    });
    parts.push(format!("{} failed sends", fault.failed_sends));
    let detections: Vec<Option<f64>> = fault.detection_s.values().copied().collect();
    if !detections.is_empty() {
        parts.push(match detections.iter().copied().collect::<Option<Vec<f64>>>() {
            Some(all) => format!("removed after {} s", num(all.into_iter().fold(0.0, f64::max), 1)),
            None => "a NameServer never removed it".to_string(),
        });
    }
    if let Some(max_s) = fault.convergence_s.max {
        parts.push(format!("last client converged after {} s", num(max_s, 1)));
    }
    Some(parts.join(" · "))
}

fn failed_sends<DB: DrawingBackend>(root: &Root<DB>, run: &RunData, which: Chart) -> Drawn {
    let s = &run.summary;
    let rows = &run.timeseries;
    let last_second_end = rows.iter().map(|r| r.second.saturating_add(1)).max().unwrap_or(0) as f64;
    let duration_s = s.duration_s.max(last_second_end);
    let zoom = if which == Chart::FaultWindow { fault_view(run, duration_s) } else { None };
    let no_fault = which == Chart::FaultWindow && zoom.is_none();
    let view = zoom.unwrap_or_else(|| full_view(duration_s));
    let in_view = |t: f64| t >= view.from_s && t <= view.to_s;

    let series: [(RGBColor, u32, &str, CountOf); 3] = [
        (BLUE, 2, "attempts", |r| r.attempts),
        (VERMILLION, 4, "failed sends (after retries)", |r| r.failed_sends),
        (ORANGE, 2, "failed attempts (dashed, over failed sends)", |r| r.failed_attempts),
    ];
    let lines: Vec<Vec<(f64, f64)>> = series.iter().map(|(_, _, _, value)| binned(rows, &view, *value)).collect();
    let y_data_max = lines.iter().flatten().map(|(_, y)| *y).fold(symlog(1.0), f64::max);
    let max_count =
        rows.iter().map(|r| r.attempts.max(r.failed_attempts).max(r.failed_sends)).max().unwrap_or(0).max(1);

    // NameServers that removed a subject of some fault in view: each gets a marker colour.
    let removal_at = |fault: &FaultSummary, ns: &str| {
        fault.detection_s.get(ns).copied().flatten().map(|d| fault.at_s + d).filter(|x| in_view(*x))
    };
    let detected_ns: Vec<&str> =
        all_nameservers(run).into_iter().filter(|ns| s.faults.iter().any(|f| removal_at(f, ns).is_some())).collect();
    let any_convergence = s.faults.iter().any(|f| f.convergence_s.max.is_some());
    let any_p50 = s.faults.iter().any(|f| f.convergence_s.p50.is_some());

    let mut legend: Vec<LegendEntry> = series
        .iter()
        .map(|(color, width, label, _)| {
            let swatch = if *color == ORANGE { Swatch::Dashed(*color, *width) } else { Swatch::Line(*color, *width) };
            entry(swatch, *label)
        })
        .collect();
    if !s.faults.is_empty() {
        legend.push(entry(Swatch::Line(INK, 2), "fault"));
    }
    for ns in &detected_ns {
        legend.push(entry(Swatch::Dashed(ns_color(run, ns), 3), format!("broker removed at {ns}")));
    }
    if any_convergence {
        legend.push(entry(Swatch::Band(GREEN.mix(0.15)), "client convergence (fault → last client)"));
    }
    if any_p50 {
        legend.push(entry(Swatch::Dashed(GREEN, 2), "convergence p50"));
    }
    let body = frame(root, &run_title(which, run), &legend, headline(run).as_deref())?;

    let (x_labels, y_labels, axes) = per_second_axes(&view, max_count, y_data_max);
    let y_top = axes.1.hi;
    let x_fmt = |v: &f64| lookup(&x_labels, *v);
    let y_fmt = |v: &f64| lookup(&y_labels, *v);
    let y_label_area_px = 70;
    let FaultStrip { strip, plot_area, marks, placed } =
        fault_strip(&body, &run.summary.faults, &view, &axes, y_label_area_px)?;
    let mut chart = time_chart(&plot_area, 4, y_label_area_px, &axes)?;
    per_second_mesh(&mut chart, &view, None, (&x_fmt, &y_fmt))?;

    // Convergence spans first, so that the series are drawn over them.
    for fault in &s.faults {
        if let Some(max_s) = fault.convergence_s.max {
            let (start_s, end_s) = (fault.at_s.max(view.from_s), (fault.at_s + max_s).min(view.to_s));
            if start_s < end_s {
                chart
                    .draw_series(std::iter::once(Rectangle::new(
                        [(start_s, 0.0), (end_s, y_top)],
                        GREEN.mix(0.15).filled(),
                    )))
                    .why()?;
            }
        }
    }

    for ((color, width, _, _), points) in series.iter().zip(lines) {
        let style = color.stroke_width(*width);
        if *color == ORANGE {
            chart.draw_series(std::iter::once(DashedPathElement::new(points, 7, 5, style))).why()?;
        } else {
            chart.draw_series(LineSeries::new(points, style)).why()?;
        }
    }

    for fault in &s.faults {
        if let Some(p50_s) = fault.convergence_s.p50 {
            let x = fault.at_s + p50_s;
            if in_view(x) {
                chart
                    .draw_series(std::iter::once(DashedPathElement::new(
                        vec![(x, 0.0), (x, y_top)],
                        8,
                        5,
                        GREEN.stroke_width(2),
                    )))
                    .why()?;
            }
        }
        for ns in &detected_ns {
            if let Some(x) = removal_at(fault, ns) {
                chart
                    .draw_series(std::iter::once(DashedPathElement::new(
                        vec![(x, 0.0), (x, y_top)],
                        4,
                        4,
                        ns_color(run, ns).stroke_width(3),
                    )))
                    .why()?;
            }
        }
    }
    let empty = if no_fault {
        Some("no fault took a broker out of service: nothing to zoom onto")
    } else {
        rows.is_empty().then_some("timeseries.csv has no rows")
    };
    finish_time_chart(root, &chart, (&strip, &marks, &placed), y_top, empty)
}

/// The axes of a per-second chart over `view` and their tick labels: time, and counts on the
/// log-ish scale up to `max_count`, topped above `y_data_max` (the highest value drawn, already
/// on that scale).
fn per_second_axes(view: &View, max_count: u64, y_data_max: f64) -> (TickLabels, TickLabels, (Axis, Axis)) {
    let (x_ticks, x_decimals) = linear_ticks(view.from_s, view.to_s, 12);
    let y_labels: TickLabels = symlog_ticks(max_count as f64).iter().map(|v| (symlog(*v), num(*v, 0))).collect();
    let y_top = y_data_max.max(symlog(max_count as f64)) * 1.08 + 0.05;
    let y_positions: Vec<f64> = y_labels.iter().map(|(p, _)| *p).collect();
    let axes = (Axis::new(view.from_s..view.to_s, x_ticks.clone()), Axis::new(0.0..y_top, y_positions));
    (tick_labels(&x_ticks, x_decimals), y_labels, axes)
}

/// The axes of a per-second chart over `view`: time since the start against (`what`) per
/// second, averaged over the view's steps.
fn per_second_mesh<DB: DrawingBackend>(
    chart: &mut ChartContext<'_, DB, Cartesian2d<Axis, Axis>>,
    view: &View,
    what: Option<&str>,
    fmt: AxisLabels,
) -> Drawn {
    let averages = if view.bin_s == 1 { String::new() } else { format!(", {} s averages", view.bin_s) };
    let y_desc = format!("{}per second{averages} (log scale)", what.map_or(String::new(), |w| format!("{w} ")));
    time_mesh(chart, Some(y_desc), fmt)
}

/// The axes of a chart over the run's time: `y_desc` on the y axis, or, without one, a row per
/// node (or pair) named on it and no horizontal grid.
fn time_mesh<DB: DrawingBackend>(
    chart: &mut ChartContext<'_, DB, Cartesian2d<Axis, Axis>>,
    y_desc: Option<String>,
    (x_fmt, y_fmt): AxisLabels,
) -> Drawn {
    let mut mesh = chart.configure_mesh();
    mesh.x_desc("time since start of run (s)")
        .x_label_formatter(x_fmt)
        .y_label_formatter(y_fmt)
        .label_style(text(LABEL_EM_PX))
        .axis_desc_style(text(DESC_EM_PX))
        .bold_line_style(GRID.stroke_width(1))
        .light_line_style(TRANSPARENT);
    match y_desc {
        Some(y_desc) => mesh.y_desc(y_desc),
        None => mesh.disable_y_mesh(),
    };
    mesh.draw().why()
}

// ---------------------------------------------------------------------------------------------
// false-removals

fn false_removals<DB: DrawingBackend>(root: &Root<DB>, run: &RunData) -> Drawn {
    let s = &run.summary;
    let duration_s = s.duration_s;
    // One row per NameServer and broker pair that had a false removal, in first-seen order.
    let mut pairs: Vec<(&str, &str)> = Vec::new();
    for r in &s.false_removals {
        if !pairs.contains(&(r.nameserver.as_str(), r.broker.as_str())) {
            pairs.push((&r.nameserver, &r.broker));
        }
    }
    let mut legend = vec![entry(Swatch::Line(VERMILLION, 8), "broker running, but missing from that NameServer")];
    if !s.faults.is_empty() {
        legend.push(entry(Swatch::Line(INK, 2), "fault"));
    }
    let headline = (!pairs.is_empty()).then(|| {
        let longest = s.false_removals.iter().map(|r| r.missing_s).fold(0.0_f64, f64::max);
        format!(
            "{} false removals of {} live brokers; the longest left a broker unlisted for {} s",
            s.false_removals.len(),
            {
                let mut brokers: Vec<&str> = pairs.iter().map(|(_, b)| *b).collect();
                brokers.sort_unstable();
                brokers.dedup();
                brokers.len()
            },
            num(longest, 1)
        )
    });
    let body = frame(root, &run_title(Chart::FalseRemovals, run), &legend, headline.as_deref())?;

    let n_rows = pairs.len().max(1) as f64;
    let row_bottom = |r: usize| n_rows - r as f64 - 1.0;
    let y_labels: Vec<(f64, String)> =
        pairs.iter().enumerate().map(|(r, (ns, broker))| (row_bottom(r) + 0.5, format!("{broker} at {ns}"))).collect();
    let y_keys: Vec<f64> = y_labels.iter().map(|(y, _)| *y).collect();
    let mut widest_px = 40u32;
    for (_, label) in &y_labels {
        widest_px = widest_px.max(body.estimate_text_size(label, &text(LABEL_EM_PX)).why()?.0);
    }
    let y_label_area_px = widest_px + 20;
    let view = full_view(duration_s);
    let (x_ticks, x_decimals) = linear_ticks(0.0, duration_s, 12);
    let x_labels = tick_labels(&x_ticks, x_decimals);
    let x_fmt = |v: &f64| lookup(&x_labels, *v);
    let y_fmt = |v: &f64| lookup(&y_labels, *v);
    let axes = (Axis::new(0.0..duration_s, x_ticks.clone()), Axis::new(0.0..n_rows, y_keys.clone()));
    let FaultStrip { strip, plot_area, marks, placed } =
        fault_strip(&body, &run.summary.faults, &view, &axes, y_label_area_px)?;
    let mut chart = time_chart(&plot_area, 4, y_label_area_px, &axes)?;
    time_mesh(&mut chart, None, (&x_fmt, &y_fmt))?;
    for removal in &s.false_removals {
        let Some(r) = pairs.iter().position(|p| *p == (removal.nameserver.as_str(), removal.broker.as_str())) else {
            continue;
        };
        let y0 = row_bottom(r);
        // A few pixels wide at least, so a removal undone within a second still shows beside the
        // fault line it often follows; its duration is written next to it.
        let end_s = (removal.at_s + removal.missing_s).max(removal.at_s + duration_s / 200.0);
        chart
            .draw_series(std::iter::once(Rectangle::new(
                [(removal.at_s, y0 + 0.3), (end_s.min(duration_s), y0 + 0.7)],
                VERMILLION.filled(),
            )))
            .why()?;
        let label = if removal.relisted {
            format!("removed at {} s, missing {} s", num(removal.at_s, 1), num(removal.missing_s, 1))
        } else {
            format!("removed at {} s, never relisted", num(removal.at_s, 1))
        };
        let (px, py) = chart.backend_coord(&(end_s.min(duration_s), y0 + 0.5));
        let (label_w, _) = body.estimate_text_size(&label, &text(LABEL_EM_PX)).why()?;
        let right_px = chart.plotting_area().get_pixel_range().0.end;
        let (style, x) = if px + 8 + label_w as i32 <= right_px {
            (anchored(LABEL_EM_PX, HPos::Left, VPos::Center), px + 8)
        } else {
            (anchored(LABEL_EM_PX, HPos::Right, VPos::Center), chart.backend_coord(&(removal.at_s, 0.0)).0 - 8)
        };
        root.draw_text(&label, &style, (x, py)).why()?;
    }
    let empty = pairs.is_empty().then_some("no false removals: no NameServer removed a running broker");
    finish_time_chart(root, &chart, (&strip, &marks, &placed), n_rows, empty)
}

// ---------------------------------------------------------------------------------------------
// consume-gap

/// Per second, how many of each consumer group's queues had messages waiting with nothing
/// delivered for a second or more (`reads.csv`): a queue without a reader stays up for as long
/// as it has none; a reader held back by its own backlog (`pullThresholdForQueue`) shows as
/// short steps.
fn consume_gap<DB: DrawingBackend>(root: &Root<DB>, run: &RunData) -> Drawn {
    let rows = run.reads.as_deref().unwrap_or(&[]);
    let duration_s = run.summary.duration_s;
    let mut groups: Vec<(&str, u32)> = Vec::new();
    for r in rows {
        if !groups.iter().any(|(g, _)| *g == r.consumer_group) {
            groups.push((&r.consumer_group, r.queues));
        }
    }
    const COLORS: [RGBColor; 5] = [VERMILLION, BLUE, GREEN, ORANGE, PURPLE];
    let mut legend: Vec<LegendEntry> = groups
        .iter()
        .enumerate()
        .map(|(i, (g, queues))| {
            entry(Swatch::Line(COLORS[i % COLORS.len()], 3), format!("group {g}: queues waiting ≥ 1 s (of {queues})"))
        })
        .collect();
    if !run.summary.faults.is_empty() {
        legend.push(entry(Swatch::Line(INK, 2), "fault"));
    }
    let headline = run.summary.faults.iter().find_map(|f| {
        let gaps = f.consume_gap_s?;
        Some(format!(
            "after {}: the longest gap of its queues {} s, {} of {} never read again",
            f.id,
            gaps.max.map_or("–".to_string(), |m| num(m, 1)),
            gaps.never,
            gaps.queues
        ))
    });
    let body = frame(root, &run_title(Chart::ConsumeGap, run), &legend, headline.as_deref())?;
    let y_max = groups.iter().map(|(_, q)| *q).max().unwrap_or(1).max(1) as f64;
    let (y_ticks, y_decimals) = linear_ticks(0.0, y_max, 6);
    let y_labels = tick_labels(&y_ticks, y_decimals);
    let (x_ticks, x_decimals) = linear_ticks(0.0, duration_s, 12);
    let x_labels = tick_labels(&x_ticks, x_decimals);
    let x_fmt = |v: &f64| lookup(&x_labels, *v);
    let y_fmt = |v: &f64| lookup(&y_labels, *v);
    let axes = (Axis::new(0.0..duration_s, x_ticks.clone()), Axis::new(0.0..y_max * 1.05, y_ticks.clone()));
    let y_label_area_px = 70;
    let FaultStrip { strip, plot_area, marks, placed } =
        fault_strip(&body, &run.summary.faults, &full_view(duration_s), &axes, y_label_area_px)?;
    let mut chart = time_chart(&plot_area, 4, y_label_area_px, &axes)?;
    time_mesh(&mut chart, Some("queues waiting for a reader".into()), (&x_fmt, &y_fmt))?;
    for (i, (group, _)) in groups.iter().enumerate() {
        // Steps: each sample holds for its second.
        let points: Vec<(f64, f64)> = rows
            .iter()
            .filter(|r| r.consumer_group == *group)
            .flat_map(|r| {
                let (t, w) = (r.second as f64, f64::from(r.queues_waiting));
                [(t, w), (t + 1.0, w)]
            })
            .collect();
        chart.draw_series(LineSeries::new(points, COLORS[i % COLORS.len()].stroke_width(2))).why()?;
    }
    let empty = rows.is_empty().then_some("reads.csv has no rows");
    finish_time_chart(root, &chart, (&strip, &marks, &placed), y_max * 1.05, empty)
}

// ---------------------------------------------------------------------------------------------
// detection

fn detection<DB: DrawingBackend>(root: &Root<DB>, run: &RunData) -> Drawn {
    let rows = &run.detection;
    let mut fault_ids: Vec<&str> = Vec::new();
    for row in rows {
        if !fault_ids.contains(&row.fault_id.as_str()) {
            fault_ids.push(&row.fault_id);
        }
    }
    let nameservers: Vec<&str> =
        all_nameservers(run).into_iter().filter(|ns| rows.iter().any(|r| r.nameserver == *ns)).collect();
    let any_detection = rows.iter().any(|r| r.detection_s.is_some());
    let any_window = rows.iter().any(|r| r.window_lo_s.is_some() && r.window_hi_s.is_some());
    let any_null = rows.iter().any(|r| r.detection_s.is_none());

    let mut legend: Vec<LegendEntry> =
        nameservers.iter().map(|ns| entry(Swatch::Dot(ns_color(run, ns)), format!("removed at {ns}"))).collect();
    if any_window {
        legend.push(entry(Swatch::Band(SKY.mix(0.25)), "theoretical detection window (closed form)"));
    }
    if any_null {
        legend.push(entry(Swatch::Cross(MUTED), "not removed within the run (drawn at the top)"));
    }
    let body = frame(root, &run_title(Chart::Detection, run), &legend, None)?;

    let y_max_s = rows.iter().flat_map(|r| [r.detection_s, r.window_hi_s]).flatten().fold(0.0_f64, f64::max);
    // A kill is detected within a network delay: milliseconds, which "0 s" ticks would hide.
    let (scale, unit) = if y_max_s > 0.0 && y_max_s < 1.0 { (1000.0, "ms") } else { (1.0, "s") };
    let y_max = y_max_s * scale;
    // Room above the highest value for the "not removed" markers and their labels.
    let headroom = if any_null { 1.25 } else { 1.15 };
    let y_top = if y_max > 0.0 { y_max * headroom } else { 10.0 };
    let (y_ticks, y_decimals) = linear_ticks(0.0, y_top, 8);
    let y_labels = tick_labels(&y_ticks, y_decimals);
    let categories = fault_ids.len().max(1) as f64;
    let x_keys: Vec<f64> = (0..fault_ids.len()).map(|i| i as f64 + 0.5).collect();
    let y_fmt = |v: &f64| lookup(&y_labels, *v);

    let mut chart = ChartBuilder::on(&body)
        .margin(MARGIN_PX)
        .margin_right(MARGIN_PX * 2)
        .x_label_area_size(X_LABEL_AREA_PX)
        .y_label_area_size(70)
        .build_cartesian_2d(Axis::new(0.0..categories, x_keys.clone()), Axis::new(0.0..y_top, y_ticks.clone()))
        .why()?;
    // Widths on screen decide which texts fit: one column per fault, one slot per NameServer.
    let column_px = f64::from(chart.backend_coord(&(1.0, 0.0)).0 - chart.backend_coord(&(0.0, 0.0)).0);
    let slot_w = 0.8 / nameservers.len().max(1) as f64;
    let slot_px = (column_px * slot_w) as i32;
    let mut x_labels: Vec<(f64, String)> = Vec::with_capacity(fault_ids.len());
    for (x, id) in x_keys.iter().zip(&fault_ids) {
        let label = fit_text(&body, id, column_px as i32 - 8, &text(LABEL_EM_PX))?;
        x_labels.push((*x, label));
    }
    let x_fmt = |v: &f64| lookup(&x_labels, *v);
    chart
        .configure_mesh()
        .x_desc("fault")
        .y_desc(format!("time from fault to removal ({unit})"))
        .x_label_formatter(&x_fmt)
        .y_label_formatter(&y_fmt)
        .label_style(text(LABEL_EM_PX))
        .axis_desc_style(text(DESC_EM_PX))
        .bold_line_style(GRID.stroke_width(1))
        .light_line_style(TRANSPARENT)
        .disable_x_mesh()
        .draw()
        .why()?;

    // Each fault's column is split into one slot per NameServer; bands of equal windows in
    // neighbouring slots join into one band across the column.
    let slot = |fault_index: usize, ns_index: usize| {
        let x0 = fault_index as f64 + 0.1 + ns_index as f64 * slot_w;
        (x0, x0 + slot_w / 2.0, x0 + slot_w)
    };
    let index_of = |row: &DetectionRow| {
        let f = fault_ids.iter().position(|id| *id == row.fault_id)?;
        let n = nameservers.iter().position(|ns| *ns == row.nameserver)?;
        Some((f, n))
    };
    for row in rows {
        if let (Some((f, n)), Some(lo), Some(hi)) = (index_of(row), row.window_lo_s, row.window_hi_s) {
            let (x0, _, x1) = slot(f, n);
            chart
                .draw_series(std::iter::once(Rectangle::new(
                    [(x0, lo * scale), (x1, hi * scale)],
                    SKY.mix(0.25).filled(),
                )))
                .why()?;
        }
    }
    let value_style = anchored(LABEL_EM_PX, HPos::Left, VPos::Center);
    for row in rows {
        let Some((f, n)) = index_of(row) else {
            continue;
        };
        let (_, cx, _) = slot(f, n);
        let color = ns_color(run, &row.nameserver);
        match row.detection_s {
            Some(d_s) => {
                let d = d_s * scale;
                chart.draw_series(std::iter::once(Circle::new((cx, d), 6, color.filled()))).why()?;
                // The value goes right of the dot, up to the next slot's dot; when slots are
                // too narrow the y axis has to do.
                let value = format!("{} {unit}", num(d, if unit == "ms" { 2 } else { 1 }));
                let (value_w, _) = body.estimate_text_size(&value, &value_style).why()?;
                if value_w as i32 <= slot_px - 20 {
                    let (px, py) = chart.backend_coord(&(cx, d));
                    root.draw_text(&value, &value_style, (px + 10, py)).why()?;
                }
            }
            None => {
                let y = y_top * 0.96;
                chart.draw_series(std::iter::once(Cross::new((cx, y), 6, color.stroke_width(2)))).why()?;
                let label = format!("{}: not removed", row.nameserver);
                let style = anchored(LABEL_EM_PX, HPos::Center, VPos::Top).color(&MUTED);
                let (label_w, _) = body.estimate_text_size(&label, &style).why()?;
                if label_w as i32 <= slot_px - 4 {
                    let (px, py) = chart.backend_coord(&(cx, y));
                    root.draw_text(&label, &style, (px, py + 10)).why()?;
                }
            }
        }
    }
    if !any_detection {
        let message = if rows.is_empty() {
            "no detection data: no fault took a broker out of service"
        } else {
            "no NameServer removed a broker within the run"
        };
        note(&chart.plotting_area().strip_coord_spec(), message)?;
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// convergence-cdf

/// Per fault of convergence.csv, in order of first appearance: its id, the sorted convergence
/// times and the number of clients (converged or not).
fn convergence_by_fault(rows: &[ConvergenceRow]) -> Vec<(&str, Vec<f64>, usize)> {
    let mut faults: Vec<(&str, Vec<f64>, usize)> = Vec::new();
    for row in rows {
        let index = match faults.iter().position(|(id, _, _)| *id == row.fault_id) {
            Some(i) => i,
            None => {
                faults.push((&row.fault_id, Vec::new(), 0));
                faults.len() - 1
            }
        };
        let (_, times, clients) = &mut faults[index];
        *clients += 1;
        if let Some(t) = row.convergence_s {
            times.push(t);
        }
    }
    for (_, times, _) in &mut faults {
        times.sort_by(f64::total_cmp);
    }
    faults
}

/// The x range of a convergence CDF over these sorted time lists.
fn cdf_x_range<'a>(curves: impl Iterator<Item = &'a [f64]> + Clone) -> (f64, f64) {
    let t_max = curves.clone().filter_map(|times| times.last().copied()).fold(0.0_f64, f64::max);
    let t_min = curves.filter_map(|times| times.first().copied()).fold(f64::INFINITY, f64::min);
    let x_right = if t_max > 0.0 { t_max * 1.08 } else { 10.0 };
    // Start near the first client rather than at the fault, when the fault's first tenth or
    // more is empty (a power-off: nobody converges before the idle close, ~95 s).
    let x_left = if t_min.is_finite() && t_min > 0.1 * t_max {
        let (ticks, _) = linear_ticks(0.0, t_min - 0.1 * (t_max - t_min), 12);
        ticks.into_iter().rfind(|t| *t < t_min - 0.05 * (t_max - t_min)).unwrap_or(0.0)
    } else {
        0.0
    };
    (x_left, x_right)
}

/// The axes of a convergence CDF: time since the fault against the fraction of clients.
fn cdf_chart<'a, DB: DrawingBackend>(
    body: &'a Root<DB>,
    (x_left, x_right): (f64, f64),
) -> Result<ChartContext<'a, DB, Cartesian2d<Axis, Axis>>, String> {
    let (x_ticks, x_decimals) = linear_ticks(x_left, x_right, 12);
    let x_labels = tick_labels(&x_ticks, x_decimals);
    let (y_ticks, y_decimals) = linear_ticks(0.0, 1.0, 5);
    let y_labels = tick_labels(&y_ticks, y_decimals);
    let x_fmt = |v: &f64| lookup(&x_labels, *v);
    let y_fmt = |v: &f64| lookup(&y_labels, *v);
    let mut chart = ChartBuilder::on(body)
        .margin(MARGIN_PX)
        .margin_right(MARGIN_PX * 2)
        .x_label_area_size(X_LABEL_AREA_PX)
        .y_label_area_size(70)
        .build_cartesian_2d(Axis::new(x_left..x_right, x_ticks.clone()), Axis::new(0.0..1.12, y_ticks.clone()))
        .why()?;
    chart
        .configure_mesh()
        .x_desc(if x_left > 0.0 {
            "time since the fault (s; the axis starts near the first client)"
        } else {
            "time since the fault (s)"
        })
        .y_desc("fraction of clients whose route dropped the subject")
        .x_label_formatter(&x_fmt)
        .y_label_formatter(&y_fmt)
        .label_style(text(LABEL_EM_PX))
        .axis_desc_style(text(DESC_EM_PX))
        .bold_line_style(GRID.stroke_width(1))
        .light_line_style(TRANSPARENT)
        .draw()
        .why()?;
    Ok(chart)
}

/// A CDF as a step function: flat until each client's time, then up by 1/clients; it stays
/// below 1 by the share of clients that never converged.
fn cdf_steps(times: &[f64], clients: usize, (x_left, x_right): (f64, f64)) -> Vec<(f64, f64)> {
    let n = clients as f64;
    let mut points = vec![(x_left, 0.0)];
    for (k, t) in times.iter().enumerate() {
        points.push((*t, k as f64 / n));
        points.push((*t, (k + 1) as f64 / n));
    }
    points.push((x_right, times.len() as f64 / n));
    points
}

fn convergence_cdf<DB: DrawingBackend>(root: &Root<DB>, run: &RunData) -> Drawn {
    let faults = convergence_by_fault(&run.convergence);
    let legend: Vec<LegendEntry> = faults
        .iter()
        .enumerate()
        .map(|(i, (id, times, clients))| {
            let never = clients - times.len();
            let label = if never == 0 {
                format!("{id}: all {clients} clients converged")
            } else {
                format!("{id}: {} of {clients} converged, {never} never", times.len())
            };
            entry(Swatch::Line(FAULT_COLORS[i % FAULT_COLORS.len()], 2), label)
        })
        .collect();
    let body = frame(root, &run_title(Chart::ConvergenceCdf, run), &legend, None)?;
    let x_range = cdf_x_range(faults.iter().map(|(_, times, _)| times.as_slice()));
    let (x_left, _) = x_range;
    let mut chart = cdf_chart(&body, x_range)?;
    for (i, (_, times, clients)) in faults.iter().enumerate() {
        let color = FAULT_COLORS[i % FAULT_COLORS.len()];
        chart.draw_series(LineSeries::new(cdf_steps(times, *clients, x_range), color.stroke_width(2))).why()?;
    }
    // The summary's p50 and p99 as marked lines, labelled above the curve.
    let label_style = anchored(LABEL_EM_PX, HPos::Left, VPos::Center);
    for (i, (id, _, _)) in faults.iter().enumerate() {
        let Some(conv) = run.summary.faults.iter().find(|f| f.id == *id).map(|f| f.convergence_s) else {
            continue;
        };
        let color = FAULT_COLORS[i % FAULT_COLORS.len()];
        for (name, value, level) in [("p50", conv.p50, 0.5), ("p99", conv.p99, 0.99)] {
            let Some(x) = value.filter(|x| *x >= x_left) else { continue };
            chart
                .draw_series(std::iter::once(DashedPathElement::new(
                    vec![(x, 0.0), (x, level)],
                    6,
                    4,
                    color.stroke_width(2),
                )))
                .why()?;
            chart.draw_series(std::iter::once(Circle::new((x, level), 5, color.filled()))).why()?;
            let (px, py) = chart.backend_coord(&(x, level));
            let label = format!("{name} {} s", num(x, 1));
            let (label_w, _) = body.estimate_text_size(&label, &label_style).why()?;
            // Left of the point (the curve rises to the right); right of it near the y axis.
            let left_x = px - 10 - label_w as i32;
            let text_x = if left_x > chart.backend_coord(&(x_left, 0.0)).0 + 4 { left_x } else { px + 10 };
            root.draw_text(&label, &label_style, (text_x, py)).why()?;
        }
    }
    if faults.is_empty() {
        note(
            &chart.plotting_area().strip_coord_spec(),
            "no convergence data: no client's route held a fault's subject",
        )?;
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// timeline

const UP: RGBColor = RGBColor(166, 219, 160);
const DOWN: RGBColor = RGBColor(190, 190, 190);
const PAUSED: RGBColor = RGBColor(253, 200, 120);
const PARTITIONED: RGBColor = RGBColor(194, 165, 207);
const OTHER_STATE: RGBColor = RGBColor(255, 255, 153);
const NOT_STARTED: RGBColor = RGBColor(238, 238, 238);
const UNLISTED: RGBColor = BLUE;
const STALE: RGBColor = VERMILLION;
/// The failover modes' role layer: a broker while it is its group's master.
const MASTER: RGBColor = RGBColor(0, 90, 50);

fn process_color(state: &str) -> RGBColor {
    match state {
        "up" => UP,
        "down" => DOWN,
        "paused" => PAUSED,
        "partitioned" => PARTITIONED,
        _ => OTHER_STATE,
    }
}

/// Each fault's slowest client (the last whose route dropped the fault's subject, as
/// summary.json's explain names it) with its stale interval from convergence.csv (to the end
/// of the run if it never converged). Empty when timeline.csv lists every client that held a
/// subject: then the chart shows them all.
fn slowest_clients(run: &RunData) -> Vec<TimelineRow> {
    let listed = |client: &str| run.timeline.iter().any(|r| r.role == Role::Producer && r.node == client);
    if run.convergence.iter().all(|c| listed(&c.client)) {
        return Vec::new();
    }
    let end_s = run.summary.duration_s;
    run.summary
        .faults
        .iter()
        .filter_map(|fault| {
            let slowest = fault.explain.as_ref()?.slowest_client.as_ref()?;
            let row = run.convergence.iter().find(|c| c.fault_id == fault.id && c.client == slowest.client);
            let until_s = match row {
                Some(row) => row.convergence_s.map_or(end_s, |c| fault.at_s + c),
                None => slowest.at_s,
            };
            Some(TimelineRow {
                node: slowest.client.clone(),
                role: Role::Producer,
                layer: Layer::Route,
                state: "stale".into(),
                start_s: fault.at_s,
                end_s: until_s.max(fault.at_s),
            })
        })
        .collect()
}

fn timeline<DB: DrawingBackend>(root: &Root<DB>, run: &RunData) -> Drawn {
    // With more clients than timeline.csv samples (the first eight), the sample says little
    // about the fault: the slowest client of each fault takes the clients' place.
    let slowest = slowest_clients(run);
    let rows: Vec<TimelineRow> = match slowest.is_empty() {
        true => run.timeline.clone(),
        false => {
            run.timeline.iter().filter(|r| r.role != Role::Producer).cloned().chain(slowest.iter().cloned()).collect()
        }
    };
    let rows = &rows;
    let mut nodes: Vec<(&str, Role)> = Vec::new();
    for row in rows {
        if !nodes.iter().any(|(n, _)| *n == row.node) {
            nodes.push((&row.node, row.role));
        }
    }
    let n_rows = nodes.len().max(1) as f64;
    let end_max = rows.iter().map(|r| r.end_s).fold(0.0_f64, f64::max);
    let duration_s = run.summary.duration_s.max(end_max);

    // A node is "down" in timeline.csv from 0 until it first starts; that is not an outage.
    let not_started = |row: &TimelineRow| {
        row.layer == Layer::Process
            && row.state == "down"
            && row.start_s == 0.0
            && rows.iter().any(|r| r.node == row.node && r.layer == Layer::Process && r.state == "up")
    };
    // All four process states are always listed, so legends read the same across runs.
    let mut legend = vec![
        entry(Swatch::Band(NOT_STARTED.to_rgba()), "not started yet"),
        entry(Swatch::Band(UP.to_rgba()), "up"),
        entry(Swatch::Band(DOWN.to_rgba()), "down"),
        entry(Swatch::Band(PAUSED.to_rgba()), "paused"),
        entry(Swatch::Band(PARTITIONED.to_rgba()), "partitioned"),
    ];
    if rows.iter().any(|r| r.layer == Layer::Process && process_color(&r.state) == OTHER_STATE) {
        legend.push(entry(Swatch::Band(OTHER_STATE.to_rgba()), "other state"));
    }
    legend.push(entry(Swatch::Line(UNLISTED, 5), "broker unlisted at a running NameServer"));
    legend.push(entry(
        Swatch::Line(STALE, 5),
        match slowest.is_empty() {
            true => "producer route still holds the fault's subject",
            false => "slowest client's route still holds the fault's subject",
        },
    ));
    if rows.iter().any(|r| r.layer == Layer::Route && r.state != "unlisted" && r.state != "stale") {
        legend.push(entry(Swatch::Line(MUTED, 5), "other route state"));
    }
    if rows.iter().any(|r| r.layer == Layer::Role) {
        legend.push(entry(Swatch::Line(MASTER, 5), "broker is its group's master"));
    }
    if !run.summary.faults.is_empty() {
        legend.push(entry(Swatch::Line(INK, 2), "fault"));
    }
    let body = frame(root, &run_title(Chart::Timeline, run), &legend, None)?;

    // Row r (0 = first node) spans y in [n - r - 1, n - r]; its label sits at the centre.
    let row_of = |node: &str| nodes.iter().position(|(n, _)| *n == node);
    let row_bottom = |r: usize| n_rows - r as f64 - 1.0;
    // With many nodes the rows get thinner than a line of text; then only every k-th row is
    // named (the plot height is estimated; the exact value is only known once built).
    let approx_row_px = (f64::from(body.dim_in_pixel().1) - 160.0).max(50.0) / n_rows;
    let label_every = ((LABEL_EM_PX * 1.2) / approx_row_px).ceil().max(1.0) as usize;
    let is_slowest = |node: &str| slowest.iter().any(|r| r.node == node);
    let name_of = |node: &str| match is_slowest(node) {
        true => format!("{node} (slowest)"),
        false => node.to_string(),
    };
    // A slowest client is always named; the rows named every k-th keep clear of it.
    let slowest_rows: Vec<usize> = (0..nodes.len()).filter(|&r| is_slowest(nodes[r].0)).collect();
    let named = |r: usize| {
        is_slowest(nodes[r].0)
            || (r.is_multiple_of(label_every) && slowest_rows.iter().all(|s| r.abs_diff(*s) >= label_every))
    };
    let y_labels: Vec<(f64, String)> = nodes
        .iter()
        .enumerate()
        .filter(|(r, _)| named(*r))
        .map(|(r, (node, _))| (row_bottom(r) + 0.5, name_of(node)))
        .collect();
    let y_keys: Vec<f64> = y_labels.iter().map(|(y, _)| *y).collect();
    let (x_ticks, x_decimals) = linear_ticks(0.0, duration_s, 12);
    let x_labels = tick_labels(&x_ticks, x_decimals);
    let x_fmt = |v: &f64| lookup(&x_labels, *v);
    let y_fmt = |v: &f64| lookup(&y_labels, *v);
    let mut widest_name_px = 0u32;
    for (node, _) in &nodes {
        widest_name_px = widest_name_px.max(body.estimate_text_size(&name_of(node), &text(LABEL_EM_PX)).why()?.0);
    }
    let y_label_area_px = widest_name_px + 20;

    let axes = (Axis::new(0.0..duration_s, x_ticks.clone()), Axis::new(0.0..n_rows, y_keys.clone()));
    let FaultStrip { strip, plot_area, marks, placed } =
        fault_strip(&body, &run.summary.faults, &full_view(duration_s), &axes, y_label_area_px)?;
    let mut chart = time_chart(&plot_area, 4, y_label_area_px, &axes)?;
    time_mesh(&mut chart, None, (&x_fmt, &y_fmt))?;

    for row in rows.iter().filter(|r| r.layer == Layer::Process) {
        let Some(r) = row_of(&row.node) else { continue };
        let y0 = row_bottom(r);
        chart
            .draw_series(std::iter::once(Rectangle::new(
                [(row.start_s, y0 + 0.14), (row.end_s, y0 + 0.86)],
                if not_started(row) { NOT_STARTED } else { process_color(&row.state) }.filled(),
            )))
            .why()?;
    }
    for row in rows.iter().filter(|r| r.layer == Layer::Route) {
        let Some(r) = row_of(&row.node) else { continue };
        let y0 = row_bottom(r);
        let color = match row.state.as_str() {
            "unlisted" => UNLISTED,
            "stale" => STALE,
            _ => MUTED,
        };
        chart
            .draw_series(std::iter::once(Rectangle::new(
                [(row.start_s, y0 + 0.40), (row.end_s, y0 + 0.60)],
                color.filled(),
            )))
            .why()?;
    }
    // The role layer: a dark strip along the bottom of the band while the broker is master.
    for row in rows.iter().filter(|r| r.layer == Layer::Role && r.state == "master") {
        let Some(r) = row_of(&row.node) else { continue };
        let y0 = row_bottom(r);
        chart
            .draw_series(std::iter::once(Rectangle::new(
                [(row.start_s, y0 + 0.14), (row.end_s, y0 + 0.28)],
                MASTER.filled(),
            )))
            .why()?;
    }
    // A rule between role groups (NameServers | brokers | producers).
    for r in 1..nodes.len() {
        if nodes[r].1 != nodes[r - 1].1 {
            let y = row_bottom(r - 1);
            chart
                .draw_series(std::iter::once(PathElement::new(vec![(0.0, y), (duration_s, y)], MUTED.stroke_width(1))))
                .why()?;
        }
    }
    let empty = nodes.is_empty().then_some("timeline.csv has no rows");
    finish_time_chart(root, &chart, (&strip, &marks, &placed), n_rows, empty)
}
