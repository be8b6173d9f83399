//! The chat readers on the demo's exports (`fixtures/demo/chats`) and the
//! connector fixtures (`fixtures/connectors/chats`: an iMessage `chat.db` and
//! malformed exports): conversation windows with participants and
//! per-message times, and named failures.

use hearth_connectors::{
    ConnectorError, Document, Format, SourceKind, SpanLabel, discover, read_source,
};
use std::path::PathBuf;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn read(path: PathBuf) -> (Format, Vec<Result<Document, ConnectorError>>) {
    let found = discover(&[path]).unwrap();
    assert_eq!(found.files.len(), 1, "{found:?}");
    (
        found.files[0].format,
        read_source(&found.files[0]).collect(),
    )
}

fn ok(items: Vec<Result<Document, ConnectorError>>) -> Vec<Document> {
    items.into_iter().map(Result::unwrap).collect()
}

#[test]
fn a_whatsapp_export_becomes_one_window_per_day() {
    let (format, items) =
        read(root().join("fixtures/demo/chats/whatsapp/WhatsApp Chat with Tomás Reyes.txt"));
    assert_eq!(format, Format::WhatsApp);
    let docs = ok(items);
    assert!(docs.len() >= 5, "{}", docs.len());
    let first = &docs[0];
    assert_eq!(first.kind, SourceKind::Message);
    assert_eq!(first.title, "Tomás Reyes — 2026-02-09");
    let names: Vec<_> = first
        .participants
        .iter()
        .filter_map(|p| p.name.as_deref())
        .collect();
    assert_eq!(names, ["Tomás Reyes", "Elena Marsh"]);
    assert!(
        first
            .text
            .starts_with("[07:41] Messages and calls are end-to-end encrypted."),
        "{}",
        first.text
    );
    assert!(
        first
            .text
            .contains("[07:41] Tomás Reyes: Dumpster is here."),
        "{}",
        first.text
    );
    let at = first.text.find("Dumpster").unwrap();
    assert_eq!(
        first.label_at(at),
        Some(&SpanLabel::Message("Tomás Reyes, 2026-02-09 07:41".into()))
    );
    // A multi-line message stays one message.
    let rot = docs
        .iter()
        .find(|d| d.title.ends_with("2026-02-11"))
        .unwrap();
    assert!(
        rot.text.contains("Elena Marsh: Of course there is.\nI'll leave work at 3:30.\nCan you get Lucy from school?"),
        "{}",
        rot.text
    );
}

#[test]
fn telegram_and_sms_exports_read_their_chats() {
    let (format, items) = read(root().join("fixtures/demo/chats/telegram/result.json"));
    assert_eq!(format, Format::Telegram);
    let docs = ok(items);
    let first = &docs[0];
    assert!(
        first.title.starts_with("Sam Okoye — 2026-06-0"),
        "{}",
        first.title
    );
    let all: String = docs.iter().map(|d| d.text.as_str()).collect();
    // Formatted text (a list of plain and bold entities) reads as one string.
    assert!(
        all.contains("Excellent. First long ride Saturday June 13, Banks trailhead, 7:15."),
        "{all}"
    );

    let (format, items) = read(root().join("fixtures/demo/chats/sms/sms-backup.xml"));
    assert_eq!(format, Format::SmsBackup);
    let docs = ok(items);
    let pt = docs
        .iter()
        .find(|d| d.title.starts_with("Alder Physical Therapy"))
        .expect("a window of the PT chat");
    assert!(
        pt.text
            .contains("Alder Physical Therapy: Alder PT: Reminder - visit with Jordan Pike"),
        "{}",
        pt.text
    );
    assert!(pt.text.contains("Me: Y"), "{}", pt.text);
}

#[test]
fn an_imessage_database_reads_text_and_attributed_bodies() {
    let (format, items) = read(root().join("fixtures/connectors/chats/imessage/chat.db"));
    assert_eq!(format, Format::IMessage);
    let docs = ok(items);
    assert_eq!(docs.len(), 2, "two days: {docs:#?}");
    let day = &docs[0];
    assert_eq!(day.title, "Nadia Brandt — 2026-04-18");
    assert_eq!(
        day.text,
        "[16:02] +15035550142: Are we still on for the pottery class tomorrow?\n\
         [16:05] Me: Yes! Studio 4B at Clayworks, 10am. Bring an apron.\n\
         [16:06] +15035550142: Perfect, I will bring the glaze samples"
    );
    assert_eq!(day.timestamp, Some(1_776_528_120));
    assert!(
        docs[1].text.ends_with("Running 5 min late <attachment>"),
        "{}",
        docs[1].text
    );
}

#[test]
fn malformed_chat_exports_are_named_failures() {
    let broken = root().join("fixtures/connectors/chats/broken");
    for (rel, what, reason) in [
        (
            "not-imessage/chat.db",
            "iMessage database",
            "not an iMessage chat.db",
        ),
        ("telegram/result.json", "Telegram export", "EOF"),
        ("sms-backup.xml", "SMS backup", "at byte"),
    ] {
        let (_, items) = read(broken.join(rel));
        assert_eq!(items.len(), 1, "{rel}");
        let err = items.into_iter().next().unwrap().unwrap_err();
        let text = err.to_string();
        assert!(
            matches!(&err, ConnectorError::Malformed { what: w, .. } if *w == what),
            "{rel}: {text}"
        );
        assert!(text.contains(reason) && text.contains(rel), "{rel}: {text}");
    }
}
