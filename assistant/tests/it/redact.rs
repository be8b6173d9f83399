//! The redactor that runs before any cloud call: one test per kind (with the
//! look-alikes it must leave alone), stable placeholders, round trips, a property
//! test with planted values, and a leak test over the demo corpus.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use hearth_assistant::redact::{PiiKind, Redactor};
use proptest::prelude::*;

/// The spans of `kind` that a name-less redactor finds in `text`.
fn found(text: &str, kind: PiiKind) -> Vec<String> {
    found_with(&Redactor::new(), text, kind)
}

fn found_with(redactor: &Redactor, text: &str, kind: PiiKind) -> Vec<String> {
    redactor
        .detect(text)
        .into_iter()
        .filter(|d| d.kind == kind)
        .map(|d| text[d.start..d.end].to_owned())
        .collect()
}

fn assert_finds(kind: PiiKind, text: &str, expected: &[&str]) {
    assert_eq!(found(text, kind), expected, "{kind} in {text:?}");
}

fn assert_clean(text: &str) {
    let detections = Redactor::new().detect(text);
    assert!(
        detections.is_empty(),
        "{text:?}: {:?}",
        detections
            .iter()
            .map(|d| (d.kind, &text[d.start..d.end]))
            .collect::<Vec<_>>()
    );
}

// ------------------------------------------------------------------ per kind

#[test]
fn emails() {
    assert_finds(
        PiiKind::Email,
        "write to elena.marsh@example.com or Jonas+bikes@mail.example.org.",
        &["elena.marsh@example.com", "Jonas+bikes@mail.example.org"],
    );
    assert_finds(
        PiiKind::Email,
        "<greta.müller@example.de>",
        &["greta.müller@example.de"],
    );
    // A name in the local part is still an e-mail address.
    let redactor = Redactor::with_names(["Priya Raman"]);
    let text = "Priya.Raman@example.com";
    assert_eq!(found_with(&redactor, text, PiiKind::Email), [text]);
    assert!(found_with(&redactor, text, PiiKind::Person).is_empty());
    for text in ["@handle", "user@localhost", "a @ b.com", "foo@bar", "x@1.2"] {
        assert!(found(text, PiiKind::Email).is_empty(), "{text}");
    }
}

#[test]
fn phones() {
    for phone in [
        "+44 20 7946 0958",
        "+1 (415) 555-0132",
        "415-555-0132",
        "(415) 555 0132",
        "06 12 34 56 78",
        "+49 30 123456",
        "+33 6 12 34 56 78",
        "1-800-555-0199",
        "(503) 555-0188",
    ] {
        assert_finds(
            PiiKind::Phone,
            &format!("You can reach me at {phone}."),
            &[phone],
        );
    }
    assert_finds(PiiKind::Phone, "Mobile: 4155550132", &["4155550132"]);
    for text in [
        "Due 2026-03-04, then 2026-04-01.",
        "Timestamp 2026-03-04T10:15:00Z and 2026-03-04 10:15:00+01:00",
        "at 10:15 or 7:30 PM",
        "in 1999, 2025 and 2026",
        "total $7,690 plus $22,650.00 and 1 234 567 EUR",
        "invoice INV-2026-0042 and quote Q2025-118",
        "Date: Mon, 29 Sep 2025 09:30:00 -0800",
        "09/02/2026, 07:41 - Tomás: hi",
        "Member ID group 88-3140, VIN 4S4BSAFC8J3300417",
        "from 2025-2026 and 2025–26",
    ] {
        assert!(
            found(text, PiiKind::Phone).is_empty(),
            "{text}: {:?}",
            found(text, PiiKind::Phone)
        );
    }
}

/// A Luhn-valid number with the given digits before the check digit.
fn with_check_digit(body: &str) -> String {
    for check in 0..10 {
        let candidate = format!("{body}{check}");
        if luhn(&candidate) {
            return candidate;
        }
    }
    unreachable!("one check digit always fits")
}

fn luhn(digits: &str) -> bool {
    let sum: u32 = digits
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, b)| {
            let d = u32::from(b - b'0');
            if i % 2 == 1 {
                let d = d * 2;
                if d > 9 { d - 9 } else { d }
            } else {
                d
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

#[test]
fn cards() {
    assert_finds(
        PiiKind::Card,
        "Visa 4111 1111 1111 1111, exp 09/28",
        &["4111 1111 1111 1111"],
    );
    assert_finds(
        PiiKind::Card,
        "card 5555-5555-5555-4444",
        &["5555-5555-5555-4444"],
    );
    assert_finds(PiiKind::Card, "amex 378282246310005", &["378282246310005"]);
    assert_finds(PiiKind::Card, "6011111111111117.", &["6011111111111117"]);
    // Luhn-invalid 16-digit numbers are not cards (nor anything else).
    for bad in [
        "4111 1111 1111 1112",
        "5555-5555-5555-4445",
        "1234567812345678",
    ] {
        assert!(found(bad, PiiKind::Card).is_empty(), "{bad}");
    }
    let valid = with_check_digit("453201511283036");
    let invalid = format!("{}{}", &valid[..15], (valid.as_bytes()[15] - b'0' + 1) % 10);
    assert_finds(PiiKind::Card, &valid, &[valid.as_str()]);
    assert!(found(&invalid, PiiKind::Card).is_empty());
    // Epoch milliseconds pass Luhn now and then: not cards.
    assert!(found("date=\"1770652920000\"", PiiKind::Card).is_empty());
}

#[test]
fn ibans() {
    for iban in [
        "GB82 WEST 1234 5698 7654 32",
        "GB82WEST12345698765432",
        "DE89 3704 0044 0532 0130 00",
        "FR14 2004 1010 0505 0001 3M02 606",
        "NL91ABNA0417164300",
    ] {
        assert_finds(PiiKind::Iban, &format!("pay to {iban} today"), &[iban]);
    }
    // A wrong check digit, an unknown country, a short one.
    for bad in [
        "GB83 WEST 1234 5698 7654 32",
        "DE88370400440532013000",
        "ZZ82 WEST 1234 5698 7654 32",
        "GB82 WEST 1234",
    ] {
        assert!(found(bad, PiiKind::Iban).is_empty(), "{bad}");
    }
}

#[test]
fn accounts() {
    for (text, number) in [
        ("account no. 12345678", "12345678"),
        ("Acct #98765432", "98765432"),
        ("sort code 12-34-56, account 31926819", "12-34-56"),
        ("routing number 021000021", "021000021"),
        ("drafted from your checking account ending 0291", "0291"),
    ] {
        assert_eq!(found(text, PiiKind::Account)[0], number, "{text}");
    }
    assert_finds(
        PiiKind::Account,
        "sort code 12-34-56, account 31926819",
        &["12-34-56", "31926819"],
    );
    // Unlabelled digits are not accounts; the "house" account has no number.
    assert!(found("12345678", PiiKind::Account).is_empty());
    assert!(found("the \"house\" account was topped up", PiiKind::Account).is_empty());
}

#[test]
fn addresses() {
    for address in [
        "2417 SE Juniper St, Portland, OR 97214",
        "900 E Lakeside Ave, Chicago, IL 60616",
        "2205 SE Belmont St, Suite 3",
        "1600 Pennsylvania Avenue NW",
        "221B Baker Street, London NW1 6XE",
        "42 Wallaby Way",
        "7 Elm Ct. #12",
        "Rua do Limoeiro 14, Alfama, 1100-338 Lisboa",
    ] {
        assert_finds(
            PiiKind::Address,
            &format!("Ship to: {address}\nThanks"),
            &[address],
        );
    }
    for text in [
        "She lives on SE Juniper Street.",
        "about 3 weeks on the road",
        "in 2026 we drove up Highway 26",
        "Emily St. John Mandel wrote it",
    ] {
        assert!(found(text, PiiKind::Address).is_empty(), "{text}");
    }
}

#[test]
fn urls_with_secrets_only() {
    for url in [
        "https://files.example.com/d/report.pdf?token=8f3a9c2b",
        "https://s3.example.com/b/k?X-Amz-Signature=abc123&X-Amz-Date=20260304",
        "https://app.example.com/callback#access_token=eyJhbGci&state=1",
        "https://bob:hunter2@ftp.example.com/pub",
        "http://example.com/reset?Code=991204",
        "https://example.com/api?API_KEY=xyz",
    ] {
        assert_finds(PiiKind::Url, &format!("open {url}."), &[url]);
    }
    for text in [
        "https://ridewithgps.example.com/routes/4471",
        "https://northwind.example.com/manage?ref=K7XQ2M",
        "see https://example.com/docs?page=2#keys.",
        "www.example.org/about",
    ] {
        assert_clean(text);
    }
}

#[test]
fn known_names() {
    let redactor =
        Redactor::with_names(["Priya Raman", "Tomás Reyes", "Elena Marsh", "Jonas Marsh"]);
    let text = "Priya Raman said Priya's bike is at Tomás's. Elena and Jonas Marsh came; \
                Marsh too. priya and Ramanujan did not.";
    assert_eq!(
        found_with(&redactor, text, PiiKind::Person),
        [
            "Priya Raman",
            "Priya",
            "Tomás",
            "Elena",
            "Jonas Marsh",
            "Marsh"
        ]
    );
    let mut redactor = redactor;
    let redacted = redactor.redact(text);
    assert_eq!(
        redacted,
        "<PERSON_1> said <PERSON_1>'s bike is at <PERSON_2>'s. <PERSON_3> and <PERSON_4> came; \
         <PERSON_5> too. priya and Ramanujan did not."
    );
}

// ------------------------------------------------------------------ placeholders

const EVERY_KIND: &str = "From Priya Raman <priya.raman@example.org>, +44 20 7946 0958.\n\
    Card 4111 1111 1111 1111, IBAN GB82 WEST 1234 5698 7654 32, account no. 31926819.\n\
    Ship to 2417 SE Juniper St, Portland, OR 97214. \
    Download https://files.example.com/r.pdf?sig=abc123 before 2026-03-04.";

#[test]
fn every_kind_round_trips() {
    let mut redactor = Redactor::with_names(["Priya Raman"]);
    let redacted = redactor.redact(EVERY_KIND);
    assert_eq!(
        redacted,
        "From <PERSON_1> <<EMAIL_1>>, <PHONE_1>.\n\
         Card <CARD_1>, IBAN <IBAN_1>, account no. <ACCOUNT_1>.\n\
         Ship to <ADDRESS_1>. \
         Download <URL_1> before 2026-03-04."
    );
    assert_eq!(redactor.rehydrate(&redacted), EVERY_KIND);
    let summary = redactor.summary();
    for kind in PiiKind::ALL {
        assert_eq!(summary.get(kind).values, 1, "{kind}");
    }
    let mapping: Vec<_> = redactor.mapping().collect();
    assert_eq!(mapping.len(), 8);
    assert!(mapping.iter().any(|m| m.kind == PiiKind::Iban
        && m.placeholder == "<IBAN_1>"
        && m.original == "GB82 WEST 1234 5698 7654 32"));
}

#[test]
fn placeholders_are_stable_across_calls() {
    let mut redactor = Redactor::with_names(["Priya Raman", "Sam Okoye"]);
    let first = redactor.redact("Sam Okoye (sam@example.net) and Priya Raman.");
    let second = redactor.redact("Priya Raman wrote to sam@example.net and bob@example.com.");
    assert_eq!(first, "<PERSON_1> (<EMAIL_1>) and <PERSON_2>.");
    assert_eq!(second, "<PERSON_2> wrote to <EMAIL_1> and <EMAIL_2>.");
    // A multi-message answer rehydrates against the whole conversation.
    assert_eq!(
        redactor
            .rehydrate("Ask <PERSON_1> to copy [EMAIL_2] and <person_2>; <PHONE_1> is unknown."),
        "Ask Sam Okoye to copy bob@example.com and Priya Raman; <PHONE_1> is unknown."
    );
    let summary = redactor.summary();
    assert_eq!(summary.get(PiiKind::Person).occurrences, 3);
    assert_eq!(summary.get(PiiKind::Email).values, 2);
    let json = serde_json::to_string(&summary).expect("summary serialises");
    assert!(json.contains("\"person\""), "{json}");
    assert!(!json.contains("Sam") && !json.contains("example"), "{json}");
}

// ------------------------------------------------------------------ property

const NAMES: &[&str] = &[
    "Priya Raman",
    "Tomás Reyes",
    "Greta Müller",
    "Sam Okoye",
    "Mary-Jane Watson",
    "Kenji Watanabe",
];

fn card() -> impl Strategy<Value = String> {
    let prefix = prop::sample::select(vec!["4", "51", "55", "2221", "6011", "37"]);
    (prefix, prop::collection::vec(0u8..10, 18), 0usize..3).prop_map(|(prefix, digits, style)| {
        let length = if prefix == "37" { 15 } else { 16 };
        let mut body = prefix.to_owned();
        for d in digits.into_iter().take(length - 1 - prefix.len()) {
            body.push(char::from(b'0' + d));
        }
        let number = with_check_digit(&body);
        match style {
            0 => number,
            1 => group(&number, 4, ' '),
            _ => group(&number, 4, '-'),
        }
    })
}

fn group(s: &str, size: usize, sep: char) -> String {
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && i % size == 0 {
            out.push(sep);
        }
        out.push(c);
    }
    out
}

fn mod97(s: &str) -> u32 {
    s.chars().fold(0, |acc, c| {
        let v = c.to_digit(36).expect("alphanumeric");
        if v >= 10 {
            (acc * 100 + v) % 97
        } else {
            (acc * 10 + v) % 97
        }
    })
}

fn iban() -> impl Strategy<Value = String> {
    // (country, letters at the start of the BBAN, BBAN length)
    let country = prop::sample::select(vec![
        ("DE", 0, 18),
        ("GB", 4, 18),
        ("NL", 4, 14),
        ("FR", 0, 23),
        ("ES", 0, 20),
        ("PT", 0, 21),
        ("BE", 0, 12),
        ("NO", 0, 11),
    ]);
    (
        country,
        prop::collection::vec(0u8..26, 30),
        prop::collection::vec(0u8..10, 30),
        any::<bool>(),
    )
        .prop_map(|((cc, letters, length), ls, ds, spaced)| {
            let mut bban = String::new();
            for i in 0..length {
                if i < letters {
                    bban.push(char::from(b'A' + ls[i]));
                } else {
                    bban.push(char::from(b'0' + ds[i]));
                }
            }
            let check = 98 - mod97(&format!("{bban}{cc}00"));
            let iban = format!("{cc}{check:02}{bban}");
            if spaced { group(&iban, 4, ' ') } else { iban }
        })
}

fn email() -> impl Strategy<Value = String> {
    "[a-z]{1,8}(\\.[a-z]{1,8})?@[a-z]{2,10}\\.(com|org|net|io)"
}

fn phone() -> impl Strategy<Value = String> {
    let d = |n: usize| {
        prop::collection::vec(0u8..10, n).prop_map(|v| {
            v.into_iter()
                .map(|d| char::from(b'0' + d))
                .collect::<String>()
        })
    };
    prop_oneof![
        (d(4), d(4)).prop_map(|(a, b)| format!("+44 20 {a} {b}")),
        (2u8..10, d(2), d(3), d(4)).prop_map(|(f, a, b, c)| format!("+1 ({f}{a}) {b}-{c}")),
        (2u8..10, d(2), d(3), d(4)).prop_map(|(f, a, b, c)| format!("{f}{a}-{b}-{c}")),
        (2u8..10, d(2), d(3), d(4)).prop_map(|(f, a, b, c)| format!("({f}{a}) {b} {c}")),
        (1u8..10, d(8)).prop_map(|(f, r)| format!("0{f} {}", group(&r, 2, ' '))),
        d(6).prop_map(|r| format!("+49 30 {r}")),
    ]
}

fn secret_url() -> impl Strategy<Value = String> {
    (
        "[a-z]{3,8}",
        "(token|sig|access_token|key)",
        "[A-Za-z0-9]{6,20}",
    )
        .prop_map(|(host, param, value)| format!("https://{host}.example.com/f?{param}={value}"))
}

fn planted() -> impl Strategy<Value = String> {
    prop_oneof![
        card(),
        iban(),
        email(),
        phone(),
        secret_url(),
        prop::sample::select(NAMES).prop_map(str::to_owned),
        prop::sample::select(NAMES).prop_map(|n| format!("{n}'s")),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn planted_values_never_survive(
        pieces in prop::collection::vec(
            (prop::collection::vec("[a-z]{1,10}", 1..4), planted(), prop::sample::select(vec![" ", ", ", "\n", "; "])),
            1..8,
        ),
        tail in "[a-z]{1,10}",
    ) {
        let mut text = String::new();
        let mut values = Vec::new();
        for (words, value, sep) in &pieces {
            text.push_str(&words.join(" "));
            text.push(' ');
            text.push_str(value);
            text.push_str(sep);
            values.push(value.trim_end_matches("'s").to_owned());
        }
        text.push_str(&tail);

        let mut redactor = Redactor::with_names(NAMES.iter().copied());
        let redacted = redactor.redact(&text);
        for value in &values {
            prop_assert!(!redacted.contains(value.as_str()), "{value:?} survived in {redacted:?}");
        }
        prop_assert_eq!(redactor.rehydrate(&redacted), text);
    }
}

// ------------------------------------------------------------------ demo corpus

fn demo_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/demo")
}

fn files_under(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(|err| panic!("{}: {err}", dir.display()))
        .map(|entry| entry.expect("directory entry").path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            files_under(&path, out);
        } else {
            out.push(path);
        }
    }
}

/// RFC 2047 encoded words (`=?UTF-8?Q?Tom=C3=A1s_Reyes?=`, `?B?`) decoded.
fn decode_words(value: &str) -> String {
    let mut out = String::new();
    let mut rest = value;
    let mut last_was_word = false;
    while let Some(start) = rest.find("=?") {
        let (before, from) = rest.split_at(start);
        let parts: Vec<&str> = from[2..].splitn(3, '?').collect();
        let decoded = (parts.len() == 3)
            .then(|| {
                parts[2]
                    .find("?=")
                    .map(|end| (parts[1], &parts[2][..end], end))
            })
            .flatten();
        let Some((encoding, payload, end)) = decoded else {
            out.push_str(before);
            out.push_str("=?");
            rest = &from[2..];
            last_was_word = false;
            continue;
        };
        if !(last_was_word && before.trim().is_empty()) {
            out.push_str(before);
        }
        let bytes = if encoding.eq_ignore_ascii_case("b") {
            base64(payload)
        } else {
            quoted_printable(&payload.replace('_', " "))
        };
        out.push_str(&String::from_utf8_lossy(&bytes));
        let consumed = 2 + parts[0].len() + 1 + parts[1].len() + 1 + end + 2;
        rest = &from[consumed..];
        last_was_word = true;
    }
    out.push_str(rest);
    out
}

fn quoted_printable(s: &str) -> Vec<u8> {
    let bytes = s.as_bytes();
    let hex = |b: u8| char::from(b).to_digit(16);
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'='
            && i + 2 < bytes.len()
            && let (Some(high), Some(low)) = (hex(bytes[i + 1]), hex(bytes[i + 2]))
        {
            out.push((high * 16 + low) as u8);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    out
}

fn base64(s: &str) -> Vec<u8> {
    let value = |c: u8| match c {
        b'A'..=b'Z' => Some(c - b'A'),
        b'a'..=b'z' => Some(c - b'a' + 26),
        b'0'..=b'9' => Some(c - b'0' + 52),
        b'+' => Some(62),
        b'/' => Some(63),
        _ => None,
    };
    let mut out = Vec::new();
    let (mut acc, mut bits) = (0u32, 0);
    for v in s.bytes().filter_map(value) {
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    out
}

/// Display names and addresses of the From/To/Cc headers of an mbox.
fn mail_participants(mbox: &str, names: &mut BTreeSet<String>, emails: &mut BTreeSet<String>) {
    let mut in_headers = false;
    let mut headers: Vec<String> = Vec::new();
    for line in mbox.lines() {
        if line.starts_with("From ") && !in_headers {
            in_headers = true;
            continue;
        }
        if !in_headers {
            continue;
        }
        if line.is_empty() {
            in_headers = false;
            continue;
        }
        if line.starts_with([' ', '\t']) {
            if let Some(last) = headers.last_mut() {
                last.push(' ');
                last.push_str(line.trim());
            }
        } else {
            headers.push(line.to_owned());
        }
    }
    for header in headers {
        let Some((name, value)) = header.split_once(':') else {
            continue;
        };
        if !["from", "to", "cc"].contains(&name.to_ascii_lowercase().as_str()) {
            continue;
        }
        for mailbox in split_addresses(value) {
            let (display, address) = match (mailbox.find('<'), mailbox.rfind('>')) {
                (Some(open), Some(close)) if open < close => {
                    (&mailbox[..open], &mailbox[open + 1..close])
                }
                _ => ("", mailbox.as_str()),
            };
            let display = decode_words(display.trim())
                .trim()
                .trim_matches('"')
                .to_owned();
            if !display.is_empty() {
                names.insert(display);
            }
            if address.contains('@') {
                emails.insert(address.trim().to_lowercase());
            }
        }
    }
}

fn split_addresses(value: &str) -> Vec<String> {
    let (mut out, mut current) = (Vec::new(), String::new());
    let (mut quoted, mut angle) = (false, false);
    for c in value.chars() {
        match c {
            '"' => quoted = !quoted,
            '<' => angle = true,
            '>' => angle = false,
            ',' if !quoted && !angle => {
                out.push(std::mem::take(&mut current));
                continue;
            }
            _ => {}
        }
        current.push(c);
    }
    out.push(current);
    out.into_iter()
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .collect()
}

/// Every e-mail address in `text`, found independently of the redactor's regex.
fn addresses_in(text: &str, emails: &mut BTreeSet<String>) {
    let bytes = text.as_bytes();
    let local = |b: u8| b.is_ascii_alphanumeric() || b"._%+-".contains(&b);
    let domain = |b: u8| b.is_ascii_alphanumeric() || b".-".contains(&b);
    for (at, _) in text.match_indices('@') {
        let mut start = at;
        while start > 0 && local(bytes[start - 1]) {
            start -= 1;
        }
        let mut end = at + 1;
        while end < bytes.len() && domain(bytes[end]) {
            end += 1;
        }
        let local_part = text[start..at].trim_start_matches('.');
        let domain_part = text[at + 1..end].trim_end_matches(['.', '-']);
        if !local_part.is_empty() && domain_part.contains('.') {
            emails.insert(format!("{local_part}@{domain_part}").to_lowercase());
        }
    }
}

fn collapse(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn assert_no_leak(
    label: &str,
    redacted: &str,
    names: &BTreeSet<String>,
    emails: &BTreeSet<String>,
) {
    let flat = collapse(redacted);
    let lower = flat.to_lowercase();
    for email in emails {
        assert!(!lower.contains(email.as_str()), "{label}: {email} survived");
    }
    for name in names {
        assert!(!flat.contains(&collapse(name)), "{label}: {name} survived");
    }
}

#[test]
fn demo_corpus_does_not_leak() {
    let mut files = Vec::new();
    files_under(&demo_dir(), &mut files);
    let texts: Vec<(PathBuf, String)> = files
        .into_iter()
        .filter_map(|path| {
            let bytes =
                std::fs::read(&path).unwrap_or_else(|err| panic!("{}: {err}", path.display()));
            String::from_utf8(bytes).ok().map(|text| (path, text))
        })
        .collect();
    assert!(
        texts
            .iter()
            .any(|(p, _)| p.extension().is_some_and(|e| e == "mbox"))
    );
    assert!(
        texts
            .iter()
            .any(|(p, _)| p.extension().is_some_and(|e| e == "md"))
    );

    let mut names = BTreeSet::new();
    let mut emails = BTreeSet::new();
    for (path, text) in &texts {
        if path.extension().is_some_and(|e| e == "mbox") {
            mail_participants(text, &mut names, &mut emails);
        }
        addresses_in(text, &mut emails);
    }
    for expected in [
        "Elena Marsh",
        "Tomás Reyes",
        "Greta Müller",
        "Priya Natarajan",
    ] {
        assert!(names.contains(expected), "{expected} not among {names:?}");
    }
    assert!(emails.contains("elena.marsh@example.com"));

    // The files as they are on disk (raw mail, Markdown, text, chat exports).
    for (path, text) in &texts {
        let mut redactor = Redactor::with_names(&names);
        let redacted = redactor.redact(text);
        assert_no_leak(&path.display().to_string(), &redacted, &names, &emails);
        assert!(redactor.summary().occurrences() > 0 || !text.contains('@'));
    }

    // The documents as the connectors decode them (quoted-printable, base64 and
    // HTML bodies, encoded-word headers): the text that would reach a prompt.
    let found = hearth_connectors::discover(&[demo_dir()]).expect("demo corpus");
    let mut documents = Vec::new();
    for file in &found.files {
        for document in hearth_connectors::read_source(file) {
            let document = document.expect("demo documents read");
            for participant in &document.participants {
                names.extend(participant.name.clone());
                emails.extend(participant.address.clone().map(|a| a.to_lowercase()));
            }
            documents.push(document);
        }
    }
    assert!(documents.len() >= 50, "only {} documents", documents.len());
    for document in &documents {
        let mut redactor = Redactor::with_names(&names);
        let redacted = redactor.redact(&format!("{}\n{}", document.title, document.text));
        assert_no_leak(&document.uri, &redacted, &names, &emails);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Hostile input (digits, separators, accents, half placeholders) never panics,
    /// and redacting twice changes nothing more: nothing detectable is left.
    #[test]
    fn arbitrary_text_never_panics(
        text in "[0-9 +().\\-/:,#$€£a-zA-ZéüÁß@<>_\\[\\]\n]{0,300}|\\PC{0,200}",
    ) {
        let mut redactor = Redactor::with_names(NAMES.iter().copied());
        let redacted = redactor.redact(&text);
        let _ = redactor.rehydrate(&redacted);
        let mut again = Redactor::with_names(NAMES.iter().copied());
        let twice = again.redact(&redacted);
        prop_assert_eq!(&twice, &redacted);
    }
}
