//! Splits an mbox byte stream into its messages with bounded memory: a line
//! beginning `From ` starts a message (as Python's `mailbox` and mutt read
//! it), `>From ` quoting is undone one level (mboxrd), and a message past
//! the size limit is skipped to the next `From ` line while only its size
//! is counted, so no message or line, however long, is held whole beyond
//! the limit. Bytes before the first `From ` line are reported, not dropped
//! silently.

use std::io::{self, BufRead};

/// One piece of an mbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MboxPiece {
    /// A message's bytes (without its `From ` line), `>From ` unquoted.
    Message {
        /// Byte offset of its `From ` line in the file.
        offset: u64,
        /// The `From ` line, without the line break.
        from_line: String,
        /// The RFC 5322 message.
        bytes: Vec<u8>,
    },
    /// A message larger than the limit, skipped.
    Oversized {
        /// Byte offset of its `From ` line.
        offset: u64,
        /// Its size in bytes.
        size: u64,
    },
    /// Text before the first `From ` line (the file may not be an mbox).
    Preamble {
        /// Its size in bytes.
        size: u64,
    },
}

/// Streams the pieces of an mbox from `reader`.
///
/// ```
/// use hearth_connectors::{MboxPiece, MboxSplitter};
///
/// let mbox = &b"From a@example.com Mon Jan  5 09:00:00 2026\nSubject: hi\n\n>From me\n"[..];
/// let pieces: Vec<MboxPiece> = MboxSplitter::new(mbox, 1 << 20).map(Result::unwrap).collect();
/// assert!(matches!(&pieces[..], [MboxPiece::Message { bytes, .. }] if bytes == b"Subject: hi\n\nFrom me\n"));
/// ```
pub struct MboxSplitter<R> {
    reader: R,
    limit: usize,
    /// Bytes consumed so far.
    position: u64,
    /// The message being collected: offset, `From ` line, bytes, size, and
    /// whether it went past the limit (then `bytes` is emptied).
    current: Option<Current>,
    /// Non-blank bytes seen before the first `From ` line.
    preamble: u64,
    line: Vec<u8>,
    done: bool,
}

struct Current {
    offset: u64,
    from_line: String,
    bytes: Vec<u8>,
    size: u64,
    oversized: bool,
}

impl<R: BufRead> MboxSplitter<R> {
    /// A splitter that skips messages over `limit` bytes.
    pub fn new(reader: R, limit: usize) -> Self {
        Self {
            reader,
            limit,
            position: 0,
            current: None,
            preamble: 0,
            line: Vec::new(),
            done: false,
        }
    }

    /// Reads one line into `self.line`, keeping at most `keep` bytes of it
    /// (the rest is consumed unseen). Returns the line's full length, 0 at
    /// the end of the stream.
    fn read_line(&mut self, keep: usize) -> io::Result<u64> {
        self.line.clear();
        let mut total = 0u64;
        loop {
            let available = match self.reader.fill_buf() {
                Ok(b) => b,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if available.is_empty() {
                break;
            }
            let (take, complete) = match available.iter().position(|&b| b == b'\n') {
                Some(i) => (i + 1, true),
                None => (available.len(), false),
            };
            let room = keep.saturating_sub(self.line.len()).min(take);
            self.line.extend_from_slice(&available[..room]);
            self.reader.consume(take);
            total += take as u64;
            if complete {
                break;
            }
        }
        self.position += total;
        Ok(total)
    }

    fn finish(&mut self) -> Option<MboxPiece> {
        let current = self.current.take()?;
        Some(if current.oversized {
            MboxPiece::Oversized {
                offset: current.offset,
                size: current.size,
            }
        } else {
            MboxPiece::Message {
                offset: current.offset,
                from_line: current.from_line,
                bytes: current.bytes,
            }
        })
    }
}

impl<R: BufRead> Iterator for MboxSplitter<R> {
    type Item = io::Result<MboxPiece>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        loop {
            // Keep what the message still has room for (at least enough to
            // see a `From ` line or a `>From ` quote).
            let keep = match &self.current {
                Some(c) if !c.oversized => (self.limit - c.bytes.len()).max(64) + 1,
                _ => 1024,
            };
            let start = self.position;
            let len = match self.read_line(keep) {
                Ok(len) => len,
                Err(e) => {
                    self.done = true;
                    return Some(Err(e));
                }
            };
            if len == 0 {
                self.done = true;
                if self.current.is_none() && self.preamble > 0 {
                    let size = std::mem::take(&mut self.preamble);
                    return Some(Ok(MboxPiece::Preamble { size }));
                }
                return self.finish().map(Ok);
            }
            if self.line.starts_with(b"From ") {
                let from_line = String::from_utf8_lossy(&self.line)
                    .trim_end_matches(['\r', '\n'])
                    .to_owned();
                let preamble = std::mem::take(&mut self.preamble);
                let previous = self.finish();
                self.current = Some(Current {
                    offset: start,
                    from_line,
                    bytes: Vec::new(),
                    size: 0,
                    oversized: false,
                });
                if let Some(piece) = previous {
                    return Some(Ok(piece));
                }
                if preamble > 0 {
                    return Some(Ok(MboxPiece::Preamble { size: preamble }));
                }
                continue;
            }
            let Some(current) = self.current.as_mut() else {
                if self.line.iter().any(|b| !b.is_ascii_whitespace()) {
                    self.preamble += len;
                }
                continue;
            };
            // mboxrd: `>From `, `>>From ` … lose one `>`.
            let quoted = self.line.first() == Some(&b'>')
                && self
                    .line
                    .iter()
                    .position(|&b| b != b'>')
                    .is_some_and(|i| self.line[i..].starts_with(b"From "));
            let line = if quoted {
                &self.line[1..]
            } else {
                &self.line[..]
            };
            let line_len = len - u64::from(quoted);
            current.size += line_len;
            if current.oversized {
                continue;
            }
            if current.size > self.limit as u64 {
                current.oversized = true;
                current.bytes = Vec::new();
            } else {
                current.bytes.extend_from_slice(line);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(input: &[u8], limit: usize) -> Vec<MboxPiece> {
        MboxSplitter::new(input, limit)
            .collect::<io::Result<Vec<_>>>()
            .unwrap()
    }

    fn message(offset: u64, from: &str, bytes: &[u8]) -> MboxPiece {
        MboxPiece::Message {
            offset,
            from_line: from.into(),
            bytes: bytes.to_vec(),
        }
    }

    #[test]
    fn splits_on_from_lines_and_unquotes() {
        let input = b"From a Mon\nSubject: 1\n\n>From here\n>>From there\n>Fromage\n\nFrom b Tue\r\nSubject: 2\r\n\r\nno newline at the end";
        assert_eq!(
            split(input, 1 << 20),
            [
                message(
                    0,
                    "From a Mon",
                    b"Subject: 1\n\nFrom here\n>From there\n>Fromage\n\n"
                ),
                message(57, "From b Tue", b"Subject: 2\r\n\r\nno newline at the end"),
            ]
        );
        assert!(split(b"", 10).is_empty());
    }

    #[test]
    fn oversized_message_is_skipped_not_held() {
        let mut input = b"From a\nSubject: big\n\n".to_vec();
        input.extend(std::iter::repeat_n(b'x', 10_000));
        input.extend_from_slice(b"\nFrom b\nSubject: small\n\nok\n");
        let pieces = split(&input, 1_000);
        assert_eq!(
            pieces[0],
            MboxPiece::Oversized {
                offset: 0,
                size: 10_015
            }
        );
        assert_eq!(
            pieces[1],
            message(10_022, "From b", b"Subject: small\n\nok\n")
        );
    }

    #[test]
    fn text_before_the_first_from_line_is_reported() {
        let pieces = split(b"\nSubject: stray\n\nhello\nFrom a\n\nbody\n", 100);
        assert_eq!(pieces[0], MboxPiece::Preamble { size: 21 });
        assert_eq!(pieces[1], message(23, "From a", b"\nbody\n"));
        assert_eq!(
            split(b"just text, no mbox\n", 100),
            [MboxPiece::Preamble { size: 19 }]
        );
        // Blank lines before the first message are no preamble.
        assert_eq!(
            split(b"\n\nFrom a\nX: y\n", 100),
            [message(2, "From a", b"X: y\n")]
        );
    }
}
