//! The pattern detectors: e-mail, phone, card, IBAN, account, street address and
//! URLs that carry secrets. Each regex is compiled once; every candidate is then
//! checked in code (Luhn, mod-97, digit counts, boundaries), so the regexes can
//! stay simple and bounded.

use std::sync::LazyLock;

use regex::Regex;

use super::PiiKind;

/// One detected span of `text` (byte offsets) and its kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Candidate {
    pub start: usize,
    pub end: usize,
    pub kind: PiiKind,
    /// What identifies the value: equal keys get the same placeholder.
    pub key: String,
}

pub(super) fn compile(pattern: &str) -> Regex {
    // The patterns are constants of this file; a failure is a bug caught by every test.
    Regex::new(pattern).expect("redaction pattern must compile")
}

static EMAIL: LazyLock<Regex> = LazyLock::new(|| {
    compile(
        r"[\p{L}\p{N}_%+\-][\p{L}\p{N}._%+\-]*@(?:[\p{L}\p{N}](?:[\p{L}\p{N}\-]*[\p{L}\p{N}])?\.)+\p{L}{2,}",
    )
});

static URL: LazyLock<Regex> =
    LazyLock::new(|| compile(r#"(?i)\b(?:(?:https?|ftp|wss?)://|www\.)[^\s<>"'`{}|\\^]{1,4096}"#));

static IBAN: LazyLock<Regex> =
    LazyLock::new(|| compile(r"(?i)\b[A-Z]{2}\d{2}(?:[ ]?[A-Z0-9]){11,34}\b"));

static CARD: LazyLock<Regex> = LazyLock::new(|| compile(r"\b\d(?:[ \-]?\d){12,18}\b"));

static ACCOUNT: LazyLock<Regex> = LazyLock::new(|| {
    compile(
        r"(?ix)
        \b(?:
            (?:(?:bank|checking|savings|current|deposit)[\x20\t]+)?(?:account|acct|a/c)\.?[\x20\t]*(?:(?:no|nr|num|number)\b\.?|\#)?
          | routing(?:[\x20\t]+(?:no|nr|num|number)\b\.?|[\x20\t]*\#)?
          | aba(?:[\x20\t]+(?:no|number)\b\.?)?
          | sort[\x20\t]*code
          | bsb(?:[\x20\t]+(?:no|number)\b\.?)?
          | transit(?:[\x20\t]+(?:no|number)\b\.?)?
        )
        [\x20\t]*(?:(?:ending|ends)(?:[\x20\t]+(?:in|with))?[\x20\t]*)?[:\#]?[\x20\t]*
        (\d(?:[\x20\-]?\d){3,33})\b",
    )
});

static ADDRESS: LazyLock<Regex> = LazyLock::new(|| {
    compile(
        r"(?x)
        # number + street name + suffix (US/UK style)
          \b\d{1,6}[A-Za-z]?(?:-\d{1,6})?[\x20\t]+
          (?:(?:N|S|E|W|NE|NW|SE|SW|North|South|East|West)\.?[\x20\t]+)?
          (?:(?:\p{Lu}[\p{L}'’\-]*|\d{1,4}(?:st|nd|rd|th))\.?[\x20\t]+){1,4}?
          (?:Street|St|Avenue|Ave|Road|Rd|Lane|Ln|Drive|Dr|Boulevard|Blvd|Way|Court|Ct|Place|Pl|Terrace|Ter|Parkway|Pkwy|Highway|Hwy|Circle|Cir|Square|Sq|Crescent|Cres|Close|Row|Trail|Trl|Alley|Plaza|Gardens|Grove|Mews)\b\.?
          (?:[\x20\t]+(?:N|S|E|W|NE|NW|SE|SW)\b\.?)?
          (?:,?[\x20\t]*(?:Apt|Apartment|Unit|Suite|Ste|Flat|Fl|Floor|Room|Rm|\#)\.?[\x20\t]*\#?[\x20\t]*[A-Za-z0-9\-]{1,6}\b)?
          (?:
              (?:,[\x20\t]*|,?[\x20\t]*\r?\n[\x20\t]*)\p{Lu}[\p{L}.'’\-]*(?:[\x20\t]+\p{Lu}[\p{L}.'’\-]*){0,3},?[\x20\t]+[A-Z]{2}[\x20\t]+\d{5}(?:-\d{4})?\b
            | (?:,[\x20\t]*|,?[\x20\t]*\r?\n[\x20\t]*)(?:\p{Lu}[\p{L}.'’\-]*(?:[\x20\t]+\p{Lu}[\p{L}.'’\-]*){0,3},?[\x20\t]+)?[A-Z]{1,2}\d[A-Z\d]?[\x20\t]*\d[A-Z]{2}\b
          )?
        # street type first, number after (Portugal, Spain, France, Italy)
        | \b(?:Rua|Avenida|Av\.|Travessa|Largo|Praça|Calle|Carrer|Avinguda|Paseo|Rue|Via|Viale|Piazza|Corso)[\x20\t]+
          (?:(?:d[aeo]s?|de|del|della|di|la|le|du|des)[\x20\t]+)?
          \p{Lu}[\p{L}'’\-]*(?:[\x20\t]+(?:(?:d[aeo]s?|de|del|di|la)[\x20\t]+)?\p{Lu}[\p{L}'’\-]*){0,3},?[\x20\t]+\d{1,5}[A-Za-z]?\b
          (?:,[\x20\t]*\p{Lu}[\p{L}'’\-]*)?
          (?:,?[\x20\t]*\d{4,5}(?:-\d{3})?[\x20\t]+\p{Lu}[\p{L}'’\-]*)?
        # German compounds: Hauptstraße 5, 10115 Berlin
        | \b\p{Lu}\p{L}*(?:straße|strasse|str\.|weg|gasse|platz|allee|damm)[\x20\t]+\d{1,4}[a-z]?\b
          (?:,?[\x20\t]*\d{5}[\x20\t]+\p{Lu}[\p{L}\-]*)?
        ",
    )
});

/// Every pattern detection in `text` (names are found elsewhere).
pub(crate) fn detect(text: &str, out: &mut Vec<Candidate>) {
    urls(text, out);
    emails(text, out);
    ibans(text, out);
    cards(text, out);
    accounts(text, out);
    super::phone::phones(text, out);
    addresses(text, out);
}

/// Where to look again after a rejected candidate that started at `start`: past
/// its first run of same-class characters (so a rejected long run is skipped in
/// one step, and the scan stays linear).
fn resume_after(text: &str, start: usize) -> usize {
    let mut chars = text[start..].char_indices();
    let Some((_, first)) = chars.next() else {
        return text.len() + 1;
    };
    let class = |c: char| {
        if c.is_ascii_digit() {
            0
        } else if c.is_alphanumeric() {
            1
        } else {
            2
        }
    };
    if class(first) == 2 {
        return start + first.len_utf8();
    }
    for (offset, c) in chars {
        if class(c) != class(first) {
            return start + offset;
        }
    }
    text.len()
}

/// Runs `re` over `hay`, handing each match to `accept`, which returns the span
/// to keep (or `None`). Rejected matches resume past their first token.
pub(super) fn scan(
    re: &Regex,
    hay: &str,
    mut accept: impl FnMut(usize, usize) -> Option<(usize, usize)>,
) {
    let mut pos = 0;
    while pos <= hay.len() {
        let Some(m) = re.find_at(hay, pos) else {
            break;
        };
        match accept(m.start(), m.end()) {
            Some((_, end)) if end > m.start() => pos = end.max(m.start() + 1),
            _ => pos = resume_after(hay, m.start()),
        }
        while pos < hay.len() && !hay.is_char_boundary(pos) {
            pos += 1;
        }
    }
}

pub(super) fn char_before(text: &str, at: usize) -> Option<char> {
    text[..at].chars().next_back()
}

pub(super) fn char_after(text: &str, at: usize) -> Option<char> {
    text[at..].chars().next()
}

pub(super) fn digits(s: &str) -> String {
    s.chars().filter(char::is_ascii_digit).collect()
}

// ---------------------------------------------------------------- e-mail

fn emails(text: &str, out: &mut Vec<Candidate>) {
    scan(&EMAIL, text, |start, end| {
        out.push(Candidate {
            start,
            end,
            kind: PiiKind::Email,
            key: text[start..end].to_lowercase(),
        });
        Some((start, end))
    });
}

// ---------------------------------------------------------------- URLs

/// Query or fragment parameter names that carry a secret.
const SECRET_SEGMENTS: &[&str] = &[
    "token",
    "key",
    "secret",
    "sig",
    "signature",
    "password",
    "passwd",
    "pwd",
    "auth",
    "code",
    "session",
    "sessionid",
    "apikey",
    "accesstoken",
    "credential",
    "jwt",
    "otp",
];
const SECRET_SUFFIXES: &[&str] = &[
    "token",
    "secret",
    "password",
    "signature",
    "apikey",
    "accesskey",
    "sessionid",
];

fn is_secret_param(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    if name.is_empty() {
        return false;
    }
    name.split(|c: char| !c.is_ascii_alphanumeric())
        .any(|segment| SECRET_SEGMENTS.contains(&segment))
        || SECRET_SUFFIXES.iter().any(|suffix| name.ends_with(suffix))
}

/// Whether a URL carries user info (`user:pass@`) or a secret parameter.
pub(crate) fn url_has_secret(url: &str) -> bool {
    if let Some(scheme_end) = url.find("://") {
        let rest = &url[scheme_end + 3..];
        let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        if rest[..authority_end].contains('@') {
            return true;
        }
    }
    let params = |part: &str| {
        part.split(['&', ';'])
            .filter_map(|pair| pair.split_once('=').map(|(name, _)| name))
            .any(is_secret_param)
    };
    let (before_fragment, fragment) = match url.split_once('#') {
        Some((before, fragment)) => (before, Some(fragment)),
        None => (url, None),
    };
    let query = before_fragment.split_once('?').map(|(_, query)| query);
    query.is_some_and(params) || fragment.is_some_and(params)
}

fn urls(text: &str, out: &mut Vec<Candidate>) {
    scan(&URL, text, |start, mut end| {
        // Sentence punctuation and unbalanced closing brackets are not part of it.
        loop {
            let url = &text[start..end];
            let Some(last) = url.chars().next_back() else {
                break;
            };
            let unbalanced = |open: char, close: char| {
                last == close && url.matches(open).count() < url.matches(close).count()
            };
            if matches!(last, '.' | ',' | ';' | ':' | '!' | '?' | '*' | '_')
                || unbalanced('(', ')')
                || unbalanced('[', ']')
            {
                end -= last.len_utf8();
            } else {
                break;
            }
        }
        let url = &text[start..end];
        if url_has_secret(url) {
            out.push(Candidate {
                start,
                end,
                kind: PiiKind::Url,
                key: url.to_owned(),
            });
        }
        // A URL without secrets is skipped whole (the other detectors still look
        // inside it, e.g. for an e-mail address in its path).
        Some((start, end))
    });
}

// ---------------------------------------------------------------- IBAN

/// IBAN length per country (the SWIFT registry).
const IBAN_LENGTHS: &str = "\
    AD24 AE23 AL28 AT20 AZ28 BA20 BE16 BG22 BH22 BI27 BR29 BY28 CH21 CR22 CY28 CZ24 \
    DE22 DJ27 DK18 DO28 EE20 EG29 ES24 FI18 FK18 FO18 FR27 GB22 GE22 GI23 GL18 GR27 \
    GT28 HR21 HU28 IE22 IL23 IQ23 IS26 IT27 JO30 KW30 KZ20 LB28 LC32 LI21 LT20 LU20 \
    LV21 LY25 MC27 MD24 ME22 MK19 MN20 MR27 MT31 MU30 NI28 NL18 NO15 OM23 PK24 PL28 \
    PS29 PT25 QA29 RO24 RS22 RU33 SA24 SC31 SD18 SE24 SI19 SK24 SM27 SO23 ST25 SV28 \
    TL23 TN24 TR26 UA29 VA22 VG24 XK20 YE30";

fn iban_length(country: &str) -> Option<usize> {
    IBAN_LENGTHS
        .split_whitespace()
        .find(|entry| entry.starts_with(country))
        .and_then(|entry| entry[2..].parse().ok())
}

/// The ISO 13616 check: move the first four characters to the end, letters to
/// numbers (A = 10), and the number mod 97 must be 1.
pub(crate) fn iban_checksum_ok(iban: &str) -> bool {
    if iban.len() < 5 || !iban.is_ascii() {
        return false;
    }
    let (head, tail) = iban.split_at(4);
    let mut remainder: u32 = 0;
    for c in tail.chars().chain(head.chars()) {
        let value = match c.to_ascii_uppercase() {
            d @ '0'..='9' => d as u32 - '0' as u32,
            l @ 'A'..='Z' => l as u32 - 'A' as u32 + 10,
            _ => return false,
        };
        remainder = if value >= 10 {
            (remainder * 100 + value) % 97
        } else {
            (remainder * 10 + value) % 97
        };
    }
    remainder == 1
}

fn ibans(text: &str, out: &mut Vec<Candidate>) {
    scan(&IBAN, text, |start, end| {
        let candidate = &text[start..end];
        let country = candidate.get(..2)?.to_ascii_uppercase();
        let length = iban_length(&country)?;
        // Take exactly the country's length of alphanumerics; it must end at a
        // word boundary (the regex may have run on into the next word).
        let mut compact = String::with_capacity(length);
        let mut cut = None;
        for (offset, c) in candidate.char_indices() {
            if c == ' ' {
                continue;
            }
            compact.push(c.to_ascii_uppercase());
            if compact.len() == length {
                cut = Some(start + offset + c.len_utf8());
                break;
            }
        }
        let cut = cut?;
        if char_after(text, cut).is_some_and(char::is_alphanumeric) {
            return None;
        }
        if !iban_checksum_ok(&compact) {
            return None;
        }
        out.push(Candidate {
            start,
            end: cut,
            kind: PiiKind::Iban,
            key: compact,
        });
        Some((start, cut))
    });
}

// ---------------------------------------------------------------- cards

/// The Luhn check over a string of ASCII digits.
pub(crate) fn luhn_ok(digits: &str) -> bool {
    let mut sum = 0;
    for (i, c) in digits.bytes().rev().enumerate() {
        if !c.is_ascii_digit() {
            return false;
        }
        let mut d = u32::from(c - b'0');
        if i % 2 == 1 {
            d *= 2;
            if d > 9 {
                d -= 9;
            }
        }
        sum += d;
    }
    !digits.is_empty() && sum.is_multiple_of(10)
}

fn card_ok(candidate: &str) -> bool {
    let separators: Vec<char> = candidate.chars().filter(|c| !c.is_ascii_digit()).collect();
    // One kind of separator throughout ("2026-03-04 2026…" is not a card).
    if separators.windows(2).any(|pair| pair[0] != pair[1]) {
        return false;
    }
    let digits = digits(candidate);
    // Issuer ranges start with 2–6 (Mastercard 2-series, Amex/Diners/JCB, Visa,
    // Mastercard/Maestro, Discover/UnionPay); epoch milliseconds start with 1.
    (13..=19).contains(&digits.len())
        && matches!(digits.as_bytes()[0], b'2'..=b'6')
        && luhn_ok(&digits)
}

fn cards(text: &str, out: &mut Vec<Candidate>) {
    scan(&CARD, text, |start, end| {
        let candidate = &text[start..end];
        // The longest valid run of whole groups, leftmost first.
        let mut bounds = vec![start];
        for (offset, c) in candidate.char_indices() {
            if !c.is_ascii_digit() {
                bounds.push(start + offset);
                bounds.push(start + offset + 1);
            }
        }
        bounds.push(end);
        let groups: Vec<(usize, usize)> = bounds.chunks(2).map(|pair| (pair[0], pair[1])).collect();
        // Digits before each group, so a window's digit count is one subtraction.
        let mut before = vec![0];
        for &(s, e) in &groups {
            before.push(before[before.len() - 1] + (e - s));
        }
        let mut best: Option<(usize, usize)> = None;
        for first in 0..groups.len() {
            // Issuer ranges start with 2–6: skip other starts without a check.
            if !matches!(text.as_bytes()[groups[first].0], b'2'..=b'6') {
                continue;
            }
            for last in (first..groups.len()).rev() {
                let (s, e) = (groups[first].0, groups[last].1);
                if best.is_some_and(|(bs, be)| be - bs >= e - s) {
                    break;
                }
                let count = before[last + 1] - before[first];
                if count > 19 {
                    continue;
                }
                if count < 13 {
                    break;
                }
                if card_ok(&text[s..e]) {
                    best = Some((s, e));
                    break;
                }
            }
        }
        let (s, e) = best?;
        out.push(Candidate {
            start: s,
            end: e,
            kind: PiiKind::Card,
            key: digits(&text[s..e]),
        });
        Some((s, e))
    });
}

// ---------------------------------------------------------------- accounts

fn accounts(text: &str, out: &mut Vec<Candidate>) {
    let mut pos = 0;
    while pos < text.len() {
        let Some(caps) = ACCOUNT.captures_at(text, pos) else {
            break;
        };
        let (Some(whole), Some(number)) = (caps.get(0), caps.get(1)) else {
            break;
        };
        out.push(Candidate {
            start: number.start(),
            end: number.end(),
            kind: PiiKind::Account,
            key: digits(number.as_str()),
        });
        pos = whole.end().max(whole.start() + 1);
    }
}

// ---------------------------------------------------------------- addresses

fn addresses(text: &str, out: &mut Vec<Candidate>) {
    scan(&ADDRESS, text, |start, end| {
        let span = &text[start..end];
        out.push(Candidate {
            start,
            end,
            kind: PiiKind::Address,
            key: span
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")
                .to_lowercase(),
        });
        Some((start, end))
    });
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    pub(in crate::redact) fn found(text: &str, kind: PiiKind) -> Vec<String> {
        let mut out = Vec::new();
        detect(text, &mut out);
        super::super::resolve(text, out)
            .into_iter()
            .filter(|c| c.kind == kind)
            .map(|c| text[c.start..c.end].to_owned())
            .collect()
    }

    #[test]
    fn luhn_and_mod97() {
        assert!(luhn_ok("4111111111111111"));
        assert!(!luhn_ok("4111111111111112"));
        assert!(luhn_ok("378282246310005"));
        assert!(iban_checksum_ok("GB82WEST12345698765432"));
        assert!(iban_checksum_ok("DE89370400440532013000"));
        assert!(!iban_checksum_ok("GB83WEST12345698765432"));
    }

    #[test]
    fn secret_urls() {
        assert!(url_has_secret("https://x.example.com/a?access_token=abc"));
        assert!(url_has_secret(
            "https://x.example.com/a?X-Amz-Signature=abc&b=1"
        ));
        assert!(url_has_secret("https://x.example.com/cb#state=1&code=xyz"));
        assert!(url_has_secret("https://user:pass@x.example.com/"));
        assert!(url_has_secret("https://x.example.com/?API_KEY=1"));
        assert!(!url_has_secret("https://x.example.com/a?ref=K7XQ2M"));
        assert!(!url_has_secret("https://x.example.com/monkey?page=2#keys"));
        assert!(!url_has_secret("https://x.example.com/a@b"));
    }

    #[test]
    fn cards_need_luhn_and_issuer() {
        assert_eq!(
            found("card 4111 1111 1111 1111 exp", PiiKind::Card),
            ["4111 1111 1111 1111"]
        );
        assert_eq!(
            found("4111-1111-1111-1111", PiiKind::Card),
            ["4111-1111-1111-1111"]
        );
        assert_eq!(
            found("amex 378282246310005.", PiiKind::Card),
            ["378282246310005"]
        );
        assert_eq!(
            found("2026 4111 1111 1111 1111", PiiKind::Card),
            ["4111 1111 1111 1111"]
        );
        assert!(found("4111 1111 1111 1112", PiiKind::Card).is_empty());
        assert!(found("date=\"1770652920000\"", PiiKind::Card).is_empty());
        assert!(found("2026-03-04 2026-03-05", PiiKind::Card).is_empty());
    }

    #[test]
    fn ibans_need_mod97() {
        assert_eq!(
            found("IBAN GB82 WEST 1234 5698 7654 32 please", PiiKind::Iban),
            ["GB82 WEST 1234 5698 7654 32"]
        );
        assert_eq!(
            found("to DE89370400440532013000.", PiiKind::Iban),
            ["DE89370400440532013000"]
        );
        assert!(found("GB83 WEST 1234 5698 7654 32", PiiKind::Iban).is_empty());
        assert!(found("XX82 WEST 1234 5698 7654 32", PiiKind::Iban).is_empty());
    }

    #[test]
    fn labelled_accounts() {
        for (text, number) in [
            ("account no. 12345678", "12345678"),
            ("Acct #98765432.", "98765432"),
            ("sort code 12-34-56", "12-34-56"),
            ("routing number 021000021", "021000021"),
            ("from your checking account ending 0291", "0291"),
            ("Account Number: 000123456789", "000123456789"),
        ] {
            assert_eq!(found(text, PiiKind::Account), [number], "{text}");
        }
        assert!(found("the account was closed in May", PiiKind::Account).is_empty());
    }

    #[test]
    fn street_addresses() {
        for (text, address) in [
            (
                "Site: 2417 SE Juniper St, Portland, OR 97214\n",
                "2417 SE Juniper St, Portland, OR 97214",
            ),
            (
                "at 900 E Lakeside Ave, Chicago, IL 60616.",
                "900 E Lakeside Ave, Chicago, IL 60616",
            ),
            ("2205 SE Belmont St, Suite 3", "2205 SE Belmont St, Suite 3"),
            (
                "10 Downing Street, London SW1A 2AA",
                "10 Downing Street, London SW1A 2AA",
            ),
            ("12 Main St. Apt 4B", "12 Main St. Apt 4B"),
            (
                "Rua do Limoeiro 14, Alfama, 1100-338 Lisboa",
                "Rua do Limoeiro 14, Alfama, 1100-338 Lisboa",
            ),
            ("Hauptstraße 5, 10115 Berlin", "Hauptstraße 5, 10115 Berlin"),
        ] {
            assert_eq!(found(text, PiiKind::Address), [address], "{text}");
        }
        for text in [
            "lives on SE Juniper Street",
            "we had 3 dogs on the way",
            "in 2026 the road was closed",
            "Emily St. John Mandel",
        ] {
            assert!(found(text, PiiKind::Address).is_empty(), "{text}");
        }
    }
}
