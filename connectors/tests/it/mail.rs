//! The mail readers on the committed fixtures (`fixtures/connectors/mail`,
//! written by `fixtures/scripts/make_mail_fixtures.py`): MIME structure,
//! charsets, attachments as child documents, Maildir flags, and named
//! failures for what is not mail.

use hearth_connectors::{
    ConnectorError, Document, Format, MboxReader, ParticipantRole, SourceKind, discover,
    read_source,
};
use std::path::PathBuf;

use crate::common;
use common::base64;

fn fixture(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../fixtures/connectors/mail")
        .join(rel)
}

fn read(rel: &str) -> Vec<Result<Document, ConnectorError>> {
    let found = discover(&[fixture(rel)]).unwrap();
    assert_eq!(found.files.len(), 1, "{rel}: {found:?}");
    read_source(&found.files[0]).collect()
}

fn docs(rel: &str) -> Vec<Document> {
    read(rel).into_iter().map(Result::unwrap).collect()
}

#[test]
fn a_mixed_mail_prefers_plain_text_and_keeps_its_attachments_as_children() {
    let docs = docs("quote-forward.eml");
    let mail = &docs[0];
    assert_eq!(mail.kind, SourceKind::Mail);
    assert_eq!(mail.title, "Angebot Küche – Oakline quote, revised");
    // ISO-8859-15, quoted-printable: the euro sign and umlauts decoded.
    assert!(
        mail.text.contains("14.850 € for the kitchen"),
        "{}",
        mail.text
    );
    assert!(mail.text.contains("Grüße, Jürgen"), "{}", mail.text);
    // The HTML alternative is not repeated.
    assert_eq!(mail.text.matches("revised").count(), 1, "{}", mail.text);
    let from = &mail.participants[0];
    assert_eq!(from.name.as_deref(), Some("Jürgen Weiß"));
    assert_eq!(from.role, ParticipantRole::From);
    assert_eq!(
        mail.participants[1].address.as_deref(),
        Some("elena@marsh.example")
    );
    assert_eq!(mail.participants[2].role, ParticipantRole::Cc);
    assert_eq!(mail.thread.as_deref(), Some("quote-1@weiss-bau.example"));
    let item = mail.origin.item.as_deref().unwrap();
    assert!(
        item.contains("labels: Inbox, Renovation, Important"),
        "{item}"
    );

    // Attachments: the text and HTML files, the forwarded mail and its own
    // attachment; the PNG has no text and is left out.
    let titles: Vec<&str> = docs.iter().map(|d| d.title.as_str()).collect();
    assert_eq!(
        titles,
        [
            "Angebot Küche – Oakline quote, revised",
            "line-items.txt",
            "terms.html",
            "Boiler service confirmation",
            "checklist.txt",
        ]
    );
    let items = &docs[1];
    assert_eq!(items.kind, SourceKind::Document);
    assert_eq!(items.parent.as_ref(), Some(&mail.id));
    assert!(
        items.text.contains("walnut worktop 3.150 €"),
        "{}",
        items.text
    );
    assert!(items.uri.starts_with(&mail.uri) && items.uri.ends_with("/line-items.txt"));
    let terms = &docs[2];
    assert_eq!(terms.media_type, "text/html");
    assert!(
        terms.text.contains("Deposit of 30% on signing"),
        "{}",
        terms.text
    );
    assert!(!terms.text.contains('<'));
    let forwarded = &docs[3];
    assert_eq!(forwarded.kind, SourceKind::Mail);
    assert_eq!(forwarded.parent.as_ref(), Some(&mail.id));
    assert!(forwarded.text.contains("Technician: Bram Okafor."));
    assert_eq!(docs[4].parent.as_ref(), Some(&forwarded.id));
    // Every id distinct; the mail's follows its Message-ID.
    let mut ids: Vec<_> = docs.iter().map(|d| d.id.clone()).collect();
    ids.dedup();
    assert_eq!(ids.len(), docs.len());
}

#[test]
fn an_html_only_mail_is_laid_out_as_text() {
    let docs = docs("html-only.eml");
    assert_eq!(docs.len(), 1);
    let mail = &docs[0];
    assert_eq!(mail.title, "Spring swap 🌱");
    assert!(
        mail.text
            .contains("Bring labelled envelopes to the Fern Street branch on March 21."),
        "{}",
        mail.text
    );
    assert!(
        !mail.text.contains("track()") && !mail.text.contains('<'),
        "{}",
        mail.text
    );
}

#[test]
fn maildir_messages_carry_their_flags() {
    let found = discover(&[fixture("Maildir")]).unwrap();
    let formats: Vec<Format> = found.files.iter().map(|f| f.format).collect();
    assert_eq!(formats, [Format::Maildir, Format::Maildir]);
    let read: Vec<Document> = found
        .files
        .iter()
        .flat_map(read_source)
        .map(Result::unwrap)
        .collect();
    assert_eq!(read[0].title, "Book club: February pick");
    assert_eq!(read[0].origin.item.as_deref(), Some("flags: replied, seen"));
    assert_eq!(read[1].title, "Ferry times");
    assert_eq!(read[1].origin.item.as_deref(), Some("flags: unseen"));
    assert_eq!(read[1].timestamp, Some(1_768_576_200));
}

#[test]
fn what_is_not_mail_is_a_named_failure() {
    let items = read("broken/no-headers.eml");
    assert_eq!(items.len(), 1);
    let err = items[0].as_ref().unwrap_err().to_string();
    assert!(err.contains("no-headers.eml"), "{err}");
}

#[test]
fn a_truncated_mbox_keeps_every_whole_message() {
    let items: Vec<_> = MboxReader::open(&fixture("broken/truncated.mbox"))
        .unwrap()
        .collect();
    let first = items[0].as_ref().unwrap();
    assert_eq!(first.title, "Photos");
    // The cut message is still read as far as it goes (its text survives;
    // the cut attachment has no text to index), never a panic.
    assert!(items.len() >= 2, "{items:?}");
    let cut = items[1].as_ref().unwrap();
    assert_eq!(cut.title, "Cut off");
    assert!(cut.text.contains("See attached."));
}

#[test]
fn pdf_and_docx_attachments_become_child_documents() {
    let docs_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fixtures/connectors/docs");
    let pdf = std::fs::read(docs_dir.join("heat-pump-survey.pdf")).unwrap();
    let docx = std::fs::read(docs_dir.join("kitchen-plan.docx")).unwrap();
    let mail = format!(
        "From: Priya Raman <priya@northwind.example>\r\nTo: elena@marsh.example\r\n\
Subject: Survey and plan\r\nMessage-ID: <survey-9@northwind.example>\r\n\
MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n\
--b1\r\nContent-Type: text/plain\r\n\r\nBoth documents attached.\r\n\
--b1\r\nContent-Type: application/pdf; name=\"survey.pdf\"\r\nContent-Transfer-Encoding: base64\r\n\
Content-Disposition: attachment; filename=\"survey.pdf\"\r\n\r\n{}\r\n\
--b1\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\
Content-Disposition: attachment; filename=\"plan.docx\"\r\n\r\n{}\r\n--b1--\r\n",
        base64(&pdf, "\r\n"),
        base64(&docx, "\r\n")
    );
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("survey.eml");
    std::fs::write(&path, mail).unwrap();
    let docs = hearth_connectors::MailFileReader::default()
        .read(&path)
        .unwrap();
    assert_eq!(docs.len(), 3, "{docs:#?}");
    assert_eq!(docs[1].title, "survey.pdf");
    assert_eq!(docs[1].media_type, "application/pdf");
    assert!(docs[1].text.contains("north wall"), "{}", docs[1].text);
    assert_eq!(docs[2].title, "plan.docx");
    assert!(
        docs[2].text.contains("Cabinets\t9.200 €"),
        "{}",
        docs[2].text
    );
    assert!(
        docs[1..]
            .iter()
            .all(|d| d.parent.as_ref() == Some(&docs[0].id))
    );
}

/// A 50 MB base64 attachment on one line, then a message over the 64 MiB
/// limit, then an ordinary one: the first is read (its unreadable binary
/// attachment skipped), the second is a named failure that names its size,
/// and the third is still read.
#[test]
fn a_huge_base64_line_and_an_oversized_message_do_not_stop_the_mailbox() {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hostile.mbox");
    let mut out = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
    let line: Vec<u8> = b"QUJD".iter().copied().cycle().take(50 << 20).collect();
    write!(
        out,
        "From a@example.com Thu Jan  1 00:00:00 2026\nFrom: a@example.com\nSubject: One long line\n\
MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"b\"\n\n--b\nContent-Type: text/plain\n\n\
The blob is attached.\n--b\nContent-Type: application/octet-stream\nContent-Transfer-Encoding: base64\n\
Content-Disposition: attachment; filename=\"blob.bin\"\n\n"
    )
    .unwrap();
    out.write_all(&line).unwrap();
    write!(
        out,
        "\n--b--\n\nFrom b@example.com Thu Jan  1 00:00:00 2026\nFrom: b@example.com\nSubject: Too big\n\n"
    )
    .unwrap();
    let filler = vec![b'z'; 1 << 20];
    for _ in 0..65 {
        out.write_all(&filler).unwrap();
        out.write_all(b"\n").unwrap();
    }
    write!(
        out,
        "\nFrom c@example.com Thu Jan  1 00:00:00 2026\nFrom: c@example.com\nSubject: After\n\nStill here.\n"
    )
    .unwrap();
    out.flush().unwrap();
    drop(out);

    let items: Vec<_> = MboxReader::open(&path).unwrap().collect();
    assert_eq!(items.len(), 3, "{items:?}");
    let first = items[0].as_ref().unwrap();
    assert_eq!(first.title, "One long line");
    assert_eq!(first.text, "The blob is attached.");
    let err = items[1].as_ref().unwrap_err();
    assert_eq!(err.position(), "message 1");
    let msg = err.to_string();
    assert!(msg.contains("exceeds the 67108864-byte limit"), "{msg}");
    assert!(msg.contains("hostile.mbox"), "{msg}");
    assert_eq!(items[2].as_ref().unwrap().text, "Still here.");
}

#[test]
fn a_file_that_is_no_mbox_is_a_named_failure() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("notes.mbox");
    std::fs::write(&path, "Subject: not an mbox\n\njust a message\n").unwrap();
    let items: Vec<_> = MboxReader::open(&path).unwrap().collect();
    assert_eq!(items.len(), 1);
    let err = items[0].as_ref().unwrap_err();
    assert_eq!(err.position(), "before the first message");
    assert!(err.to_string().contains("not an mbox?"), "{err}");
}
