//! Small, dependency-free SVG charts for the eval reports: grouped bars and
//! step lines (a CDF), with axes, ticks, a legend and a title. Every chart is
//! one `<svg>` element with `class="chart"` and a `data-chart` name, so a
//! test can find each one in the rendered page.
//!
//! ```
//! use hearth_eval::svg::{Bars, bar_chart};
//! let svg = bar_chart(&Bars {
//!     name: "retrieval",
//!     title: "Retrieval by mode",
//!     series: vec!["nDCG@10".into()],
//!     groups: vec![("bm25".into(), vec![0.81]), ("hybrid".into(), vec![0.90])],
//!     y_max: 1.0,
//!     y_label: "score",
//! });
//! assert!(svg.starts_with("<svg") && svg.contains("hybrid"));
//! ```

use std::fmt::Write as _;

const WIDTH: f64 = 640.0;
const HEIGHT: f64 = 320.0;
const LEFT: f64 = 56.0;
const RIGHT: f64 = 150.0;
const TOP: f64 = 36.0;
const BOTTOM: f64 = 44.0;
/// Series colours (colour-blind-safe palette).
const COLOURS: [&str; 6] = [
    "#0072b2", "#e69f00", "#009e73", "#cc79a7", "#56b4e9", "#d55e00",
];

/// A grouped bar chart: one group per label, one bar per series.
#[derive(Debug, Clone)]
pub struct Bars<'a> {
    /// The `data-chart` name.
    pub name: &'a str,
    /// Title drawn above the chart.
    pub title: &'a str,
    /// Series names, in legend order; each group has one value per series.
    pub series: Vec<String>,
    /// Group label and one value per series.
    pub groups: Vec<(String, Vec<f64>)>,
    /// Top of the y axis; bars are clipped to it (1 when not positive).
    pub y_max: f64,
    /// Label of the y axis.
    pub y_label: &'a str,
}

/// Lines through points, drawn as steps (for a CDF) or straight.
#[derive(Debug, Clone)]
pub struct Lines<'a> {
    /// The `data-chart` name.
    pub name: &'a str,
    /// Title drawn above the chart.
    pub title: &'a str,
    /// Series name and its points, in x order.
    pub series: Vec<(String, Vec<(f64, f64)>)>,
    /// Label of the x axis.
    pub x_label: &'a str,
    /// Label of the y axis.
    pub y_label: &'a str,
    /// Draw each series as steps (a CDF) rather than straight segments.
    pub steps: bool,
}

/// Escapes text for SVG/HTML.
pub fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn open(out: &mut String, name: &str, title: &str) {
    let _ = write!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" class="chart" data-chart="{}" viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" height="{HEIGHT}" font-family="sans-serif" font-size="12"><text x="{}" y="20" font-size="15" font-weight="bold">{}</text>"#,
        escape(name),
        LEFT,
        escape(title)
    );
}

/// Axes, five y ticks from 0 to `y_max` and the axis labels.
fn axes(out: &mut String, y_max: f64, x_label: &str, y_label: &str) {
    let (x0, y0, x1, y1) = (LEFT, HEIGHT - BOTTOM, WIDTH - RIGHT, TOP);
    let _ = write!(
        out,
        r##"<line x1="{x0}" y1="{y0}" x2="{x1}" y2="{y0}" stroke="#333"/><line x1="{x0}" y1="{y0}" x2="{x0}" y2="{y1}" stroke="#333"/>"##
    );
    for i in 0..=4 {
        let v = y_max * f64::from(i) / 4.0;
        let y = y0 - (y0 - y1) * f64::from(i) / 4.0;
        let _ = write!(
            out,
            r##"<line x1="{x0}" y1="{y:.1}" x2="{x1}" y2="{y:.1}" stroke="#ddd"/><text x="{:.1}" y="{:.1}" text-anchor="end">{}</text>"##,
            x0 - 6.0,
            y + 4.0,
            tick(v)
        );
    }
    let _ = write!(
        out,
        r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">{}</text><text transform="translate(14 {:.1}) rotate(-90)" text-anchor="middle">{}</text>"#,
        (x0 + x1) / 2.0,
        HEIGHT - 8.0,
        escape(x_label),
        (y0 + y1) / 2.0,
        escape(y_label)
    );
}

fn legend(out: &mut String, names: &[&str]) {
    for (i, name) in names.iter().enumerate() {
        let y = TOP + 8.0 + 18.0 * i as f64;
        let x = WIDTH - RIGHT + 14.0;
        let _ = write!(
            out,
            r#"<rect x="{x}" y="{:.1}" width="12" height="12" fill="{}"/><text x="{:.1}" y="{:.1}">{}</text>"#,
            y - 10.0,
            COLOURS[i % COLOURS.len()],
            x + 18.0,
            y,
            escape(name)
        );
    }
}

fn tick(v: f64) -> String {
    if v == 0.0 || v.abs() >= 100.0 {
        format!("{v:.0}")
    } else if v.abs() >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

/// A grouped bar chart as one `<svg>` element.
pub fn bar_chart(chart: &Bars<'_>) -> String {
    let mut out = String::new();
    open(&mut out, chart.name, chart.title);
    let y_max = if chart.y_max > 0.0 { chart.y_max } else { 1.0 };
    axes(&mut out, y_max, "", chart.y_label);
    let (x0, y0) = (LEFT, HEIGHT - BOTTOM);
    let plot_w = WIDTH - RIGHT - LEFT;
    let plot_h = HEIGHT - BOTTOM - TOP;
    let groups = chart.groups.len().max(1) as f64;
    let group_w = plot_w / groups;
    let bar_w = group_w * 0.8 / chart.series.len().max(1) as f64;
    for (g, (label, values)) in chart.groups.iter().enumerate() {
        let gx = x0 + group_w * g as f64 + group_w * 0.1;
        for (s, &v) in values.iter().enumerate() {
            let h = (v.max(0.0) / y_max).min(1.0) * plot_h;
            let _ = write!(
                out,
                r#"<rect x="{:.1}" y="{:.1}" width="{:.1}" height="{h:.1}" fill="{}"><title>{}: {}</title></rect>"#,
                gx + bar_w * s as f64,
                y0 - h,
                bar_w * 0.92,
                COLOURS[s % COLOURS.len()],
                escape(label),
                tick(v)
            );
        }
        let _ = write!(
            out,
            r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">{}</text>"#,
            x0 + group_w * (g as f64 + 0.5),
            y0 + 16.0,
            escape(label)
        );
    }
    let names: Vec<&str> = chart.series.iter().map(String::as_str).collect();
    legend(&mut out, &names);
    out.push_str("</svg>");
    out
}

/// A line (or step) chart as one `<svg>` element; the axes start at 0.
pub fn line_chart(chart: &Lines<'_>) -> String {
    let mut out = String::new();
    open(&mut out, chart.name, chart.title);
    let points = chart.series.iter().flat_map(|(_, p)| p.iter());
    let (x_max, y_max) = points.fold((0f64, 0f64), |(x, y), p| (x.max(p.0), y.max(p.1)));
    let (x_max, y_max) = (
        if x_max > 0.0 { x_max } else { 1.0 },
        if y_max > 0.0 { y_max } else { 1.0 },
    );
    axes(&mut out, y_max, chart.x_label, chart.y_label);
    let (x0, y0) = (LEFT, HEIGHT - BOTTOM);
    let plot_w = WIDTH - RIGHT - LEFT;
    let plot_h = HEIGHT - BOTTOM - TOP;
    for i in 0..=4 {
        let v = x_max * f64::from(i) / 4.0;
        let _ = write!(
            out,
            r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">{}</text>"#,
            x0 + plot_w * f64::from(i) / 4.0,
            y0 + 16.0,
            tick(v)
        );
    }
    let px = |x: f64| x0 + x / x_max * plot_w;
    let py = |y: f64| y0 - y / y_max * plot_h;
    for (s, (_, pts)) in chart.series.iter().enumerate() {
        let mut d = String::new();
        let mut last_y = None;
        for (i, &(x, y)) in pts.iter().enumerate() {
            if i == 0 {
                let _ = write!(d, "M{:.1} {:.1}", px(x), py(y));
            } else {
                if chart.steps
                    && let Some(ly) = last_y
                {
                    let _ = write!(d, " L{:.1} {:.1}", px(x), py(ly));
                }
                let _ = write!(d, " L{:.1} {:.1}", px(x), py(y));
            }
            last_y = Some(y);
        }
        let _ = write!(
            out,
            r#"<path d="{d}" fill="none" stroke="{}" stroke-width="2"/>"#,
            COLOURS[s % COLOURS.len()]
        );
    }
    let names: Vec<&str> = chart.series.iter().map(|(n, _)| n.as_str()).collect();
    legend(&mut out, &names);
    out.push_str("</svg>");
    out
}

/// The empirical CDF of `values` as points (value, share ≤ value), starting
/// at (0, 0).
pub fn cdf(values: &[f64]) -> Vec<(f64, f64)> {
    let mut sorted: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
    sorted.sort_by(f64::total_cmp);
    let n = sorted.len().max(1) as f64;
    std::iter::once((0.0, 0.0))
        .chain(
            sorted
                .iter()
                .enumerate()
                .map(|(i, &v)| (v, (i + 1) as f64 / n)),
        )
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn charts_are_well_formed_and_escaped() {
        let svg = line_chart(&Lines {
            name: "latency",
            title: "Latency <CDF>",
            series: vec![("local & cloud".into(), cdf(&[3.0, 1.0, 2.0]))],
            x_label: "seconds",
            y_label: "share",
            steps: true,
        });
        assert!(svg.contains("Latency &lt;CDF&gt;") && svg.contains("local &amp; cloud"));
        assert_eq!(svg.matches("<svg").count(), 1);
        assert!(svg.ends_with("</svg>"));
        assert!(svg.contains("<path d=\"M"));
        assert_eq!(cdf(&[3.0, 1.0]), [(0.0, 0.0), (1.0, 0.5), (3.0, 1.0)]);
        let bars = bar_chart(&Bars {
            name: "b",
            title: "t",
            series: vec!["a".into(), "b".into()],
            groups: vec![("g".into(), vec![0.5, 2.0])],
            y_max: 1.0,
            y_label: "",
        });
        // Two bars, the second clipped to the plot.
        assert_eq!(bars.matches("<rect").count(), 2 + 2);
        assert!(!bars.contains("height=\"-"));
    }
}
