//! Text measurement and rasterisation with the bundled font, wrapped around a plotters backend.
//!
//! Why not plotters' own `ab_glyph` text path: it drops each glyph's left side bearing and
//! truncates the pen position to whole pixels, so narrow letters collide ("client" reads as
//! "dient"); its glyph size does not match the `font-size` the SVG backend writes; and it puts
//! the baseline half a size below the anchor whatever the requested vertical alignment. This
//! wrapper measures every string with the SVG's em (so SVG and PNG layouts agree), and for raster
//! output draws the glyphs itself at sub-pixel pen positions. For raster output it also strokes
//! wide polylines segment by segment (see `draw_path`). Everything else is passed to the inner
//! backend.

use std::sync::OnceLock;

use ab_glyph::{Font, FontRef, PxScale, ScaleFont, point};
use plotters_backend::text_anchor::{HPos, VPos};
use plotters_backend::{BackendColor, BackendCoord, BackendStyle, BackendTextStyle, DrawingBackend, DrawingErrorKind};

use super::DEJAVU_SANS;

fn font() -> Option<&'static FontRef<'static>> {
    static FONT: OnceLock<Option<FontRef<'static>>> = OnceLock::new();
    FONT.get_or_init(|| FontRef::try_from_slice(DEJAVU_SANS).ok()).as_ref()
}

/// Whether the bundled font parses; checked once before drawing so that a broken asset is a
/// clear error instead of silently missing text.
pub(crate) fn font_ok() -> bool {
    font().is_some()
}

/// plotters' text sizes are 1.24 × the em: its SVG backend writes `font-size` = size / 1.24.
pub(crate) const SIZE_PER_EM: f64 = 1.24;

/// The glyph scale for a plotters text `size`, so that the em matches the SVG's `font-size`.
fn scale_for(font: &FontRef<'static>, size: f64) -> PxScale {
    let em_px = (size / SIZE_PER_EM) as f32;
    // ab_glyph scales by the font's height (ascent − descent), not by the em; its own
    // `pt_to_px_scale` also assumes 96 dpi points, which is not what SVG's px means.
    match font.units_per_em() {
        Some(units_per_em) if units_per_em > 0.0 => PxScale::from(em_px * font.height_unscaled() / units_per_em),
        _ => PxScale::from(em_px),
    }
}

/// Advance width of `text` (with kerning), and the line height (ascent − descent), in pixels.
fn measure(font: &FontRef<'static>, scale: PxScale, text: &str) -> (f32, f32) {
    let scaled = font.as_scaled(scale);
    let mut width = 0.0_f32;
    let mut prev = None;
    for c in text.chars() {
        let id = scaled.glyph_id(c);
        if let Some(p) = prev {
            width += scaled.kern(p, id);
        }
        width += scaled.h_advance(id);
        prev = Some(id);
    }
    (width, scaled.ascent() - scaled.descent())
}

/// A backend whose text is measured (and, for rasters, drawn) with the bundled font.
pub(crate) struct Typeset<B> {
    inner: B,
    raster: bool,
}

impl<B> Typeset<B> {
    /// For vector backends (SVG): text stays text; only measurement changes.
    pub(crate) fn vector(inner: B) -> Self {
        Self { inner, raster: false }
    }

    /// For pixel backends: glyphs are rasterised here.
    pub(crate) fn raster(inner: B) -> Self {
        Self { inner, raster: true }
    }
}

type Drawn<E> = Result<(), DrawingErrorKind<E>>;

/// Whether `b` lies on the way from `a` to `c` (so dropping `b` leaves the path's shape alone).
fn between(a: i32, b: i32, c: i32) -> bool {
    (a <= b && b <= c) || (a >= b && b >= c)
}

impl<B: DrawingBackend> DrawingBackend for Typeset<B> {
    type ErrorType = B::ErrorType;

    fn get_size(&self) -> (u32, u32) {
        self.inner.get_size()
    }

    fn ensure_prepared(&mut self) -> Drawn<B::ErrorType> {
        self.inner.ensure_prepared()
    }

    fn present(&mut self) -> Drawn<B::ErrorType> {
        self.inner.present()
    }

    fn draw_pixel(&mut self, point: BackendCoord, color: BackendColor) -> Drawn<B::ErrorType> {
        self.inner.draw_pixel(point, color)
    }

    fn draw_line<S: BackendStyle>(&mut self, from: BackendCoord, to: BackendCoord, style: &S) -> Drawn<B::ErrorType> {
        self.inner.draw_line(from, to, style)
    }

    fn draw_rect<S: BackendStyle>(
        &mut self,
        upper_left: BackendCoord,
        bottom_right: BackendCoord,
        style: &S,
        fill: bool,
    ) -> Drawn<B::ErrorType> {
        self.inner.draw_rect(upper_left, bottom_right, style, fill)
    }

    fn draw_path<S: BackendStyle, I: IntoIterator<Item = BackendCoord>>(
        &mut self,
        path: I,
        style: &S,
    ) -> Drawn<B::ErrorType> {
        if !self.raster || style.stroke_width() <= 1 {
            return self.inner.draw_path(path, style);
        }
        // plotters outlines a wide polyline with unlimited miter joins, so a noisy series
        // (sharp up-down zigzags) grows spikes far outside the plot. Stroking each segment on
        // its own has no joins, hence no spikes; at these widths the seams do not show.
        let mut points: Vec<BackendCoord> = Vec::new();
        for p in path {
            // Merge runs along one pixel row or column into a single segment, so flat stretches
            // have no seams at all.
            if let [.., a, b] = points[..]
                && ((a.1 == b.1 && b.1 == p.1 && between(a.0, b.0, p.0))
                    || (a.0 == b.0 && b.0 == p.0 && between(a.1, b.1, p.1)))
            {
                points.pop();
            }
            if points.last() != Some(&p) {
                points.push(p);
            }
        }
        if points.len() < 2 {
            return self.inner.draw_path(points, style);
        }
        for pair in points.windows(2) {
            self.inner.draw_path([pair[0], pair[1]], style)?;
        }
        Ok(())
    }

    fn draw_circle<S: BackendStyle>(
        &mut self,
        center: BackendCoord,
        radius: u32,
        style: &S,
        fill: bool,
    ) -> Drawn<B::ErrorType> {
        self.inner.draw_circle(center, radius, style, fill)
    }

    fn fill_polygon<S: BackendStyle, I: IntoIterator<Item = BackendCoord>>(
        &mut self,
        vert: I,
        style: &S,
    ) -> Drawn<B::ErrorType> {
        self.inner.fill_polygon(vert, style)
    }

    fn blit_bitmap(&mut self, pos: BackendCoord, size: (u32, u32), src: &[u8]) -> Drawn<B::ErrorType> {
        self.inner.blit_bitmap(pos, size, src)
    }

    fn estimate_text_size<S: BackendTextStyle>(
        &self,
        text: &str,
        style: &S,
    ) -> Result<(u32, u32), DrawingErrorKind<B::ErrorType>> {
        let Some(font) = font() else {
            return self.inner.estimate_text_size(text, style);
        };
        let (w, h) = measure(font, scale_for(font, style.size()), text);
        Ok((w.ceil() as u32, h.ceil() as u32))
    }

    fn draw_text<S: BackendTextStyle>(&mut self, text: &str, style: &S, pos: BackendCoord) -> Drawn<B::ErrorType> {
        let font = match font() {
            Some(font) if self.raster => font,
            _ => return self.inner.draw_text(text, style, pos),
        };
        let color = style.color();
        if color.alpha == 0.0 {
            return Ok(());
        }
        let scale = scale_for(font, style.size());
        let scaled = font.as_scaled(scale);
        let (width, _) = measure(font, scale, text);
        // Offsets of the baseline's left end from the anchor, in the text's own (unrotated)
        // frame; the rotation is applied per pixel below, as plotters does.
        let origin_x = match style.anchor().h_pos {
            HPos::Left => 0.0,
            HPos::Center => -width / 2.0,
            HPos::Right => -width,
        };
        let baseline_y = match style.anchor().v_pos {
            VPos::Top => scaled.ascent(),
            VPos::Center => (scaled.ascent() + scaled.descent()) / 2.0,
            VPos::Bottom => scaled.descent(),
        };
        let transform = style.transform();
        let (w, h) = self.inner.get_size();
        let mut caret = origin_x;
        let mut prev = None;
        for c in text.chars() {
            let id = scaled.glyph_id(c);
            if let Some(p) = prev {
                caret += scaled.kern(p, id);
            }
            prev = Some(id);
            let glyph = id.with_scale_and_position(scale, point(caret, baseline_y));
            caret += scaled.h_advance(id);
            let Some(outline) = font.outline_glyph(glyph) else {
                continue; // whitespace has no outline
            };
            let bounds = outline.px_bounds();
            let (x0, y0) = (bounds.min.x as i32, bounds.min.y as i32);
            let mut pixels = Vec::new();
            outline.draw(|x, y, coverage| {
                if coverage > 0.0 {
                    pixels.push((x0 + x as i32, y0 + y as i32, coverage.min(1.0)));
                }
            });
            for (x, y, coverage) in pixels {
                let (dx, dy) = transform.transform(x, y);
                let (px, py) = (pos.0 + dx, pos.1 + dy);
                if px >= 0 && py >= 0 && px < w as i32 && py < h as i32 {
                    self.inner.draw_pixel(
                        (px, py),
                        BackendColor { alpha: color.alpha * f64::from(coverage), rgb: color.rgb },
                    )?;
                }
            }
        }
        Ok(())
    }
}
