//! Reports over a run's Parquet files: a Markdown summary and a
//! self-contained HTML page with SVG charts (retrieval metrics by mode,
//! the routing split, the latency CDF per tier, and the router sweep's
//! accuracy against the share sent to the strong tier), and the comparison of two runs that flags regressions beyond the
//! first run's confidence interval.
//!
//! ```no_run
//! use hearth_eval::report::Report;
//! let report = Report::load("/home/me/.local/share/hearth/eval/runs/20261202-0812-demo".as_ref(), 42)?;
//! std::fs::write("report.md", report.markdown()).unwrap();
//! std::fs::write("report.html", report.html()).unwrap();
//! # Ok::<(), hearth_eval::EvalError>(())
//! ```

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use polars::prelude::*;
use serde::Serialize;

use crate::EvalError;
use crate::answers::{ASSISTANT_FILE, AnswerSummary, ROUTED, summarise_answers};
use crate::results::{
    RETRIEVAL_FILE, RetrievalSummary, RunInfo, read_run_info, summarise_retrieval,
};
use crate::routing::{GATE_OPTION, ROUTING_FILE, RoutingSummary, read_routing, summarise_routing};
use crate::svg::{Bars, Lines, bar_chart, cdf, escape, line_chart};

/// A run's context and aggregates, ready to render.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// The run's context from `run.json`.
    pub info: RunInfo,
    /// Retrieval metrics per search mode; empty when the run has no retrieval file.
    pub retrieval: BTreeMap<String, RetrievalSummary>,
    /// The assistant part per configuration (routed, or forced onto a tier).
    pub assistant: BTreeMap<String, AnswerSummary>,
    /// The routing suite's accuracy per tier and gate sweep.
    pub routing: Option<RoutingSummary>,
    /// Latencies (ms) of the assistant's answers: per forced tier, and per
    /// tier chosen under routing.
    #[serde(skip)]
    latencies: BTreeMap<String, Vec<f64>>,
}

use crate::polars_error as pl;

impl Report {
    /// Reads the run in `dir` (`run.json` and whichever Parquet files it has).
    pub fn load(dir: &Path, seed: u64) -> Result<Self, EvalError> {
        let info = read_run_info(dir)?;
        let retrieval_path = dir.join(RETRIEVAL_FILE);
        let retrieval = if retrieval_path.exists() {
            summarise_retrieval(&retrieval_path, seed)?
        } else {
            BTreeMap::new()
        };
        let answers_path = dir.join(ASSISTANT_FILE);
        let (assistant, latencies) = if answers_path.exists() {
            (
                summarise_answers(&answers_path, seed)?,
                latencies(&answers_path)?,
            )
        } else {
            (BTreeMap::new(), BTreeMap::new())
        };
        let routing_path = dir.join(ROUTING_FILE);
        let routing = if routing_path.exists() {
            let (rows, tiers) = read_routing(&routing_path)?;
            match tiers.as_slice() {
                [weak, strong, ..] => {
                    let gate = info.options.get(GATE_OPTION).and_then(|v| v.as_f64());
                    Some(summarise_routing(&rows, weak, strong, gate))
                }
                _ => None,
            }
        } else {
            None
        };
        Ok(Self {
            info,
            retrieval,
            assistant,
            routing,
            latencies,
        })
    }

    /// The headline tables in Markdown.
    pub fn markdown(&self) -> String {
        let i = &self.info;
        let model = if i.embedding_model.is_empty() {
            String::new()
        } else {
            format!(", embedding model {}", i.embedding_model)
        };
        let mut md = format!(
            "# Hearth eval: {}\n\nRun `{}`, {} — git `{}`, {}{model}, seed {}.\n",
            i.suite, i.run_id, i.started, i.git_revision, i.machine, i.seed
        );
        if i.finished.is_none() {
            let _ = writeln!(
                md,
                "\nUnfinished: these figures cover the parts it finished; `--resume {}` continues the run.",
                i.run_id
            );
        }
        if !self.assistant.is_empty() {
            md.push_str("\n## Assistant\n\n| configuration | questions | accuracy (95% CI) | token F1 | gold cited | served locally | reached cloud | p50 s | p95 s | p99 s | retrieval p50 ms | cost | per 1k requests | peak RSS MiB |\n|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n");
            for (config, a) in &self.assistant {
                let ci = a
                    .accuracy_ci95
                    .map(|(lo, hi)| format!(" ({lo:.2}–{hi:.2})"))
                    .unwrap_or_default();
                let _ = writeln!(
                    md,
                    "| {config} | {} | {:.2}{ci} | {:.2} | {:.2} | {:.0}% | {:.0}% | {:.1} | {:.1} | {:.1} | {:.0} | ${:.4} | ${:.4} | {:.0} |",
                    a.questions,
                    a.accuracy,
                    a.f1,
                    a.citation_accuracy,
                    a.local_share * 100.0,
                    a.cloud_share * 100.0,
                    a.p50_ms / 1e3,
                    a.p95_ms / 1e3,
                    a.p99_ms / 1e3,
                    a.retrieval_p50_ms,
                    a.cost_usd,
                    a.cost_per_1k_usd,
                    a.peak_rss_bytes as f64 / f64::from(1 << 20)
                );
            }
            if let Some((config, a)) = self.split() {
                let _ = write!(
                    md,
                    "\nTier chosen ({config}):\n\n| tier | requests | share | accuracy | p50 s | p95 s | p99 s |\n|---|---|---|---|---|---|---|\n"
                );
                for (tier, t) in &a.by_tier {
                    let _ = writeln!(
                        md,
                        "| {tier} | {} | {:.0}% | {:.2} | {:.1} | {:.1} | {:.1} |",
                        t.requests,
                        t.share * 100.0,
                        t.accuracy,
                        t.p50_ms / 1e3,
                        t.p95_ms / 1e3,
                        t.p99_ms / 1e3
                    );
                }
            }
        }
        if let Some(r) = &self.routing {
            let _ = write!(
                md,
                "\n## Routing ({} weak, {} strong)\n\n| tier | all | mmlu | gsm8k |\n|---|---|---|---|\n",
                r.weak, r.strong
            );
            for (tier, acc) in &r.tiers {
                let get = |k: &str| acc.get(k).map(|v| format!("{v:.3}")).unwrap_or_default();
                let _ = writeln!(
                    md,
                    "| {tier} | {} | {} | {} |",
                    get("all"),
                    get("mmlu"),
                    get("gsm8k")
                );
            }
            md.push_str("\n| questions | router APGR | fitted gate | escalated at the gate | router accuracy at the gate |\n|---|---|---|---|---|\n");
            for (group, f) in &r.router {
                let (t, e, a) = f
                    .gate
                    .map_or((String::new(), String::new(), String::new()), |g| {
                        (
                            format!("{:.2}", g.threshold),
                            format!("{:.0}%", g.escalated * 100.0),
                            format!("{:.3}", g.accuracy),
                        )
                    });
                let _ = writeln!(
                    md,
                    "| {group} ({}) | {:.3} | {t} | {e} | {a} |",
                    f.questions, f.apgr
                );
            }
        }
        if !self.retrieval.is_empty() {
            md.push_str("\n## Retrieval\n\n| mode | queries | nDCG@10 (95% CI) | recall@10 | recall@100 | MRR@10 | p50 ms | p95 ms |\n|---|---|---|---|---|---|---|---|\n");
            for (mode, s) in &self.retrieval {
                let ci = s
                    .ndcg_ci
                    .map(|(lo, hi)| format!(" ({lo:.3}–{hi:.3})"))
                    .unwrap_or_default();
                let _ = writeln!(
                    md,
                    "| {mode} | {} | {:.3}{ci} | {:.3} | {:.3} | {:.3} | {:.1} | {:.1} |",
                    s.queries,
                    s.ndcg_at_10,
                    s.recall_at_10,
                    s.recall_at_100,
                    s.mrr_at_10,
                    s.p50_ms,
                    s.p95_ms
                );
            }
        }
        md
    }

    /// The configuration whose routing split is shown: routed when the run
    /// has it, else the first.
    fn split(&self) -> Option<(&str, &AnswerSummary)> {
        self.assistant
            .get_key_value(ROUTED)
            .or_else(|| self.assistant.iter().next())
            .map(|(c, a)| (c.as_str(), a))
    }

    /// The charts, one `<svg>` each, in page order.
    pub fn charts(&self) -> Vec<String> {
        let mut charts = Vec::new();
        if !self.retrieval.is_empty() {
            charts.push(bar_chart(&Bars {
                name: "retrieval",
                title: "Retrieval quality by search mode",
                series: ["nDCG@10", "recall@10", "MRR@10"]
                    .map(String::from)
                    .to_vec(),
                groups: self
                    .retrieval
                    .iter()
                    .map(|(m, s)| (m.clone(), vec![s.ndcg_at_10, s.recall_at_10, s.mrr_at_10]))
                    .collect(),
                y_max: 1.0,
                y_label: "score",
            }));
        }
        if let Some((_, a)) = self.split() {
            charts.push(bar_chart(&Bars {
                name: "routing",
                title: "Routing split: share of requests answered per tier",
                series: vec!["share".into(), "accuracy".into()],
                groups: a
                    .by_tier
                    .iter()
                    .map(|(t, s)| (t.clone(), vec![s.share, s.accuracy]))
                    .collect(),
                y_max: 1.0,
                y_label: "share",
            }));
            charts.push(line_chart(&Lines {
                name: "latency",
                title: "Answer latency, CDF per tier (forced, and as routed)",
                series: self
                    .latencies
                    .iter()
                    .map(|(t, v)| {
                        let secs: Vec<f64> = v.iter().map(|ms| ms / 1e3).collect();
                        (t.clone(), cdf(&secs))
                    })
                    .collect(),
                x_label: "seconds",
                y_label: "share of answers",
                steps: true,
            }));
        }
        if let Some(r) = &self.routing {
            charts.push(line_chart(&Lines {
                name: "router-sweep",
                title: "Router sweep: accuracy against share sent to the strong tier",
                series: r
                    .router
                    .iter()
                    .map(|(group, f)| {
                        let points = f.sweep.iter().map(|p| (p.escalated, p.accuracy)).collect();
                        (format!("{group} (APGR {:.2})", f.apgr), points)
                    })
                    .collect(),
                x_label: &format!("share of requests sent to {} (cost)", r.strong),
                y_label: "accuracy",
                steps: false,
            }));
        }
        charts
    }

    /// A self-contained HTML page: the Markdown tables as HTML, then the charts.
    pub fn html(&self) -> String {
        let charts = self.charts();
        // Markdown to HTML: headings, paragraphs, and each run of table rows
        // (up to a blank or other line) as one table.
        let mut body = String::new();
        let mut in_table = false;
        for line in self.markdown().lines() {
            let row = line.strip_prefix('|');
            if in_table && row.is_none() {
                body.push_str("</table>\n");
                in_table = false;
            }
            if let Some(h) = line.strip_prefix("# ") {
                let _ = writeln!(body, "<h1>{}</h1>", escape(h));
            } else if let Some(h) = line.strip_prefix("## ") {
                let _ = writeln!(body, "<h2>{}</h2>", escape(h));
            } else if line.starts_with("|---") {
                continue;
            } else if let Some(row) = row {
                if !in_table {
                    body.push_str("<table>\n");
                    in_table = true;
                }
                let cells: Vec<String> = row
                    .trim_end_matches('|')
                    .split('|')
                    .map(|c| format!("<td>{}</td>", escape(c.trim())))
                    .collect();
                let _ = writeln!(body, "<tr>{}</tr>", cells.concat());
            } else if !line.trim().is_empty() {
                let _ = writeln!(body, "<p>{}</p>", escape(line).replace('`', ""));
            }
        }
        if in_table {
            body.push_str("</table>\n");
        }
        format!(
            r#"<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Hearth eval: {title}</title>
<style>body{{font-family:sans-serif;max-width:960px;margin:2em auto;color:#222}}table{{border-collapse:collapse;margin:1em 0}}td{{border:1px solid #ccc;padding:4px 8px;text-align:right}}tr:first-child td{{font-weight:bold;background:#f4f4f4}}svg.chart{{display:block;margin:1.5em 0}}</style>
</head><body>
{body}<h2>Charts</h2>
{charts}
<script>
// Marks the page with the charts that laid out with a non-empty box.
window.addEventListener('load', () => {{
  const drawn = [...document.querySelectorAll('svg.chart')]
    .filter(s => {{ const b = s.getBBox(); return b.width > 0 && b.height > 0 && s.querySelector('rect, path'); }})
    .map(s => s.dataset.chart);
  document.body.dataset.chartsDrawn = drawn.join(' ');
  document.body.dataset.chartsTotal = String(document.querySelectorAll('svg.chart').length);
}});
</script>
</body></html>
"#,
            title = escape(&self.info.suite),
            charts = charts.join("\n")
        )
    }
}

/// Latencies of answers: per forced tier, and per tier chosen as routed
/// (`routed: local`).
fn latencies(path: &Path) -> Result<BTreeMap<String, Vec<f64>>, EvalError> {
    let df = crate::results::scan(path)?
        .select([col("config"), col("tier"), col("latency_ms")])
        .collect()
        .map_err(pl)?;
    let configs = df.column("config").map_err(pl)?.str().map_err(pl)?.clone();
    let tiers = df.column("tier").map_err(pl)?.str().map_err(pl)?.clone();
    let ms = df
        .column("latency_ms")
        .map_err(pl)?
        .f64()
        .map_err(pl)?
        .clone();
    let mut out: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    for i in 0..df.height() {
        if let (Some(c), Some(t), Some(v)) = (configs.get(i), tiers.get(i), ms.get(i)) {
            let key = if c == ROUTED {
                format!("{ROUTED}: {t}")
            } else {
                c.to_owned()
            };
            out.entry(key).or_default().push(v);
        }
    }
    Ok(out)
}

/// One metric of two runs compared.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Comparison {
    /// `hybrid ndcg@10`, `assistant accuracy`, …
    pub metric: String,
    /// The metric in the first run.
    pub before: f64,
    /// The metric in the second run.
    pub after: f64,
    /// The first run's 95% interval.
    pub before_ci: (f64, f64),
    /// `after` fell below the first run's interval.
    pub regression: bool,
}

/// The quality metrics of `after` against `before`'s confidence intervals
/// (retrieval nDCG@10 per mode and assistant accuracy per configuration,
/// where both runs have them).
pub fn compare(before: &Report, after: &Report) -> Vec<Comparison> {
    let mut out = Vec::new();
    let mut push = |metric: String, b: f64, a: f64, ci: Option<(f64, f64)>| {
        let ci = ci.unwrap_or((b, b));
        out.push(Comparison {
            metric,
            before: b,
            after: a,
            before_ci: ci,
            regression: a < ci.0 - 1e-12,
        });
    };
    for (mode, b) in &before.retrieval {
        if let Some(a) = after.retrieval.get(mode) {
            push(
                format!("{mode} ndcg@10"),
                b.ndcg_at_10,
                a.ndcg_at_10,
                b.ndcg_ci,
            );
        }
    }
    for (config, b) in &before.assistant {
        if let Some(a) = after.assistant.get(config) {
            push(
                format!("assistant {config} accuracy"),
                b.accuracy,
                a.accuracy,
                b.accuracy_ci95,
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::results::{QueryResult, write_retrieval, write_run_info};

    fn run(dir: &Path, id: &str, hits: usize) {
        let info = crate::results::test_info(id);
        let rows: Vec<QueryResult> = (0..40)
            .map(|q| {
                let score = if q < hits { 1.0 } else { 0.0 };
                QueryResult {
                    query_id: format!("q{q}"),
                    mode: "hybrid".into(),
                    ndcg_at_10: score,
                    recall_at_10: score,
                    recall_at_100: score,
                    mrr_at_10: score,
                    first_relevant: None,
                    latency_ms: 1.0,
                }
            })
            .collect();
        write_retrieval(dir, &info, &rows).unwrap();
        write_run_info(dir, &info).unwrap();
    }

    #[test]
    fn a_drop_beyond_the_interval_is_a_regression_and_noise_is_not() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b, c) = (
            dir.path().join("a"),
            dir.path().join("b"),
            dir.path().join("c"),
        );
        run(&a, "a", 30); // 0.75
        run(&b, "b", 28); // 0.70: inside a's interval
        run(&c, "c", 15); // 0.375: far below
        let load = |p: &Path| Report::load(p, 1).unwrap();
        let (ra, rb, rc) = (load(&a), load(&b), load(&c));
        let same = compare(&ra, &rb);
        assert_eq!(same.len(), 1);
        assert_eq!(same[0].metric, "hybrid ndcg@10");
        assert!(!same[0].regression, "{same:?}");
        let worse = compare(&ra, &rc);
        assert!(worse[0].regression, "{worse:?}");
        assert!(worse[0].before_ci.0 > 0.375);
        // The page holds the tables and one chart per part present.
        let html = ra.html();
        assert_eq!(ra.charts().len(), 1);
        assert!(html.contains("<table>") && html.contains("data-chart=\"retrieval\""));
        assert_eq!(
            html.matches("<table>").count(),
            html.matches("</table>").count()
        );
        assert!(ra.markdown().contains("| hybrid | 40 | 0.750"));
    }

    #[test]
    fn the_assistant_headline_has_a_row_per_configuration() {
        use crate::answers::{AnswerResult, test_row, write_answers};
        let dir = tempfile::tempdir().unwrap();
        let mut info = crate::results::test_info("r");
        let mut rows: Vec<AnswerResult> = (0..4)
            .map(|q| {
                test_row(
                    q,
                    if q < 3 { "micro" } else { "local" },
                    q != 1,
                    1000.0,
                    0.0,
                )
            })
            .collect();
        rows.extend((0..4).map(|q| AnswerResult {
            config: "local".into(),
            ..test_row(q, "local", true, 3000.0, 0.0)
        }));
        write_answers(dir.path(), &info, &rows).unwrap();
        write_run_info(dir.path(), &info).unwrap();
        let report = Report::load(dir.path(), 1).unwrap();
        let md = report.markdown();
        assert!(md.contains("Unfinished"), "{md}");
        assert!(md.contains("| local | 4 | 1.00"), "{md}");
        assert!(md.contains("| routed | 4 | 0.75"), "{md}");
        assert!(md.contains("Tier chosen (routed)"), "{md}");
        assert!(md.contains("| micro | 3 | 75% |"), "{md}");
        // Latency series: the forced tier, and each tier chosen as routed.
        assert_eq!(
            report.latencies.keys().collect::<Vec<_>>(),
            ["local", "routed: local", "routed: micro"]
        );
        assert_eq!(report.charts().len(), 2);
        info.finished = Some("2026-12-02T01:00:00Z".into());
        write_run_info(dir.path(), &info).unwrap();
        assert!(
            !Report::load(dir.path(), 1)
                .unwrap()
                .markdown()
                .contains("Unfinished")
        );
    }
}
