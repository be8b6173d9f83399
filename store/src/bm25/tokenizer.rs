//! The keyword tokenizer: turns chunk text and queries into index terms.
//!
//! Text is cut at Unicode word boundaries (UAX #29, `unicode_words`), and each
//! word is cut again at every character that is not a letter or a number
//! (apostrophes, dots, commas, `@`, `_`, ...). Terms are lower-cased, Latin
//! diacritics are removed (`Zürich` → `zurich`, `Tomás` → `tomas`), terms longer
//! than [`MAX_TOKEN_BYTES`] are dropped, and, when the spec asks for it, terms are
//! stemmed with the Snowball English (Porter2) stemmer.
//!
//! The second cut makes the tokenizer agree with SQLite FTS5's `unicode61`
//! tokenizer (`remove_diacritics 2`), which treats every character outside the
//! Unicode categories L*, N* and Co as a separator, and it keeps identifiers
//! findable by their parts: `INV-2026-0042` → `inv 2026 0042`,
//! `alice@example.com` → `alice example com`, `it's` → `it s`, `3.1` → `3 1`.
//! Queries go through the same tokenizer, so a query for the whole identifier
//! matches its parts (as OR terms; the identifier's row ranks highest because it
//! matches all of them), and a query for one part (`marsh`, `0042`) finds it too.
//!
//! Known differences from `unicode61` (none occurs in the demo corpus):
//! UAX #29 puts a boundary between ideographs (so CJK text becomes one term per
//! ideograph where FTS5 makes one term per run), Rust's `is_alphanumeric`
//! counts some combining marks of non-Latin scripts (`Other_Alphabetic`) as
//! part of a word where FTS5 splits at them, private-use characters (Co) are
//! separators here, case mapping follows Rust's current Unicode tables rather
//! than Unicode 6.1, and FTS5 keeps tokens longer than 64 bytes.

use rust_stemmers::{Algorithm, Stemmer};
use serde::{Deserialize, Serialize};
use unicode_segmentation::UnicodeSegmentation;

/// Terms longer than this many bytes (after folding) are dropped: they are
/// almost always base64, hashes or URLs' noise, and nobody types them.
pub const MAX_TOKEN_BYTES: usize = 64;

/// Version of the tokenization rules, recorded in every postings file. Bump it
/// whenever [`Tokenizer::tokens`] changes its output for some input, so stale
/// postings are rebuilt instead of silently disagreeing with new queries.
pub const TOKENIZER_VERSION: u32 = 1;

/// How text is turned into terms; recorded with every segment's postings.
///
/// ```
/// use hearth_store::bm25::TokenizerSpec;
/// assert!(TokenizerSpec::default().stem);
/// let spec: TokenizerSpec = serde_json::from_str("{}").unwrap();
/// assert_eq!(spec, TokenizerSpec::default());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(default)]
pub struct TokenizerSpec {
    /// Stem terms with the Snowball English (Porter2) stemmer (default true).
    pub stem: bool,
}

impl Default for TokenizerSpec {
    fn default() -> Self {
        Self { stem: true }
    }
}

/// Splits text into index terms according to a [`TokenizerSpec`].
///
/// ```
/// use hearth_store::bm25::{Tokenizer, TokenizerSpec};
/// let tok = Tokenizer::new(&TokenizerSpec { stem: true });
/// assert_eq!(tok.tokens("Running in Zürich!"), ["run", "in", "zurich"]);
/// assert_eq!(tok.tokens("INV-2026-0042"), ["inv", "2026", "0042"]);
/// ```
pub struct Tokenizer {
    spec: TokenizerSpec,
    stemmer: Option<Stemmer>,
}

impl Tokenizer {
    /// A tokenizer following `spec`.
    pub fn new(spec: &TokenizerSpec) -> Self {
        Self {
            spec: *spec,
            stemmer: spec.stem.then(|| Stemmer::create(Algorithm::English)),
        }
    }

    /// The spec this tokenizer follows.
    pub fn spec(&self) -> &TokenizerSpec {
        &self.spec
    }

    /// The terms of `text`, in order, repeats included.
    pub fn tokens(&self, text: &str) -> Vec<String> {
        let mut out = Vec::new();
        self.for_each_token(text, |t| out.push(t.to_owned()));
        out
    }

    /// Calls `f` with every term of `text`, in order, without allocating a
    /// string per term (unless stemming changes it).
    pub fn for_each_token(&self, text: &str, mut f: impl FnMut(&str)) {
        let mut buf = String::new();
        for word in text.unicode_words() {
            for c in word.chars() {
                if is_combining_diacritic(c) {
                    // Folded away, as FTS5 does; it does not end the term.
                } else if c.is_alphanumeric() {
                    push_folded(&mut buf, c);
                } else {
                    self.emit(&mut buf, &mut f);
                }
            }
            self.emit(&mut buf, &mut f);
        }
    }

    fn emit(&self, buf: &mut String, f: &mut impl FnMut(&str)) {
        if buf.is_empty() {
            return;
        }
        if buf.len() <= MAX_TOKEN_BYTES {
            match &self.stemmer {
                Some(stemmer) => f(&stemmer.stem(buf)),
                None => f(buf),
            }
        }
        buf.clear();
    }
}

impl Clone for Tokenizer {
    fn clone(&self) -> Self {
        Self::new(&self.spec)
    }
}

impl std::fmt::Debug for Tokenizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tokenizer")
            .field("spec", &self.spec)
            .finish()
    }
}

/// Combining diacritical marks (U+0300–U+036F): dropped from terms, as FTS5's
/// `unicode61` does with `remove_diacritics`.
fn is_combining_diacritic(c: char) -> bool {
    ('\u{300}'..='\u{36f}').contains(&c)
}

/// Appends `c` lower-cased and with its Latin diacritics removed.
fn push_folded(buf: &mut String, c: char) {
    if c.is_ascii() {
        buf.push(c.to_ascii_lowercase());
        return;
    }
    for lower in c.to_lowercase() {
        if is_combining_diacritic(lower) {
            continue;
        }
        // Case folding maps final sigma to sigma; plain lower-casing does not.
        let lower = if lower == 'ς' { 'σ' } else { lower };
        buf.push(strip_diacritic(lower));
    }
}

/// Base letters of U+00C0..U+024F (Latin-1 Supplement, Latin Extended-A/B),
/// one byte per code point, `.` where the character has no canonical
/// decomposition into an ASCII letter plus combining marks. Generated from
/// Unicode 14 NFD data.
const LATIN_1_EXT_AB: &[u8] = concat!(
    "AAAAAA.CEEEEIIII.NOOOOO..UUUUY..aaaaaa.ceeeeiiii.nooooo..uuuuy.y",
    "AaAaAaCcCcCcCcDd..EeEeEeEeEeGgGgGgGgHh..IiIiIiIiI...JjKk.LlLlLl.",
    "...NnNnNn...OoOoOo..RrRrRrSsSsSsSsTtTt..UuUuUuUuUuUuWwYyYZzZzZz.",
    "................................Oo.............Uu...............",
    ".............AaIiOoUuUuUuUuUu.AaAa....GgKkOoOo..j...Gg..NnAa....",
    "AaAaEeEeIiIiOoOoRrRrUuUuSsTt..Hh......AaEeOoOoOoOoYy............",
    "................",
)
.as_bytes();

/// Base letters of U+1E00..U+1EFF (Latin Extended Additional), same encoding.
const LATIN_EXT_ADDITIONAL: &[u8] = concat!(
    "AaBbBbBbCcDdDdDdDdDdEeEeEeEeEeFfGgHhHhHhHhHhIiIiKkKkKkLlLlLlLlMm",
    "MmMmNnNnNnNnOoOoOoOoPpPpRrRrRrRrSsSsSsSsSsTtTtTtTtUuUuUuUuUuVvVv",
    "WwWwWwWwWwXxXxYyZzZzZzhtwy......AaAaAaAaAaAaAaAaAaAaAaAaEeEeEeEe",
    "EeEeEeEeIiIiOoOoOoOoOoOoOoOoOoOoOoOoUuUuUuUuUuUuUuYyYyYyYy......",
)
.as_bytes();

/// `c` without its diacritics if it is a decomposable Latin letter.
fn strip_diacritic(c: char) -> char {
    let code = u32::from(c);
    let entry = match code {
        0xC0..=0x24F => LATIN_1_EXT_AB.get((code - 0xC0) as usize),
        0x1E00..=0x1EFF => LATIN_EXT_ADDITIONAL.get((code - 0x1E00) as usize),
        _ => None,
    };
    match entry {
        Some(&b) if b != b'.' => char::from(b),
        _ => c,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plain() -> Tokenizer {
        Tokenizer::new(&TokenizerSpec { stem: false })
    }

    fn stemmed() -> Tokenizer {
        Tokenizer::new(&TokenizerSpec::default())
    }

    #[test]
    fn folds_case_and_keeps_numbers() {
        assert_eq!(
            plain().tokens("Hello WORLD, it's 2026: $7,840 at 3.1%"),
            [
                "hello", "world", "it", "s", "2026", "7", "840", "at", "3", "1"
            ]
        );
    }

    #[test]
    fn stems_english() {
        let tok = stemmed();
        assert_eq!(tok.tokens("running"), ["run"]);
        assert_eq!(tok.tokens("Runs RUNNING ran"), ["run", "run", "ran"]);
        assert_eq!(tok.tokens("libraries library"), ["librari", "librari"]);
        assert_eq!(plain().tokens("running"), ["running"]);
    }

    #[test]
    fn removes_latin_diacritics() {
        assert_eq!(plain().tokens("Zürich café"), ["zurich", "cafe"]);
        assert_eq!(
            plain().tokens("Tomás Müller ÉCOLE"),
            ["tomas", "muller", "ecole"]
        );
        // Decomposed input folds the same way as precomposed input.
        assert_eq!(
            plain().tokens("cafe\u{301} Zu\u{308}rich"),
            ["cafe", "zurich"]
        );
        // No decomposition, so no folding (as in FTS5).
        assert_eq!(plain().tokens("Øresund straße"), ["øresund", "straße"]);
        assert_eq!(plain().tokens("ΟΔΟΣ οδος"), ["οδοσ", "οδοσ"]);
    }

    #[test]
    fn identifiers_split_the_same_in_text_and_query() {
        let tok = stemmed();
        let doc = tok.tokens("Invoice INV-2026-0042 sent to alice@example.com.");
        assert_eq!(
            doc,
            [
                "invoic", "inv", "2026", "0042", "sent", "to", "alic", "exampl", "com"
            ]
        );
        for query in ["INV-2026-0042", "alice@example.com"] {
            for term in tok.tokens(query) {
                assert!(doc.contains(&term), "{term} of {query} not in {doc:?}");
            }
        }
        assert_eq!(
            plain().tokens("elena.marsh@example.com"),
            ["elena", "marsh", "example", "com"]
        );
        assert_eq!(plain().tokens("snake_case_name"), ["snake", "case", "name"]);
    }

    #[test]
    fn drops_overlong_tokens_and_punctuation() {
        let long = "x".repeat(MAX_TOKEN_BYTES + 1);
        let max = "y".repeat(MAX_TOKEN_BYTES);
        assert_eq!(
            plain().tokens(&format!("a {long} b {max}")),
            ["a", "b", max.as_str()]
        );
        assert!(plain().tokens("  -- ... !!! 🙂 — ").is_empty());
        assert!(plain().tokens("").is_empty());
    }

    #[test]
    fn spec_serde_defaults_to_stemming() {
        let spec: TokenizerSpec = serde_json::from_str("{}").unwrap();
        assert!(spec.stem);
        let json = serde_json::to_string(&TokenizerSpec { stem: false }).unwrap();
        assert_eq!(json, r#"{"stem":false}"#);
    }
}
