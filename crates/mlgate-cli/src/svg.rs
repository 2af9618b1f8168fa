//! Small hand-written SVG charts for the HTML pages (`mlgate report`, `mlgate plot`):
//! a plot area with axes, tick labels, units and a title, and the few marks the pages draw.
//! Pure functions returning strings; every text is escaped.

use std::fmt::Write;

/// `&`, `<`, `>`, `"` and `'` escaped, for text and attribute values alike.
pub fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Series colours, told apart in print by their dash patterns too.
pub const COLORS: [&str; 6] = [
    "#1f5fa8", "#c2410c", "#15803d", "#7e22ce", "#a16207", "#0f766e",
];
/// Dash patterns that go with [`COLORS`].
pub const DASHES: [&str; 6] = ["", "6 3", "2 2", "8 3 2 3", "1 3", "10 4"];

/// Evenly spaced round tick values covering `[lo, hi]` (about `n` of them).
pub fn ticks(lo: f64, hi: f64, n: usize) -> Vec<f64> {
    if !(lo.is_finite() && hi.is_finite()) || hi <= lo {
        return vec![lo];
    }
    let raw = (hi - lo) / n.max(1) as f64;
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 2.5, 5.0, 10.0]
        .iter()
        .map(|m| m * mag)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * mag);
    let first = (lo / step).ceil() * step;
    (0..)
        .map(|i| first + step * i as f64)
        .take_while(|v| *v <= hi + step * 1e-9)
        .take(50)
        .collect()
}

/// A tick label with as many decimals as the step needs.
pub fn tick_label(v: f64, ticks: &[f64]) -> String {
    let step = match ticks {
        [a, b, ..] => (b - a).abs(),
        _ => v.abs().max(1.0),
    };
    let mut decimals = if step >= 1.0 {
        0
    } else {
        (-step.log10()).ceil() as usize
    };
    while decimals < 6 {
        let scaled = step * 10f64.powi(decimals as i32);
        if (scaled.round() - scaled).abs() < 1e-6 {
            break;
        }
        decimals += 1;
    }
    format!("{v:.decimals$}")
}

/// `v` rounded to `digits` significant digits (a tick label on a logarithmic axis).
pub fn round_sig(v: f64, digits: i32) -> f64 {
    if v == 0.0 || !v.is_finite() {
        return v;
    }
    let scale = 10f64.powi(digits - 1 - v.abs().log10().floor() as i32);
    (v * scale).round() / scale
}

/// A plot area: data ranges mapped into a fixed-size SVG with room for the axes.
pub struct Chart {
    pub width: f64,
    pub height: f64,
    left: f64,
    right: f64,
    top: f64,
    bottom: f64,
    pub x: (f64, f64),
    pub y: (f64, f64),
    /// Where the x ticks go, when not evenly spaced (a logarithmic axis).
    x_ticks: Option<Vec<f64>>,
    body: String,
}

impl Chart {
    /// A chart of `width × height` pixels over the data ranges `x` and `y` (empty ranges are
    /// widened so nothing divides by zero).
    pub fn new(width: f64, height: f64, x: (f64, f64), y: (f64, f64)) -> Chart {
        let widen = |(lo, hi): (f64, f64)| {
            if !(lo.is_finite() && hi.is_finite()) {
                (0.0, 1.0)
            } else if hi > lo {
                (lo, hi)
            } else {
                let pad = if lo == 0.0 { 1.0 } else { lo.abs() * 0.05 };
                (lo - pad, hi + pad)
            }
        };
        Chart {
            width,
            height,
            left: 64.0,
            right: 16.0,
            top: 34.0,
            bottom: 46.0,
            x: widen(x),
            y: widen(y),
            x_ticks: None,
            body: String::new(),
        }
    }

    /// Puts the x ticks at these data values instead of evenly spaced round ones.
    pub fn set_x_ticks(&mut self, ticks: Vec<f64>) {
        self.x_ticks = Some(ticks);
    }

    /// Pixel x of a data value.
    pub fn px(&self, v: f64) -> f64 {
        let (lo, hi) = self.x;
        self.left + (v - lo) / (hi - lo) * (self.width - self.left - self.right)
    }

    /// Pixel y of a data value.
    pub fn py(&self, v: f64) -> f64 {
        let (lo, hi) = self.y;
        self.height - self.bottom - (v - lo) / (hi - lo) * (self.height - self.top - self.bottom)
    }

    /// Top and bottom of the plot area, in pixels.
    pub fn plot_top(&self) -> f64 {
        self.top
    }
    pub fn plot_bottom(&self) -> f64 {
        self.height - self.bottom
    }

    /// A data-space rectangle, clipped to the plot's y range.
    pub fn rect(&mut self, x0: f64, x1: f64, y0: f64, y1: f64, attrs: &str) {
        let clamp = |v: f64| v.clamp(self.x.0, self.x.1);
        let (a, b) = (self.px(clamp(x0.min(x1))), self.px(clamp(x0.max(x1))));
        let (c, d) = (self.py(y0.max(y1)), self.py(y0.min(y1)));
        let _ = write!(
            self.body,
            r#"<rect x="{a:.1}" y="{c:.1}" width="{:.1}" height="{:.1}" {attrs}/>"#,
            (b - a).max(0.5),
            (d - c).max(0.0)
        );
    }

    /// A vertical line at data x across the plot.
    pub fn vline(&mut self, x: f64, attrs: &str) {
        let px = self.px(x);
        let _ = write!(
            self.body,
            r#"<line x1="{px:.1}" x2="{px:.1}" y1="{:.1}" y2="{:.1}" {attrs}/>"#,
            self.plot_top(),
            self.plot_bottom()
        );
    }

    /// A horizontal line at data y across the plot.
    pub fn hline(&mut self, y: f64, attrs: &str) {
        let py = self.py(y);
        let _ = write!(
            self.body,
            r#"<line x1="{:.1}" x2="{:.1}" y1="{py:.1}" y2="{py:.1}" {attrs}/>"#,
            self.left,
            self.width - self.right
        );
    }

    /// A polyline through data points.
    pub fn polyline(&mut self, points: &[(f64, f64)], attrs: &str) {
        let pts: Vec<String> = points
            .iter()
            .map(|(x, y)| format!("{:.1},{:.1}", self.px(*x), self.py(*y)))
            .collect();
        let _ = write!(
            self.body,
            r#"<polyline points="{}" fill="none" {attrs}/>"#,
            pts.join(" ")
        );
    }

    /// A closed polygon through data points.
    pub fn polygon(&mut self, points: &[(f64, f64)], attrs: &str) {
        let pts: Vec<String> = points
            .iter()
            .map(|(x, y)| format!("{:.1},{:.1}", self.px(*x), self.py(*y)))
            .collect();
        let _ = write!(
            self.body,
            r#"<polygon points="{}" {attrs}/>"#,
            pts.join(" ")
        );
    }

    /// A dot at a data point, with a tooltip.
    pub fn dot(&mut self, x: f64, y: f64, r: f64, attrs: &str, tip: &str) {
        let _ = write!(
            self.body,
            r#"<circle cx="{:.1}" cy="{:.1}" r="{r}" {attrs}><title>{}</title></circle>"#,
            self.px(x),
            self.py(y),
            esc(tip)
        );
    }

    /// Text at a data point.
    pub fn label(&mut self, x: f64, y: f64, dx: f64, dy: f64, text: &str, attrs: &str) {
        let _ = write!(
            self.body,
            r#"<text x="{:.1}" y="{:.1}" font-size="11" {attrs}>{}</text>"#,
            self.px(x) + dx,
            self.py(y) + dy,
            esc(text)
        );
    }

    /// The finished SVG: title, grid, the marks, axes with tick labels and axis titles.
    /// `x_label` formats an x tick (`None`: numbers).
    pub fn finish(
        self,
        title: &str,
        x_title: &str,
        y_title: &str,
        x_label: Option<&dyn Fn(f64) -> String>,
    ) -> String {
        let mut s = String::new();
        let _ = write!(
            s,
            r#"<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" viewBox="0 0 {w} {h}" width="{w}" height="{h}" font-family="system-ui, sans-serif"><title>{t}</title>"#,
            w = self.width,
            h = self.height,
            t = esc(title)
        );
        let _ = write!(
            s,
            r#"<text x="{:.1}" y="18" font-size="13" font-weight="600">{}</text>"#,
            self.left,
            esc(title)
        );
        let (x0, x1) = (self.left, self.width - self.right);
        let (y0, y1) = (self.plot_top(), self.plot_bottom());
        let xt = self
            .x_ticks
            .clone()
            .unwrap_or_else(|| ticks(self.x.0, self.x.1, 6));
        let yt = ticks(self.y.0, self.y.1, 5);
        for v in &yt {
            let py = self.py(*v);
            let _ = write!(
                s,
                "<line x1=\"{x0:.1}\" x2=\"{x1:.1}\" y1=\"{py:.1}\" y2=\"{py:.1}\" stroke=\"#e5e7eb\"/>\
                 <text x=\"{:.1}\" y=\"{:.1}\" font-size=\"11\" text-anchor=\"end\">{}</text>",
                x0 - 6.0,
                py + 4.0,
                esc(&tick_label(*v, &yt))
            );
        }
        s.push_str(&self.body);
        for v in &xt {
            let px = self.px(*v);
            let text = match x_label {
                Some(f) => f(*v),
                None => tick_label(*v, &xt),
            };
            let _ = write!(
                s,
                "<line x1=\"{px:.1}\" x2=\"{px:.1}\" y1=\"{y1:.1}\" y2=\"{:.1}\" stroke=\"#374151\"/>\
                 <text x=\"{px:.1}\" y=\"{:.1}\" font-size=\"11\" text-anchor=\"middle\">{}</text>",
                y1 + 4.0,
                y1 + 17.0,
                esc(&text)
            );
        }
        let _ = write!(
            s,
            "<path d=\"M{x0:.1},{y0:.1} V{y1:.1} H{x1:.1}\" fill=\"none\" stroke=\"#374151\"/>\
             <text x=\"{:.1}\" y=\"{:.1}\" font-size=\"12\" text-anchor=\"middle\">{}</text>\
             <text transform=\"translate(14 {:.1}) rotate(-90)\" font-size=\"12\" text-anchor=\"middle\">{}</text></svg>",
            (x0 + x1) / 2.0,
            self.height - 8.0,
            esc(x_title),
            (y0 + y1) / 2.0,
            esc(y_title)
        );
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_are_round_and_cover_the_range() {
        assert_eq!(ticks(0.0, 10.0, 5), [0.0, 2.0, 4.0, 6.0, 8.0, 10.0]);
        let t = ticks(1.23, 1.87, 5);
        assert!(t.iter().all(|v| (1.23..=1.87).contains(v)), "{t:?}");
        assert_eq!(tick_label(1.25, &[1.25, 1.5]), "1.25");
        assert_eq!(tick_label(2.0, &[0.0, 2.0]), "2");
        assert_eq!(ticks(3.0, 3.0, 5), [3.0]);
    }

    #[test]
    fn significant_digits_round_ticks_of_a_log_axis() {
        assert_eq!(round_sig(10f64.powf(std::f64::consts::LOG10_2), 3), 2.0);
        assert_eq!(round_sig(123.456, 3), 123.0);
        assert_eq!(round_sig(0.012345, 2), 0.012);
    }

    #[test]
    fn charts_escape_text_and_close_their_svg() {
        let mut c = Chart::new(300.0, 200.0, (0.0, 1.0), (0.0, 0.0));
        c.dot(0.5, 0.0, 3.0, "fill=\"red\"", "a<b & \"c\"");
        let svg = c.finish("t<1>", "x (ms)", "y", None);
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
        assert!(svg.contains("a&lt;b &amp; &quot;c&quot;") && svg.contains("t&lt;1&gt;"));
        assert!(!svg.contains("NaN") && !svg.contains("inf"), "{svg}");
    }
}
