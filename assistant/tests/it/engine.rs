//! Hearth's own decoder engine held against candle's reference implementation
//! on the REAL pinned models: greedy continuations of the demo-style prompts
//! must be identical, and teacher-forced next-token predictions over a longer
//! text must agree at top-1 with bounded logit differences.

use crate::generate::model_path;
use hearth_assistant::{ChatMessage, Engine, GenerationParams, Generator, GeneratorConfig, Tier};

fn generator(tier: Tier, engine: Engine) -> Generator {
    let mut g = Generator::from_path(model_path(tier)).with_config(GeneratorConfig {
        engine,
        // The reference reads the file's own weight types, as Hearth's engine does.
        convert_slow_weights: false,
        ..GeneratorConfig::default()
    });
    g.load()
        .unwrap_or_else(|e| panic!("loading the {tier} model on {engine}: {e}"));
    g
}

/// Prompts shaped like the assistant's: a system prompt, numbered sources, a question.
fn prompts() -> Vec<Vec<ChatMessage>> {
    let system = "You answer questions about the user's own mail, notes and documents. \
        Use only the numbered sources below and cite them like [1]. If they do not \
        contain the answer, say so.";
    let sources = "[1] (mail, 2024-03-02) Kitchen remodel quote: Hi Sam, the quote for the \
        kitchen remodel is $18,400, including cabinets and labour. We can start on April 8.\n\
        [2] (note, 2024-02-11) Dentist: appointment with Dr. Patel moved to Tuesday 14:30.\n\
        [3] (chat, 2024-03-05) Maya: the book club meets at Ana's place this Friday at 7pm.";
    let q = |question: &str| {
        vec![
            ChatMessage::system(system),
            ChatMessage::user(format!("Sources:\n{sources}\n\nQuestion: {question}")),
        ]
    };
    vec![
        q("How much was the kitchen remodel quote?"),
        q("When is the dentist appointment?"),
        vec![
            ChatMessage::system("You are a helpful assistant. Answer in one short sentence."),
            ChatMessage::user("What is the capital of France?"),
        ],
    ]
}

fn greedy_matches(tier: Tier) {
    let mut own = generator(tier, Engine::Hearth);
    let mut reference = generator(tier, Engine::Candle);
    let params = GenerationParams {
        max_new_tokens: 40,
        ..GenerationParams::default()
    };
    for messages in prompts() {
        let a = own
            .generate(&messages, &params, |_| {})
            .expect("own engine");
        let b = reference
            .generate(&messages, &params, |_| {})
            .expect("candle");
        eprintln!(
            "[{tier}] hearth {:?} ({} tok, prefill {:.0} tok/s, decode {:.0} tok/s)\n[{tier}] candle {:?} ({} tok, prefill {:.0} tok/s, decode {:.0} tok/s)",
            a.text,
            a.completion_tokens,
            a.prompt_tokens_per_second(),
            a.decode_tokens_per_second(),
            b.text,
            b.completion_tokens,
            b.prompt_tokens_per_second(),
            b.decode_tokens_per_second()
        );
        assert!(a.completion_tokens >= 32 || a.finish_reason == b.finish_reason);
        assert_eq!(a.text, b.text, "[{tier}] greedy continuations differ");
    }
}

#[test]
fn greedy_continuations_match_candle_on_micro() {
    greedy_matches(Tier::Micro);
}

#[test]
fn greedy_continuations_match_candle_on_local() {
    greedy_matches(Tier::Local);
}

/// Teacher-forced predictions over a paragraph: top-1 agreement and the
/// largest logit difference (logits compared after removing their mean, which
/// a softmax ignores).
///
/// Two correct implementations differ by rounding, and quantizing the
/// activations before every product turns a rounding difference into a whole
/// quantization step now and then, so near-ties can flip. The noise floor,
/// measured on micro over this text: candle's own Q8_0 conversion of the
/// weights (Hearth's old default) against candle on the file's types agrees at
/// top-1 on 95.0% of positions, max |Δlogit| 1.25, every disagreement at a
/// top-2 margin under 0.15; Hearth's engine agrees on 94.2% with max |Δlogit|
/// 0.91 — closer than that conversion. So top-1 agreement is required at every
/// position the reference decides by more than [`DECIDED`], and |Δlogit| is
/// bounded below candle's own conversion noise.
fn predictions_agree(tier: Tier) {
    let text = "The old lighthouse keeper climbed the spiral stairs every evening, \
        counting one hundred and twelve steps before he reached the lamp room. \
        From there he could see the whole bay: the fishing boats coming home, \
        the ferry to the island, and on clear nights the lights of the town \
        across the water. He wrote the weather in a leather notebook, the wind \
        from the north-west, the sea calm, visibility good, and every Sunday he \
        sent a letter to his daughter, who lived in the city and worked as a \
        nurse at the children's hospital. She wrote back about her patients, \
        her neighbours and the price of bread, and asked him when he would \
        finally retire and come to live with her.";
    let mut own = generator(tier, Engine::Hearth);
    let mut reference = generator(tier, Engine::Candle);
    let tokens = own
        .tokenizer()
        .expect("tokenizer")
        .encode(text)
        .expect("encode");
    let argmax = |l: &[f32]| {
        l.iter()
            .enumerate()
            .max_by(|a, b| a.1.total_cmp(b.1))
            .map(|(i, _)| i)
            .unwrap_or(0)
    };
    let centred = |l: &[f32]| {
        let mean = l.iter().sum::<f32>() / l.len() as f32;
        l.iter().map(|v| v - mean).collect::<Vec<_>>()
    };
    let mut expected = Vec::new();
    reference
        .evaluate(&tokens, |_, l| expected.push((argmax(l), centred(l))))
        .expect("candle");
    let (mut agree, mut decided, mut decided_agree, mut max_delta) = (0usize, 0usize, 0usize, 0f32);
    own.evaluate(&tokens, |i, l| {
        let (top, ref_logits) = &expected[i];
        let same = argmax(l) == *top;
        agree += usize::from(same);
        for (a, b) in centred(l).iter().zip(ref_logits) {
            max_delta = max_delta.max((a - b).abs());
        }
        let mut sorted = ref_logits.clone();
        sorted.select_nth_unstable_by(1, |a, b| b.total_cmp(a));
        let margin = sorted[0] - sorted[1];
        if margin > DECIDED {
            decided += 1;
            decided_agree += usize::from(same);
        }
        if !same {
            eprintln!("[{tier}] position {i}: top-1 differs at a reference margin of {margin:.3}");
        }
    })
    .expect("own engine");
    let rate = agree as f64 / tokens.len() as f64;
    let decided_rate = decided_agree as f64 / decided.max(1) as f64;
    eprintln!(
        "[{tier}] {} tokens: top-1 agreement {rate:.3} overall, {decided_rate:.3} on the {decided} decided positions; max |Δlogit| {max_delta:.3}",
        tokens.len()
    );
    assert!(
        decided as f64 >= 0.8 * tokens.len() as f64,
        "[{tier}] too few decided positions"
    );
    assert!(
        decided_rate >= 0.99,
        "[{tier}] top-1 agreement {decided_rate:.3} < 0.99 where the reference is decided"
    );
    assert!(rate >= 0.9, "[{tier}] top-1 agreement {rate:.3} overall");
    assert!(max_delta < 1.2, "[{tier}] max |Δlogit| {max_delta:.3}");
}

/// A top-2 margin (in logits) beyond the two engines' rounding noise.
const DECIDED: f32 = 0.25;

#[test]
fn predictions_agree_with_candle_on_micro() {
    predictions_agree(Tier::Micro);
}

#[test]
fn predictions_agree_with_candle_on_local() {
    predictions_agree(Tier::Local);
}
