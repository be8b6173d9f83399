//! Progress bars and log lines on one terminal: while bars are drawn, tracing
//! output goes through them (`MultiProgress::suspend`), so a log line prints
//! above the bars instead of tearing through them.

use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use std::io::Write;
use std::sync::Mutex;

static ACTIVE: Mutex<Option<MultiProgress>> = Mutex::new(None);

/// Routes log output above `bars` until [`release`] is called.
pub fn capture(bars: &MultiProgress) {
    if let Ok(mut active) = ACTIVE.lock() {
        *active = Some(bars.clone());
    }
}

/// Log output goes straight to stderr again.
pub fn release() {
    if let Ok(mut active) = ACTIVE.lock() {
        *active = None;
    }
}

/// The tracing writer: stderr, suspended around any active bars.
pub struct LogWriter;

impl Write for LogWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let bars = ACTIVE.lock().ok().and_then(|a| a.clone());
        match bars {
            Some(bars) => bars.suspend(|| std::io::stderr().write(buf)),
            None => std::io::stderr().write(buf),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stderr().flush()
    }
}

/// A bar over `total` answers of an eval run, `done` of them measured by an
/// earlier attempt; hidden when stderr is not a terminal (the caller then
/// prints a line per answer).
pub fn answer_bar(total: usize, done: usize) -> ProgressBar {
    let bar = if std::io::IsTerminal::is_terminal(&std::io::stderr()) {
        ProgressBar::new(total as u64)
    } else {
        ProgressBar::hidden()
    };
    bar.set_style(
        ProgressStyle::with_template("answering {bar:30} {pos}/{len} {msg} ({eta} left)")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar.set_position(done as u64);
    bar
}
