//! Charts and the HTML index of a finished run directory.
//!
//! This module owns turning the files described in docs/OUTPUT.md into pictures: it only reads
//! them (the simulator writes them) and adds, next to them, `failed-sends`, `fault-window`,
//! `detection`, `convergence-cdf`, `timeline` and `false-removals` as SVG and PNG, and `index.html`.
//!
//! Output must be byte-identical on every machine, so: text is measured and rasterised with the
//! bundled DejaVu Sans (never a system font; see `typeset`), every label is formatted here (never
//! by plotters' `{}` of a float), axis ticks are computed here, and the log-ish y scale uses a
//! logarithm made of basic float operations (see `numfmt`).

mod data;
mod draw;
mod html;
pub(crate) mod numfmt;
mod typeset;

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use plotters::prelude::*;
use plotters::style::FontStyle;

use data::RunData;

pub(crate) use html::{chart_files_item, escape, page_start};
use typeset::Typeset;

/// DejaVu Sans 2.37 (Bitstream Vera licence, see assets/fonts/LICENSE-DejaVu.txt).
static DEJAVU_SANS: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");

/// Fixed so the bytes never depend on a library default; pure-Rust deflate, same on every CPU.
const PNG_COMPRESSION: png::Compression = png::Compression::Default;

/// The family every chart asks for; the bundled font is registered under it.
pub(crate) const FONT_FAMILY: &str = "sans-serif";

/// Size of each picture in pixels (SVG user units are pixels too).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChartOptions {
    pub width_px: u32,
    pub height_px: u32,
}

impl Default for ChartOptions {
    fn default() -> Self {
        Self { width_px: 1200, height_px: 700 }
    }
}

/// What went wrong, always naming the file concerned.
#[derive(Debug, thiserror::Error)]
pub enum ChartError {
    #[error("{}: missing from the run directory", .path.display())]
    Missing { path: PathBuf },
    #[error("{}: cannot read: {source}", .path.display())]
    Read { path: PathBuf, source: std::io::Error },
    #[error("{}: malformed: {reason}", .path.display())]
    Malformed { path: PathBuf, reason: String },
    #[error("{}: cannot write: {source}", .path.display())]
    Write { path: PathBuf, source: std::io::Error },
    #[error("{}: drawing failed: {reason}", .path.display())]
    Draw { path: PathBuf, reason: String },
    #[error("chart size {width_px}x{height_px} px is outside 200x150 ..= 10000x10000")]
    Size { width_px: u32, height_px: u32 },
    #[error("the bundled font assets/fonts/DejaVuSans.ttf could not be loaded")]
    Font,
}

impl ChartError {
    /// The file the error is about, if any.
    pub fn path(&self) -> Option<&Path> {
        match self {
            Self::Missing { path }
            | Self::Read { path, .. }
            | Self::Malformed { path, .. }
            | Self::Write { path, .. }
            | Self::Draw { path, .. } => Some(path),
            Self::Size { .. } | Self::Font => None,
        }
    }
}

/// The charts in the order `draw_all` writes them; also the order in index.html.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Chart {
    FailedSends,
    FaultWindow,
    Detection,
    ConvergenceCdf,
    Timeline,
    FalseRemovals,
    /// Runs with consumers only (they have a `reads.csv`).
    ConsumeGap,
}

impl Chart {
    pub(crate) const ALL: [Chart; 7] = [
        Chart::FailedSends,
        Chart::FaultWindow,
        Chart::Detection,
        Chart::ConvergenceCdf,
        Chart::Timeline,
        Chart::FalseRemovals,
        Chart::ConsumeGap,
    ];

    /// Whether the run has what the chart draws.
    pub(crate) fn applies(self, run: &RunData) -> bool {
        self != Chart::ConsumeGap || run.reads.is_some()
    }

    pub(crate) fn stem(self) -> &'static str {
        match self {
            Chart::FailedSends => "failed-sends",
            Chart::FaultWindow => "fault-window",
            Chart::Detection => "detection",
            Chart::ConvergenceCdf => "convergence-cdf",
            Chart::Timeline => "timeline",
            Chart::FalseRemovals => "false-removals",
            Chart::ConsumeGap => "consume-gap",
        }
    }

    /// What the chart shows, for its title and the index's alt text.
    pub(crate) fn subject(self) -> &'static str {
        match self {
            Chart::FailedSends => "Attempts and failures per second",
            Chart::FaultWindow => "Around the first fault, second by second",
            Chart::Detection => "Broker removal latency per NameServer",
            Chart::ConvergenceCdf => "Client route convergence after each fault",
            Chart::Timeline => "Node states and stale routes",
            Chart::FalseRemovals => "Live brokers removed by a NameServer (false removals)",
            Chart::ConsumeGap => "Queues waiting for a reader, per consumer group",
        }
    }
}

/// The overlaid charts of `routesim compare`, in the order of its page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Overlay {
    FailedSends,
    ConvergenceCdf,
}

impl Overlay {
    pub const ALL: [Overlay; 2] = [Overlay::FailedSends, Overlay::ConvergenceCdf];

    pub fn stem(self) -> &'static str {
        match self {
            Overlay::FailedSends => "compare-failed-sends",
            Overlay::ConvergenceCdf => "compare-convergence-cdf",
        }
    }

    /// What the chart shows, for its title and the page's alt text.
    pub fn subject(self) -> &'static str {
        match self {
            Overlay::FailedSends => "Failed sends per second, one line per input",
            Overlay::ConvergenceCdf => "Client route convergence, one line per input and fault",
        }
    }
}

/// Registers the bundled font once per process; plotters keeps a global font table.
pub fn ensure_font() -> Result<(), ChartError> {
    static REGISTERED: OnceLock<bool> = OnceLock::new();
    let ok =
        *REGISTERED.get_or_init(|| plotters::style::register_font(FONT_FAMILY, FontStyle::Normal, DEJAVU_SANS).is_ok());
    if ok && typeset::font_ok() { Ok(()) } else { Err(ChartError::Font) }
}

/// Reads the run directory and writes every chart as `<name>.svg` and `<name>.png` into it.
/// Returns the written paths (SVG then PNG, per chart, in a fixed order). All input files are
/// read and checked before anything is written.
pub fn draw_all(run_dir: &Path, opts: &ChartOptions) -> Result<Vec<PathBuf>, ChartError> {
    if !(200..=10_000).contains(&opts.width_px) || !(150..=10_000).contains(&opts.height_px) {
        return Err(ChartError::Size { width_px: opts.width_px, height_px: opts.height_px });
    }
    ensure_font()?;
    let run = RunData::load(run_dir)?;
    let size = (opts.width_px, opts.height_px);
    let mut written = Vec::with_capacity(Chart::ALL.len() * 2);
    for chart in Chart::ALL.into_iter().filter(|c| c.applies(&run)) {
        written.extend(write_picture(run_dir, chart.stem(), &RunChart { chart, run: &run }, size)?);
    }
    Ok(written)
}

/// Writes `<stem>.svg` and `<stem>.png` of `picture` into `dir`; returns their paths.
pub(crate) fn write_picture(
    dir: &Path,
    stem: &str,
    picture: &impl Picture,
    size: (u32, u32),
) -> Result<[PathBuf; 2], ChartError> {
    let svg_path = dir.join(format!("{stem}.svg"));
    let svg = render_svg(picture, size).map_err(|reason| ChartError::Draw { path: svg_path.clone(), reason })?;
    fs::write(&svg_path, svg).map_err(|source| ChartError::Write { path: svg_path.clone(), source })?;
    let png_path = dir.join(format!("{stem}.png"));
    let png = render_png(picture, size).map_err(|reason| ChartError::Draw { path: png_path.clone(), reason })?;
    fs::write(&png_path, png).map_err(|source| ChartError::Write { path: png_path.clone(), source })?;
    Ok([svg_path, png_path])
}

/// Draws the overlaid charts of a comparison into `out_dir`, from the run directories of the
/// inputs that are runs (label, directory); every run's files are read and checked first.
pub fn draw_overlays(out_dir: &Path, runs: &[(&str, &Path)]) -> Result<Vec<PathBuf>, ChartError> {
    ensure_font()?;
    let loaded: Vec<(&str, RunData)> =
        runs.iter().map(|(label, dir)| RunData::load(dir).map(|run| (*label, run))).collect::<Result<_, _>>()?;
    let inputs: Vec<draw::Labelled> = loaded.iter().map(|(label, run)| draw::Labelled { label, run }).collect();
    let size = (ChartOptions::default().width_px, ChartOptions::default().height_px);
    let mut written = Vec::with_capacity(Overlay::ALL.len() * 2);
    for which in Overlay::ALL {
        written.extend(write_picture(out_dir, which.stem(), &OverlayChart { which, inputs: &inputs }, size)?);
    }
    Ok(written)
}

struct OverlayChart<'a> {
    which: Overlay,
    inputs: &'a [draw::Labelled<'a>],
}

impl Picture for OverlayChart<'_> {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, plotters::coord::Shift>) -> Result<(), String> {
        draw::draw_overlay(self.which, root, self.inputs)
    }
}

/// Writes `index.html` into the run directory: the summary tables from summary.json and the
/// SVG charts (by relative link, so the page works wherever the directory is copied).
pub fn write_index_html(run_dir: &Path) -> Result<PathBuf, ChartError> {
    let summary = data::read_summary(run_dir)?;
    let has_reads = run_dir.join(data::READS).is_file();
    let drawn: Vec<Chart> = Chart::ALL.into_iter().filter(|&c| c != Chart::ConsumeGap || has_reads).collect();
    let page = html::index_page(&summary, &drawn);
    let path = run_dir.join("index.html");
    fs::write(&path, page).map_err(|source| ChartError::Write { path: path.clone(), source })?;
    Ok(path)
}

/// Something drawn the same way into an SVG and a PNG: one function generic over the backend.
pub(crate) trait Picture {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, plotters::coord::Shift>) -> Result<(), String>;
}

struct RunChart<'a> {
    chart: Chart,
    run: &'a RunData,
}

impl Picture for RunChart<'_> {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, plotters::coord::Shift>) -> Result<(), String> {
        draw::draw(self.chart, root, self.run)
    }
}

pub(crate) fn render_svg(picture: &impl Picture, size: (u32, u32)) -> Result<String, String> {
    let mut svg = String::new();
    {
        let root = Typeset::vector(SVGBackend::with_string(&mut svg, size)).into_drawing_area();
        picture.draw(&root)?;
        root.present().map_err(|e| e.to_string())?;
    }
    Ok(svg)
}

/// Draws into an RGB buffer and encodes it here, with fixed encoder settings, rather than letting
/// plotters save through the `image` crate: the bytes then depend on nothing but the pixels.
pub(crate) fn render_png(picture: &impl Picture, size: (u32, u32)) -> Result<Vec<u8>, String> {
    let (width_px, height_px) = size;
    let mut rgb = vec![0u8; width_px as usize * height_px as usize * 3];
    {
        let root = Typeset::raster(BitMapBackend::with_buffer(&mut rgb, size)).into_drawing_area();
        picture.draw(&root)?;
        root.present().map_err(|e| e.to_string())?;
    }
    let mut png = Vec::new();
    let mut encoder = png::Encoder::new(&mut png, width_px, height_px);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    encoder.set_compression(PNG_COMPRESSION);
    let mut writer = encoder.write_header().map_err(|e| e.to_string())?;
    writer.write_image_data(&rgb).map_err(|e| e.to_string())?;
    writer.finish().map_err(|e| e.to_string())?;
    Ok(png)
}
