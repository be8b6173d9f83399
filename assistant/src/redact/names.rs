//! Known-name matching: the participant names the index knows, their parts and
//! their accent-free spellings, found as whole words without regexes (so a large
//! address book costs a hash lookup per word, and nothing can fail to compile).

use std::collections::{HashMap, HashSet};

/// Generic words of organisation display names ("Tile Atelier", "Product Team"):
/// never matched alone as a name part. Full names still match as given.
const NOT_NAME_PARTS: &str = "\
    the and for von van der den del des los las team group library friends club clinic \
    dental hotel airways airlines insurance mutual bank credit union care auto service \
    services support info news newsletter gazette summit conference office orders order \
    sales billing noreply no-reply admin reservations registration reminders builders \
    company inc ltd llc gmbh corp product products tax accounting animal city county school \
    university college church center centre store shop market foundation association society \
    community customer account accounts mail hello contact notifications alerts security \
    travel booking bookings hr it family";

fn is_generic_word(word: &str) -> bool {
    let lower = word.to_lowercase();
    NOT_NAME_PARTS
        .split_whitespace()
        .any(|generic| generic == lower)
}

/// A match: the byte span and which person it names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct NameMatch {
    pub start: usize,
    pub end: usize,
    pub identity: usize,
}

/// What makes two variants the same: words, first letters, separators.
type VariantKey = (Vec<String>, Vec<char>, Vec<String>);

#[derive(Debug, Clone)]
struct Variant {
    /// The words, lower-cased, and each word's first character as written.
    lower: Vec<String>,
    first: Vec<char>,
    /// What stands between consecutive words, whitespace runs collapsed to one space.
    seps: Vec<String>,
    identity: usize,
}

#[derive(Debug, Clone, Default)]
pub(crate) struct NameMatcher {
    variants: Vec<Variant>,
    /// Lower-cased first word → variants starting with it, most words first.
    by_first: HashMap<String, Vec<usize>>,
    first_chars: HashSet<char>,
    identities: usize,
}

fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || ('\u{0300}'..='\u{036f}').contains(&c)
}

/// Byte spans of the words of `text`.
fn words(text: &str) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut start = None;
    for (i, c) in text.char_indices() {
        match (is_word_char(c), start) {
            (true, None) => start = Some(i),
            (false, Some(s)) => {
                out.push((s, i));
                start = None;
            }
            _ => {}
        }
    }
    if let Some(s) = start {
        out.push((s, text.len()));
    }
    out
}

fn collapse_whitespace(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut in_space = false;
    for c in s.chars() {
        if c.is_whitespace() {
            if !in_space {
                out.push(' ');
            }
            in_space = true;
        } else {
            out.push(c);
            in_space = false;
        }
    }
    out
}

/// Latin letters without their accents ("Tomás" → "Tomas").
fn fold_accents(s: &str, german: bool) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        let folded: &str = match c {
            'ä' if german => "ae",
            'ö' if german => "oe",
            'ü' if german => "ue",
            'Ä' if german => "Ae",
            'Ö' if german => "Oe",
            'Ü' if german => "Ue",
            'ß' => "ss",
            'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' | 'ā' | 'ă' | 'ą' => "a",
            'À' | 'Á' | 'Â' | 'Ã' | 'Ä' | 'Å' | 'Ā' | 'Ă' | 'Ą' => "A",
            'æ' => "ae",
            'Æ' => "Ae",
            'ç' | 'ć' | 'č' => "c",
            'Ç' | 'Ć' | 'Č' => "C",
            'ď' | 'đ' => "d",
            'Ď' | 'Đ' => "D",
            'è' | 'é' | 'ê' | 'ë' | 'ē' | 'ė' | 'ę' | 'ě' => "e",
            'È' | 'É' | 'Ê' | 'Ë' | 'Ē' | 'Ė' | 'Ę' | 'Ě' => "E",
            'ğ' => "g",
            'Ğ' => "G",
            'ì' | 'í' | 'î' | 'ï' | 'ī' | 'į' | 'ı' => "i",
            'Ì' | 'Í' | 'Î' | 'Ï' | 'Ī' | 'Į' | 'İ' => "I",
            'ł' | 'ľ' | 'ĺ' => "l",
            'Ł' | 'Ľ' | 'Ĺ' => "L",
            'ñ' | 'ń' | 'ň' => "n",
            'Ñ' | 'Ń' | 'Ň' => "N",
            'ò' | 'ó' | 'ô' | 'õ' | 'ö' | 'ø' | 'ō' | 'ő' => "o",
            'Ò' | 'Ó' | 'Ô' | 'Õ' | 'Ö' | 'Ø' | 'Ō' | 'Ő' => "O",
            'œ' => "oe",
            'Œ' => "Oe",
            'ř' | 'ŕ' => "r",
            'Ř' | 'Ŕ' => "R",
            'ś' | 'š' | 'ş' | 'ș' => "s",
            'Ś' | 'Š' | 'Ş' | 'Ș' => "S",
            'ť' | 'ţ' | 'ț' => "t",
            'Ť' | 'Ţ' | 'Ț' => "T",
            'ù' | 'ú' | 'û' | 'ü' | 'ū' | 'ů' | 'ű' | 'ų' => "u",
            'Ù' | 'Ú' | 'Û' | 'Ü' | 'Ū' | 'Ů' | 'Ű' | 'Ų' => "U",
            'ý' | 'ÿ' => "y",
            'Ý' | 'Ÿ' => "Y",
            'ź' | 'ż' | 'ž' => "z",
            'Ź' | 'Ż' | 'Ž' => "Z",
            _ => {
                out.push(c);
                continue;
            }
        };
        out.push_str(folded);
    }
    out
}

/// A name as written, its "Last, First" swap and its accent-free spellings.
fn spellings(name: &str) -> Vec<String> {
    let mut base = vec![name.to_owned()];
    if let Some((last, first)) = name.split_once(',')
        && !first.contains(',')
        && !first.trim().is_empty()
        && !last.trim().is_empty()
    {
        base.push(format!("{} {}", first.trim(), last.trim()));
    }
    let mut out: Vec<String> = Vec::new();
    for spelling in base {
        let plain = fold_accents(&spelling, false);
        let german = fold_accents(&spelling, true);
        for candidate in [spelling, plain, german] {
            if !out.contains(&candidate) {
                out.push(candidate);
            }
        }
    }
    out
}

/// The parts of a full name worth matching alone: capitalised words of at least
/// three letters (hyphenated ones whole and split), not generic organisation words.
fn parts(name: &str) -> Vec<String> {
    let mut out = Vec::new();
    for chunk in name.split(|c: char| c.is_whitespace() || c == ',') {
        let chunk = chunk.trim_matches(|c: char| !is_word_char(c));
        let mut pieces = vec![chunk];
        if chunk.contains('-') {
            pieces.extend(chunk.split('-'));
        }
        for piece in pieces {
            let qualifies = piece.chars().count() >= 3
                && piece.chars().next().is_some_and(char::is_uppercase)
                && piece.chars().any(char::is_alphabetic)
                && !is_generic_word(piece);
            if qualifies && !out.iter().any(|p| p == piece) {
                out.push(piece.to_owned());
            }
        }
    }
    out
}

impl Variant {
    fn parse(name: &str, identity: usize) -> Option<Self> {
        let spans = words(name);
        let (first_start, _) = *spans.first()?;
        let (_, last_end) = *spans.last()?;
        // A name of one letter matches far too much.
        if name[first_start..last_end].chars().count() < 2 {
            return None;
        }
        let lower = spans
            .iter()
            .map(|&(s, e)| name[s..e].to_lowercase())
            .collect();
        let first = spans
            .iter()
            .filter_map(|&(s, e)| name[s..e].chars().next())
            .collect();
        let seps = spans
            .windows(2)
            .map(|pair| collapse_whitespace(&name[pair[0].1..pair[1].0]))
            .collect();
        Some(Self {
            lower,
            first,
            seps,
            identity,
        })
    }

    fn key(&self) -> VariantKey {
        (self.lower.clone(), self.first.clone(), self.seps.clone())
    }
}

impl NameMatcher {
    pub(crate) fn new<I>(names: I) -> Self
    where
        I: IntoIterator,
        I::Item: AsRef<str>,
    {
        let mut matcher = Self::default();
        let mut person_of: HashMap<String, usize> = HashMap::new();
        let mut persons: Vec<Vec<String>> = Vec::new();
        for name in names {
            let name = name
                .as_ref()
                .trim()
                .trim_matches(|c: char| matches!(c, '"' | '\'' | '“' | '”'))
                .trim();
            if name.is_empty() || !name.chars().any(char::is_alphabetic) {
                continue;
            }
            let canonical = collapse_whitespace(name);
            if person_of.contains_key(&canonical) {
                continue;
            }
            person_of.insert(canonical.clone(), persons.len());
            persons.push(spellings(&canonical));
        }

        // Full names (and their spellings): the first person to claim one keeps it.
        let mut seen = HashSet::new();
        for (identity, spellings) in persons.iter().enumerate() {
            for spelling in spellings {
                if let Some(variant) = Variant::parse(spelling, identity)
                    && seen.insert(variant.key())
                {
                    matcher.variants.push(variant);
                }
            }
        }
        matcher.identities = persons.len();

        // Parts: one owner → that person; several ("Marsh" of three Marshes) →
        // an identity of its own, so no one is mistaken for another.
        let mut owners: HashMap<VariantKey, Vec<usize>> = HashMap::new();
        let mut order = Vec::new();
        for (identity, spellings) in persons.iter().enumerate() {
            for spelling in spellings {
                for part in parts(spelling) {
                    let Some(variant) = Variant::parse(&part, identity) else {
                        continue;
                    };
                    let key = variant.key();
                    if seen.contains(&key) {
                        continue;
                    }
                    let entry = owners.entry(key.clone()).or_default();
                    if entry.is_empty() {
                        order.push(variant);
                    }
                    if !entry.contains(&identity) {
                        entry.push(identity);
                    }
                }
            }
        }
        for mut variant in order {
            let key = variant.key();
            if owners.get(&key).is_some_and(|o| o.len() > 1) {
                variant.identity = matcher.identities;
                matcher.identities += 1;
            }
            seen.insert(key);
            matcher.variants.push(variant);
        }

        for (index, variant) in matcher.variants.iter().enumerate() {
            matcher
                .by_first
                .entry(variant.lower[0].clone())
                .or_default()
                .push(index);
            matcher.first_chars.insert(variant.first[0]);
        }
        for list in matcher.by_first.values_mut() {
            list.sort_by_key(|&i| std::cmp::Reverse(matcher.variants[i].lower.len()));
        }
        matcher
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.variants.is_empty()
    }

    /// Every known name in `text`, leftmost first, the longest at each place.
    pub(crate) fn find(&self, text: &str) -> Vec<NameMatch> {
        let mut out = Vec::new();
        if self.is_empty() {
            return out;
        }
        let spans = words(text);
        let word = |i: usize| &text[spans[i].0..spans[i].1];
        let mut i = 0;
        while i < spans.len() {
            let first_char = word(i).chars().next();
            let candidates = first_char
                .filter(|c| self.first_chars.contains(c))
                .and_then(|_| self.by_first.get(&word(i).to_lowercase()));
            let matched = candidates.and_then(|list| {
                list.iter()
                    .map(|&v| &self.variants[v])
                    .find(|v| self.matches_at(text, &spans, i, v))
            });
            match matched {
                Some(variant) => {
                    let last = i + variant.lower.len() - 1;
                    out.push(NameMatch {
                        start: spans[i].0,
                        end: spans[last].1,
                        identity: variant.identity,
                    });
                    i = last + 1;
                }
                None => i += 1,
            }
        }
        out
    }

    fn matches_at(&self, text: &str, spans: &[(usize, usize)], at: usize, v: &Variant) -> bool {
        if at + v.lower.len() > spans.len() {
            return false;
        }
        (0..v.lower.len()).all(|k| {
            let (s, e) = spans[at + k];
            let word = &text[s..e];
            let same_word =
                word.starts_with(v.first[k]) && (k == 0 || word.to_lowercase() == v.lower[k]);
            let same_sep =
                k == 0 || collapse_whitespace(&text[spans[at + k - 1].1..s]) == v.seps[k - 1];
            same_word && same_sep
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(matcher: &NameMatcher, text: &str) -> Vec<(String, usize)> {
        matcher
            .find(text)
            .into_iter()
            .map(|m| (text[m.start..m.end].to_owned(), m.identity))
            .collect()
    }

    #[test]
    fn full_names_parts_and_possessives() {
        let m = NameMatcher::new(["Priya Raman", "Tomás Reyes"]);
        assert_eq!(
            found(
                &m,
                "Priya Raman met Priya's friend Raman and\nTomás  Reyes; priya did not."
            ),
            [
                ("Priya Raman".to_owned(), 0),
                ("Priya".to_owned(), 0),
                ("Raman".to_owned(), 0),
                ("Tomás  Reyes".to_owned(), 1)
            ]
        );
        assert_eq!(found(&m, "Tomas Reyes"), [("Tomas Reyes".to_owned(), 1)]);
        assert_eq!(found(&m, "PRIYA RAMAN"), [("PRIYA RAMAN".to_owned(), 0)]);
        assert!(found(&m, "Priyanka and Ramanujan").is_empty());
        assert!(found(&m, "priya raman").is_empty());
    }

    #[test]
    fn shared_parts_get_their_own_identity() {
        let m = NameMatcher::new(["Elena Marsh", "Jonas Marsh"]);
        let got = found(&m, "Elena and Jonas Marsh and Marsh");
        assert_eq!(got[0], ("Elena".to_owned(), 0));
        assert_eq!(got[1], ("Jonas Marsh".to_owned(), 1));
        assert_eq!(got[2].0, "Marsh");
        assert!(got[2].1 >= 2);
    }

    #[test]
    fn organisation_words_are_not_parts() {
        let m = NameMatcher::new(["Friends of the Belmont Library", "Greta Müller"]);
        assert_eq!(
            found(&m, "the Friends of the Belmont Library meet at the library"),
            [("Friends of the Belmont Library".to_owned(), 0)]
        );
        assert!(found(&m, "Library hours").is_empty());
        assert_eq!(
            found(&m, "Greta Mueller"),
            [("Greta Mueller".to_owned(), 1)]
        );
        assert_eq!(found(&m, "Müller"), [("Müller".to_owned(), 1)]);
    }

    #[test]
    fn last_first_and_hyphens() {
        let m = NameMatcher::new(["Watson, Mary-Jane", "O'Brien"]);
        assert_eq!(
            found(&m, "Mary-Jane Watson"),
            [("Mary-Jane Watson".to_owned(), 0)]
        );
        assert_eq!(found(&m, "Mary-Jane"), [("Mary-Jane".to_owned(), 0)]);
        assert_eq!(found(&m, "O'Brien's"), [("O'Brien".to_owned(), 1)]);
    }
}
