//! Inputs for the connectors benchmark, seeded like the rest of the corpus:
//! mbox archives of MIME mails as mail clients write them (a third
//! `multipart/alternative` with an HTML part, a tenth carrying a base64
//! attachment, `From ` lines in bodies quoted) and multi-page PDFs with a
//! text layer (Helvetica, WinAnsi), written object by object with a correct
//! cross-reference table.

use super::{Rng, mail, person, sentence};
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::Path;

/// One mail in mbox form: the plain generated mail, or a MIME one with an
/// HTML alternative and, for some, an attachment.
pub fn mime_mail(rng: &mut Rng, index: usize) -> String {
    match index % 10 {
        0 | 3 | 6 => alternative(rng, index, false),
        9 => alternative(rng, index, true),
        _ => mail(rng, index, 0),
    }
}

fn alternative(rng: &mut Rng, index: usize, attachment: bool) -> String {
    let (from_name, from) = person(rng);
    let (to_name, to) = person(rng);
    let paragraphs: Vec<String> = (0..2 + rng.below(4)).map(|_| sentence(rng)).collect();
    let plain = paragraphs.join("\n\n");
    let html: String = paragraphs
        .iter()
        .map(|p| {
            format!(
                "<p style=\"margin:0 0 1em\">{}</p>\n",
                p.replace('&', "&amp;")
            )
        })
        .collect();
    let mut out = format!(
        "From {from} Tue Feb  3 10:00:00 2026\nMessage-ID: <mime-{index}@example.com>\nFrom: \"{from_name}\" <{from}>\nTo: {to_name} <{to}>\nSubject: =?UTF-8?Q?Re=3A_the_plan_=E2=80=94_{index}?=\nDate: Tue, 3 Feb 2026 10:{:02}:00 +0100\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"mixed-{index}\"\n\n--mixed-{index}\nContent-Type: multipart/alternative; boundary=\"alt-{index}\"\n\n--alt-{index}\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: quoted-printable\n\n{}\n--alt-{index}\nContent-Type: text/html; charset=utf-8\n\n<html><body>\n{html}</body></html>\n--alt-{index}--\n",
        index % 60,
        plain.replace('=', "=3D"),
    );
    if attachment {
        let mut notes = String::new();
        for _ in 0..20 {
            notes.push_str(&sentence(rng));
            notes.push('\n');
        }
        let _ = write!(
            out,
            "--mixed-{index}\nContent-Type: text/plain; name=\"notes-{index}.txt\"\nContent-Disposition: attachment; filename=\"notes-{index}.txt\"\nContent-Transfer-Encoding: base64\n\n{}\n",
            base64(notes.as_bytes())
        );
    }
    let _ = write!(out, "--mixed-{index}--\n\n");
    out
}

/// Base64 in 76-character lines.
fn base64(bytes: &[u8]) -> String {
    const ABC: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len() * 4 / 3 + bytes.len() / 57 + 4);
    for (i, chunk) in bytes.chunks(3).enumerate() {
        if i > 0 && i % 19 == 0 {
            out.push('\n');
        }
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for k in 0..4 {
            out.push(if k <= chunk.len() {
                ABC[(n >> (18 - 6 * k) & 63) as usize] as char
            } else {
                '='
            });
        }
    }
    out
}

/// Writes an mbox of at least `min_bytes` (and at least `min_mails` mails)
/// of [`mime_mail`]s to `path`; returns (mails, bytes).
pub fn write_mbox(
    path: &Path,
    seed: u64,
    min_mails: usize,
    min_bytes: u64,
) -> std::io::Result<(usize, u64)> {
    let mut out = std::io::BufWriter::with_capacity(1 << 20, std::fs::File::create(path)?);
    let mut rng = Rng::new(seed);
    let (mut mails, mut bytes) = (0usize, 0u64);
    while mails < min_mails || bytes < min_bytes {
        let m = mime_mail(&mut rng, mails);
        out.write_all(m.as_bytes())?;
        bytes += m.len() as u64;
        mails += 1;
    }
    out.flush()?;
    Ok((mails, bytes))
}

/// A PDF of `pages` pages of generated prose (about 40 lines each) with an
/// `/Info` title.
pub fn pdf(rng: &mut Rng, title: &str, pages: usize) -> Vec<u8> {
    let mut objects: Vec<Vec<u8>> = Vec::new();
    // 1: catalog, 2: pages, 3: font, 4: info; then a page and its content per page.
    let kids: Vec<String> = (0..pages).map(|p| format!("{} 0 R", 5 + 2 * p)).collect();
    objects.push(b"<< /Type /Catalog /Pages 2 0 R >>".to_vec());
    objects.push(
        format!(
            "<< /Type /Pages /Kids [{}] /Count {pages} >>",
            kids.join(" ")
        )
        .into_bytes(),
    );
    objects.push(
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>"
            .to_vec(),
    );
    objects.push(format!("<< /Title ({}) >>", escape(title)).into_bytes());
    for p in 0..pages {
        objects.push(
            format!(
                "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 3 0 R >> >> /Contents {} 0 R >>",
                6 + 2 * p
            )
            .into_bytes(),
        );
        let mut content = String::from("BT /F1 10 Tf 56 740 Td 14 TL\n");
        let _ = writeln!(content, "({} - page {}) Tj T* T*", escape(title), p + 1);
        let mut line = String::new();
        let mut lines = 0;
        while lines < 44 {
            for word in sentence(rng).split_whitespace() {
                if line.len() + word.len() > 95 {
                    let _ = writeln!(content, "({}) Tj T*", escape(&line));
                    line.clear();
                    lines += 1;
                }
                if !line.is_empty() {
                    line.push(' ');
                }
                line.push_str(word);
            }
        }
        content.push_str("ET");
        let mut stream = format!("<< /Length {} >>\nstream\n", content.len()).into_bytes();
        stream.extend_from_slice(content.as_bytes());
        stream.extend_from_slice(b"\nendstream");
        objects.push(stream);
    }
    let mut out = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n".to_vec();
    let mut offsets = Vec::with_capacity(objects.len());
    for (i, body) in objects.iter().enumerate() {
        offsets.push(out.len());
        let _ = writeln!(out, "{} 0 obj", i + 1);
        out.extend_from_slice(body);
        out.extend_from_slice(b"\nendobj\n");
    }
    let xref = out.len();
    let _ = write!(out, "xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1);
    for offset in offsets {
        let _ = writeln!(out, "{offset:010} 00000 n ");
    }
    let _ = write!(
        out,
        "trailer\n<< /Size {} /Root 1 0 R /Info 4 0 R >>\nstartxref\n{xref}\n%%EOF\n",
        objects.len() + 1
    );
    out
}

/// A PDF literal string's content, WinAnsi: characters outside Latin-1 become `?`.
fn escape(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '(' | ')' | '\\' => format!("\\{c}"),
            c if (c as u32) < 0x80 => c.to_string(),
            _ => "?".to_owned(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mime_mails_and_pdfs_are_well_formed() {
        let mut rng = Rng::new(7);
        let m = alternative(&mut rng, 9, true);
        assert!(m.starts_with("From ") && m.contains("multipart/alternative"));
        assert!(m.contains("filename=\"notes-9.txt\""));
        let doc = pdf(&mut Rng::new(1), "Report (draft)", 3);
        let text = String::from_utf8_lossy(&doc);
        assert!(text.starts_with("%PDF-1.4") && text.contains("/Count 3"));
        assert!(text.contains("(Report \\(draft\\) - page 3) Tj"));
        // The cross-reference table points at each object.
        let xref_at: usize = text
            .rsplit("startxref\n")
            .next()
            .unwrap()
            .lines()
            .next()
            .unwrap()
            .parse()
            .unwrap();
        assert!(doc[xref_at..].starts_with(b"xref\n0 11\n"));
        assert_eq!(pdf(&mut Rng::new(1), "Report (draft)", 3), doc, "seeded");
    }
}
