//! Progress bars and log lines on one terminal: while bars are drawn, tracing
//! output goes through them (`MultiProgress::suspend`), so a log line prints
//! above the bars instead of tearing through them.

use indicatif::MultiProgress;
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
