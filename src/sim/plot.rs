//! A small SVG writer for frontiers: two panels, label misses against p99 and against
//! p50 latency; each series a polyline (a sweep) or a marker (a single policy).

use std::fmt::Write;

/// One result on the frontier.
#[derive(Debug, Clone)]
pub struct Point {
    /// Written next to the marker (the swept value); empty for none.
    pub label: String,
    pub misses: f64,
    pub p50: f64,
    pub p99: f64,
}

#[derive(Debug, Clone)]
pub struct Series {
    pub name: String,
    /// Join the points with a line (a sweep) rather than marking them alone.
    pub line: bool,
    pub points: Vec<Point>,
}

#[derive(Debug, Clone)]
pub struct Plot {
    pub title: String,
    pub series: Vec<Series>,
}

const COLOURS: [&str; 6] = [
    "#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b",
];
const PANEL_W: f64 = 380.0;
const PANEL_H: f64 = 280.0;
const MARGIN_L: f64 = 60.0;
const TOP: f64 = 50.0;

/// `[lo, hi]` widened by 8% on each side (and made non-empty).
fn range(values: impl Iterator<Item = f64>) -> (f64, f64) {
    let (lo, hi) = values.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
        (lo.min(v), hi.max(v))
    });
    if !lo.is_finite() {
        return (0.0, 1.0);
    }
    let pad = ((hi - lo) * 0.08).max(0.05);
    (lo - pad, hi + pad)
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

impl Plot {
    pub fn to_svg(&self) -> String {
        let all = || self.series.iter().flat_map(|s| s.points.iter());
        let x = range(all().map(|p| p.misses).chain([0.0]));
        let legend_h = 18.0 * self.series.len() as f64;
        let width = MARGIN_L + 2.0 * (PANEL_W + MARGIN_L);
        let height = TOP + PANEL_H + 50.0 + legend_h;
        let mut svg = String::new();
        // Writing to a String cannot fail.
        let _ = writeln!(
            svg,
            r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif" font-size="12">"#
        );
        let _ = writeln!(
            svg,
            r#"<rect width="100%" height="100%" fill="white"/><text x="{}" y="22" font-size="15" text-anchor="middle">{}</text>"#,
            width / 2.0,
            escape(&self.title)
        );
        type Pick = fn(&Point) -> f64;
        let panels: [(&str, Pick); 2] = [
            ("p99 latency (s)", |p| p.p99),
            ("p50 latency (s)", |p| p.p50),
        ];
        for (i, (name, pick)) in panels.into_iter().enumerate() {
            let left = MARGIN_L + i as f64 * (PANEL_W + MARGIN_L);
            let y = range(all().map(pick));
            let sx = |v: f64| left + (v - x.0) / (x.1 - x.0) * PANEL_W;
            let sy = |v: f64| TOP + PANEL_H - (v - y.0) / (y.1 - y.0) * PANEL_H;
            let _ = writeln!(
                svg,
                r##"<rect x="{left}" y="{TOP}" width="{PANEL_W}" height="{PANEL_H}" fill="none" stroke="#444"/>"##
            );
            for k in 0..=4 {
                let (vx, vy) = (
                    x.0 + (x.1 - x.0) * f64::from(k) / 4.0,
                    y.0 + (y.1 - y.0) * f64::from(k) / 4.0,
                );
                let _ = writeln!(
                    svg,
                    r##"<text x="{:.1}" y="{:.1}" text-anchor="middle" fill="#444">{vx:.0}</text><text x="{:.1}" y="{:.1}" text-anchor="end" fill="#444">{vy:.2}</text>"##,
                    sx(vx),
                    TOP + PANEL_H + 15.0,
                    left - 5.0,
                    sy(vy) + 4.0
                );
            }
            let _ = writeln!(
                svg,
                r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">label misses</text><text x="{:.1}" y="{:.1}" text-anchor="middle">{name}</text>"#,
                left + PANEL_W / 2.0,
                TOP + PANEL_H + 32.0,
                left + PANEL_W / 2.0,
                TOP - 6.0
            );
            for (s, series) in self.series.iter().enumerate() {
                let colour = COLOURS[s % COLOURS.len()];
                if series.line && series.points.len() > 1 {
                    let path: Vec<String> = series
                        .points
                        .iter()
                        .map(|p| format!("{:.1},{:.1}", sx(p.misses), sy(pick(p))))
                        .collect();
                    let _ = writeln!(
                        svg,
                        r#"<polyline points="{}" fill="none" stroke="{colour}" stroke-width="2"/>"#,
                        path.join(" ")
                    );
                }
                for p in &series.points {
                    let (cx, cy) = (sx(p.misses), sy(pick(p)));
                    let _ = writeln!(
                        svg,
                        r#"<circle cx="{cx:.1}" cy="{cy:.1}" r="4" fill="{colour}"/>"#
                    );
                    if !p.label.is_empty() {
                        let _ = writeln!(
                            svg,
                            r#"<text x="{:.1}" y="{:.1}" font-size="10" fill="{colour}">{}</text>"#,
                            cx + 5.0,
                            cy - 5.0,
                            escape(&p.label)
                        );
                    }
                }
            }
        }
        for (s, series) in self.series.iter().enumerate() {
            let colour = COLOURS[s % COLOURS.len()];
            let ly = TOP + PANEL_H + 50.0 + 18.0 * s as f64;
            let _ = writeln!(
                svg,
                r#"<circle cx="{:.1}" cy="{:.1}" r="4" fill="{colour}"/><text x="{:.1}" y="{:.1}">{}</text>"#,
                MARGIN_L + 5.0,
                ly - 4.0,
                MARGIN_L + 15.0,
                ly,
                escape(&series.name)
            );
        }
        svg.push_str("</svg>\n");
        svg
    }
}
