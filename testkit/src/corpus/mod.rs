//! A seeded generator of synthetic personal corpora (mbox archives and notes) for
//! benchmarks at scale: the same seed always writes the same bytes. The
//! connectors benchmark's richer inputs (MIME mails with HTML alternatives
//! and attachments, multi-page PDFs) are in [`formats`].

pub mod formats;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// What to generate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CorpusSpec {
    /// Mails to write, spread over mbox files.
    pub mails: usize,
    /// Mails per mbox file (like monthly archives).
    pub mails_per_mbox: usize,
    /// Markdown notes to write.
    pub documents: usize,
    /// Seed of the generator: the same spec always writes the same bytes.
    pub seed: u64,
}

impl Default for CorpusSpec {
    fn default() -> Self {
        Self {
            mails: 10_000,
            mails_per_mbox: 1_000,
            documents: 1_000,
            seed: 42,
        }
    }
}

/// What [`generate`] wrote.
#[derive(Debug, Clone, Default)]
pub struct GeneratedCorpus {
    /// The mbox files written, in order.
    pub mbox_files: Vec<PathBuf>,
    /// The Markdown notes written, in order.
    pub documents: Vec<PathBuf>,
    /// Total bytes written across all files.
    pub bytes: u64,
}

/// SplitMix64: tiny, fast, and reproducible across platforms.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator starting from `seed`.
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (`n > 0`).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n.max(1) as u64) as usize
    }

    /// One of `items`, uniformly (`items` must not be empty).
    pub fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

const FIRST: &[&str] = &[
    "Ana", "Ben", "Chloe", "Dev", "Elena", "Farid", "Greta", "Hiro", "Ines", "Jonas", "Kemi",
    "Luca", "Maya", "Noor", "Omar", "Priya", "Quinn", "Rosa", "Sam", "Tomás",
];
const LAST: &[&str] = &[
    "Okoye",
    "Marsh",
    "Reyes",
    "Müller",
    "Tanaka",
    "Silva",
    "Haddad",
    "Novak",
    "Bell",
    "Kowalski",
    "Natarajan",
    "Lindqvist",
];
const TOPICS: &[&str] = &[
    "kitchen remodel",
    "school fundraiser",
    "quarterly report",
    "dentist appointment",
    "flight to Lisbon",
    "car service",
    "book club",
    "tax return",
    "garden plot",
    "birthday party",
    "insurance renewal",
    "team offsite",
    "plumbing repair",
    "piano lessons",
    "volunteer shift",
    "conference talk",
];
const VERBS: &[&str] = &[
    "confirm",
    "reschedule",
    "review",
    "pay",
    "book",
    "cancel",
    "discuss",
    "send",
    "order",
    "sign",
];
const OBJECTS: &[&str] = &[
    "the invoice",
    "the contract",
    "the tickets",
    "the deposit",
    "the quote",
    "the agenda",
    "the permit",
    "the receipt",
    "the slides",
    "the form",
];
const WHEN: &[&str] = &[
    "on Monday",
    "by Friday",
    "next week",
    "before the 15th",
    "tomorrow morning",
    "after lunch",
    "at the end of the month",
    "this weekend",
];
const FILLER: &[&str] = &[
    "Let me know if that works for you.",
    "I checked the numbers twice and they look right.",
    "We can talk it through on the phone if that is easier.",
    "The office closes early on Fridays, so plan for that.",
    "I attached the notes from last time for reference.",
    "Thanks again for sorting this out so quickly.",
    "The weather forecast says rain, so bring a jacket.",
    "Please double-check the address before you send it.",
];

pub(crate) fn sentence(rng: &mut Rng) -> String {
    format!(
        "Could you {} {} for the {} {}? {} ",
        rng.pick(VERBS),
        rng.pick(OBJECTS),
        rng.pick(TOPICS),
        rng.pick(WHEN),
        rng.pick(FILLER)
    )
}

pub(crate) fn person(rng: &mut Rng) -> (String, String) {
    let (f, l) = (rng.pick(FIRST), rng.pick(LAST));
    let addr =
        format!("{}.{}@example.com", f.to_lowercase(), l.to_lowercase()).replace(['á', 'ü'], "u");
    (format!("{f} {l}"), addr)
}

/// One mail in mbox form (with its `From ` line); `variant` changes the body.
pub fn mail(rng: &mut Rng, index: usize, variant: u32) -> String {
    let (from_name, from) = person(rng);
    let (to_name, to) = person(rng);
    let topic = rng.pick(TOPICS);
    let day = 1 + index % 28;
    let month = 1 + (index / 28) % 12;
    let mut body = String::new();
    for _ in 0..(2 + rng.below(4)) {
        body.push_str(&sentence(rng));
    }
    if variant > 0 {
        let _ = write!(body, "Update {variant}: the plan changed again.");
    }
    format!(
        "From {from} Mon Jan  5 09:00:00 2026\nMessage-ID: <gen-{index}@example.com>\nFrom: {from_name} <{from}>\nTo: {to_name} <{to}>\nSubject: About the {topic} ({index})\nDate: Mon, {day} {} 2026 09:{:02}:00 +0000\nContent-Type: text/plain; charset=utf-8\n\nHi {},\n\n{body}\n\n{}\n\n",
        [
            "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"
        ][month - 1],
        index % 60,
        to_name.split(' ').next().unwrap_or("there"),
        from_name.split(' ').next().unwrap_or("")
    )
}

/// One Markdown note; `variant` changes its text.
pub fn note(rng: &mut Rng, index: usize, variant: u32) -> String {
    let topic = rng.pick(TOPICS);
    let mut text = format!("# Notes on the {topic} ({index})\n\n");
    for section in 0..(2 + rng.below(3)) {
        let _ = writeln!(text, "## Part {}\n", section + 1);
        for _ in 0..(3 + rng.below(5)) {
            text.push_str(&sentence(rng));
        }
        text.push_str("\n\n");
    }
    if variant > 0 {
        let _ = writeln!(text, "Revision {variant}.");
    }
    text
}

/// Writes the corpus under `dir` (`mail/archive-NNN.mbox`, `notes/note-NNNNN.md`).
pub fn generate(dir: &Path, spec: CorpusSpec) -> std::io::Result<GeneratedCorpus> {
    let mut out = GeneratedCorpus::default();
    std::fs::create_dir_all(dir.join("mail"))?;
    std::fs::create_dir_all(dir.join("notes"))?;
    let mut rng = Rng::new(spec.seed);
    let per = spec.mails_per_mbox.max(1);
    for (file_no, start) in (0..spec.mails).step_by(per).enumerate() {
        let mut mbox = String::new();
        for i in start..(start + per).min(spec.mails) {
            mbox.push_str(&mail(&mut rng, i, 0));
        }
        let path = dir.join(format!("mail/archive-{file_no:03}.mbox"));
        std::fs::write(&path, &mbox)?;
        out.bytes += mbox.len() as u64;
        out.mbox_files.push(path);
    }
    for i in 0..spec.documents {
        let text = note(&mut rng, i, 0);
        let path = dir.join(format!("notes/note-{i:05}.md"));
        std::fs::write(&path, &text)?;
        out.bytes += text.len() as u64;
        out.documents.push(path);
    }
    Ok(out)
}

/// Changes about `percent`% of the corpus: that share of the notes, and that
/// share of the mails of the first mbox file (the rest of it stays identical).
pub fn change(dir: &Path, spec: CorpusSpec, percent: f64, round: u32) -> std::io::Result<usize> {
    let mut rng = Rng::new(spec.seed ^ u64::from(round).wrapping_mul(0xA5A5_A5A5));
    let mut changed = 0;
    let docs = ((spec.documents as f64) * percent / 100.0).ceil() as usize;
    for k in 0..docs {
        let i = (k * 97) % spec.documents.max(1);
        std::fs::write(
            dir.join(format!("notes/note-{i:05}.md")),
            note(&mut rng, i, round),
        )?;
        changed += 1;
    }
    let mails = ((spec.mails as f64) * percent / 100.0).ceil() as usize;
    let first = dir.join("mail/archive-000.mbox");
    if mails > 0 && first.exists() {
        let text = std::fs::read_to_string(&first)?;
        let mut parts: Vec<String> = text.split("\nFrom ").map(str::to_owned).collect();
        let n = parts.len();
        for k in 0..mails.min(n) {
            let i = (k * 7) % n;
            let mut m = mail(&mut rng, i, round);
            if i > 0 {
                m = m.trim_start_matches("From ").to_owned();
            }
            parts[i] = m.trim_end_matches('\n').to_owned() + "\n";
            changed += 1;
        }
        std::fs::write(&first, parts.join("\nFrom "))?;
    }
    Ok(changed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_bytes_and_changes_are_partial() {
        let spec = CorpusSpec {
            mails: 30,
            mails_per_mbox: 10,
            documents: 5,
            seed: 7,
        };
        let a = tempfile_dir("a");
        let b = tempfile_dir("b");
        generate(&a, spec).unwrap();
        generate(&b, spec).unwrap();
        for f in [
            "mail/archive-000.mbox",
            "mail/archive-002.mbox",
            "notes/note-00004.md",
        ] {
            assert_eq!(
                std::fs::read(a.join(f)).unwrap(),
                std::fs::read(b.join(f)).unwrap()
            );
        }
        let mbox = std::fs::read_to_string(a.join("mail/archive-000.mbox")).unwrap();
        assert_eq!(
            mbox.matches("\nMessage-ID: ").count() + usize::from(mbox.starts_with("Message-ID")),
            10
        );
        let changed = change(&a, spec, 10.0, 1).unwrap();
        assert_eq!(changed, 1 + 3);
        let after = std::fs::read_to_string(a.join("mail/archive-000.mbox")).unwrap();
        assert_ne!(after, mbox);
        assert_eq!(
            after.matches("Message-ID: <gen-").count(),
            10,
            "still ten mails"
        );
        assert_eq!(
            std::fs::read(a.join("mail/archive-001.mbox")).unwrap(),
            std::fs::read(b.join("mail/archive-001.mbox")).unwrap()
        );
        std::fs::remove_dir_all(&a).unwrap();
        std::fs::remove_dir_all(&b).unwrap();
    }

    fn tempfile_dir(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("hearth-corpus-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        d
    }
}
