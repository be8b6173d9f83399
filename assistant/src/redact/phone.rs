//! Phone numbers: international, North American and European shapes, found in
//! a copy of the text where dates, times, money and letter-led ids are masked, so
//! that "2026-03-04", "$7,690" or "INV-2026-0042" never read as phone digits.

use std::sync::LazyLock;

use regex::Regex;

use super::PiiKind;
use super::patterns::{Candidate, char_after, char_before, compile, digits, scan};

/// Phone shapes, most specific first (the regex crate picks the first alternative
/// that matches at the leftmost position). Run on the masked text.
static PHONE: LazyLock<Regex> = LazyLock::new(|| {
    compile(
        r"(?x)
          \+\d{1,3}(?:[\x20.\-]?\(\d{1,5}\))?(?:[\x20.\-]?\d{1,6}){1,6}   # +44 20 7946 0958, +1 (415) 555-0132
        | \(\d{2,5}\)[\x20.\-]?\d{2,5}(?:[\x20.\-]?\d{2,5}){0,3}           # (415) 555 0132
        | \b(?:1[\x20.\-])?\d{3}[\x20.\-]\d{3}[\x20.\-]\d{4}\b                # 415-555-0132
        | \b0\d{1,4}(?:[\x20.\-/]?\d{2,8}){1,4}\b                      # 06 12 34 56 78, 030 123456
        | \b\d{3}-\d{4}\b                                           # 555-0132
        ",
    )
});

/// A digit run right after a phone label (`tel:`, `phone`, `mobile` …).
static LABELLED_PHONE: LazyLock<Regex> = LazyLock::new(|| {
    compile(
        r"(?i)\b(?:tel|phone|mobile|mob|cell|fax|ph|whatsapp|sms|call|text)\b\.?[ \t]*(?:no\.?|number|\#)?[ \t]*[:.]?[ \t]*(\+?\d[\d .\-/()]{5,22}\d)",
    )
});

/// Numbers that look like phone digits but are not: masked before the phone scan.
static NOT_PHONE: LazyLock<Regex> = LazyLock::new(|| {
    compile(
        r"(?x)
          \b\d{4}-\d{1,2}-\d{1,2}(?:[T\x20]\d{1,2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?(?:[\x20]?Z|[\x20]?[+\-]\d{2}:?\d{2})?)?   # ISO date/time
        | \b\d{1,2}[/.\-]\d{1,2}[/.\-](?:\d{4}|\d{2})\b              # 04/03/2026, 4.3.26
        | \b\d{4}[/.]\d{1,2}[/.]\d{1,2}\b                            # 2026/03/04
        | \b(?:19|20)\d{2}[\x20]?[\-–/][\x20]?(?:(?:19|20)\d{2}|\d{2})\b   # 2025-2026, 2025–26
        | \b(?:19|20)\d{2}-(?:0[1-9]|1[0-2])\b                       # 2026-09
        | \b\d{1,2}:\d{2}(?::\d{2})?(?:[\x20]?[AaPp]\.?[Mm]\.?)?     # 14:30, 7:30 AM
        | [$€£¥][\x20]?\d{1,3}(?:[,.'’]\d{3})*(?:[.,]\d{1,2})?\b     # $7,690
        | \b\d{1,3}(?:[,.\x20\u{a0}]\d{3})+(?:[.,]\d{1,2})?[\x20\u{a0}]?(?:€|EUR|USD|GBP|CHF|dollars?|euros?)\b   # 1 234 567 EUR
        | \b[A-Za-z][A-Za-z0-9]*(?:[\-_/][A-Za-z0-9]+)*              # INV-2026-0042, Q2025-118 (if it has a digit)
        ",
    )
});

/// The text with dates, times, money and letter-led ids overwritten by `x`
/// (same byte length, so offsets carry over).
fn mask_non_phones(text: &str) -> String {
    const LABELS: &[&str] = &[
        "tel", "phone", "mobile", "mob", "cell", "fax", "ph", "t", "m", "p", "f", "tlf", "tfn",
        "call", "sms", "whatsapp", "hotline", "office", "home", "work", "direct",
    ];
    let mut masked = text.as_bytes().to_vec();
    let mut pos = 0;
    while let Some(m) = NOT_PHONE.find_at(text, pos) {
        let token = m.as_str();
        let keep = if token.starts_with(|c: char| c.is_ascii_alphabetic()) {
            // A letter-led token masks only if it holds a digit and is not a label.
            let label: String = token
                .chars()
                .take_while(char::is_ascii_alphabetic)
                .collect::<String>()
                .to_ascii_lowercase();
            token.bytes().any(|b| b.is_ascii_digit()) && !LABELS.contains(&label.as_str())
        } else {
            // A date-like run that goes on with the same kind of separator and more
            // digits ("06.12.34.56.78") is a phone number, not a date.
            let after = &text[m.end()..];
            let mut rest = after.chars();
            !matches!((rest.next(), rest.next()), (Some('.' | '-' | '/'), Some(d)) if d.is_ascii_digit())
        };
        if keep {
            masked[m.start()..m.end()].fill(b'x');
        }
        pos = m.end().max(m.start() + 1);
        while pos < text.len() && !text.is_char_boundary(pos) {
            pos += 1;
        }
    }
    // Only whole matches were overwritten with ASCII, so this stays UTF-8.
    String::from_utf8(masked).unwrap_or_else(|_| text.to_owned())
}

/// Checks a phone candidate in the masked text; shortens one that ran on into
/// more digit groups than a phone number has.
fn phone_span(masked: &str, start: usize, mut end: usize) -> Option<(usize, usize)> {
    if let Some(before) = char_before(masked, start) {
        if before.is_alphanumeric() || matches!(before, '_' | '#' | '$' | '€' | '£' | '¥' | '+')
        {
            return None;
        }
        if matches!(before, '-' | '/' | '.' | ',')
            && char_before(masked, start - 1).is_some_and(|c| c.is_ascii_digit())
        {
            return None;
        }
    }
    loop {
        let count = digits(&masked[start..end]).len();
        if count < 7 {
            return None;
        }
        if count <= 15 {
            break;
        }
        let cut = masked[start..end].rfind([' ', '.', '-', '/'])?;
        end = start + cut;
        while masked[start..end].ends_with([' ', '.', '-', '/', '(']) {
            end -= 1;
        }
    }
    if let Some(after) = char_after(masked, end) {
        if after.is_alphanumeric() || after == '_' || after == '%' {
            return None;
        }
        let mut rest = masked[end..].chars().skip(1);
        if matches!(after, '-' | '/' | '.' | ',' | ':')
            && rest.next().is_some_and(|c| c.is_ascii_digit())
        {
            return None;
        }
    }
    Some((start, end))
}

fn phone_key(span: &str) -> String {
    let mut key = String::new();
    if span.starts_with('+') {
        key.push('+');
    }
    key.push_str(&digits(span));
    key
}

pub(super) fn phones(text: &str, out: &mut Vec<Candidate>) {
    let masked = mask_non_phones(text);
    scan(&PHONE, &masked, |start, end| {
        let (s, e) = phone_span(&masked, start, end)?;
        out.push(Candidate {
            start: s,
            end: e,
            kind: PiiKind::Phone,
            key: phone_key(&text[s..e]),
        });
        Some((s, e))
    });
    // Labelled numbers are read from the masked text too, so "call 2026-03-04"
    // stays a date.
    let mut pos = 0;
    while pos < masked.len() {
        let Some(caps) = LABELLED_PHONE.captures_at(&masked, pos) else {
            break;
        };
        let (Some(whole), Some(number)) = (caps.get(0), caps.get(1)) else {
            break;
        };
        let mut end = number.end();
        // A closing parenthesis without its opening one is punctuation.
        if text[number.start()..end].ends_with(')') && !text[number.start()..end].contains('(') {
            end -= 1;
        }
        let count = digits(&text[number.start()..end]).len();
        if (7..=15).contains(&count)
            && !char_after(text, end).is_some_and(|c| c.is_alphanumeric() || c == ':')
        {
            out.push(Candidate {
                start: number.start(),
                end,
                kind: PiiKind::Phone,
                key: phone_key(&text[number.start()..end]),
            });
        }
        pos = whole.end().max(whole.start() + 1);
    }
}

#[cfg(test)]
mod tests {
    use super::super::patterns::tests::found;
    use super::*;

    #[test]
    fn phone_shapes() {
        for phone in [
            "+44 20 7946 0958",
            "+1 (415) 555-0132",
            "415-555-0132",
            "(415) 555 0132",
            "06 12 34 56 78",
            "06.12.34.56.78",
            "+49 30 123456",
            "+15035550142",
            "555-0142",
            "0612345678",
        ] {
            let text = format!("reach me on {phone}, thanks");
            assert_eq!(found(&text, PiiKind::Phone), [phone], "{text}");
        }
    }

    #[test]
    fn phone_lookalikes() {
        for text in [
            "on 2026-03-04 at 10:15",
            "at 2026-03-04T10:15:00Z sharp",
            "Date: Mon, 29 Sep 2025 09:30:00 -0800",
            "from 09/02/2026, 07:41 to 19/09/2026",
            "paid $7,690 and €1 234 567 EUR",
            "invoice INV-2026-0042 and quote Q2025-118",
            "years 2025-2026 and 2025 2026",
            "order user5124870331 and FFS25-3391",
            "ZIP 97214-1234",
            "IP 192.168.100.200",
        ] {
            assert!(
                found(text, PiiKind::Phone).is_empty(),
                "{text}: {:?}",
                found(text, PiiKind::Phone)
            );
        }
        // A date next to a phone number does not hide it.
        assert_eq!(
            found("2026-03-04 415-555-0132", PiiKind::Phone),
            ["415-555-0132"]
        );
        assert_eq!(found("tel. 4155550132", PiiKind::Phone), ["4155550132"]);
    }
}
