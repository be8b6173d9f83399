//! Server-sent events, as OpenAI-compatible endpoints stream chat completions:
//! `data: {json}` lines, events ended by a blank line, `data: [DONE]` last.
//!
//! [`SseDecoder`] is fed the response body in whatever pieces the network
//! delivers and hands back each event's data once the event is complete, so a
//! JSON object split across two TCP reads is never parsed half-way.

/// Incremental decoder of an event stream (`text/event-stream`).
///
/// ```
/// use hearth_assistant::cloud::SseDecoder;
/// let mut sse = SseDecoder::default();
/// assert!(sse.push(b"data: {\"a\":").is_empty());
/// assert_eq!(sse.push(b"1}\n\ndata: [DONE]\n\n"), ["{\"a\":1}", "[DONE]"]);
/// ```
#[derive(Debug, Default)]
pub struct SseDecoder {
    /// Bytes of the line not yet ended.
    line: Vec<u8>,
    /// `data` lines of the event being read.
    data: Vec<String>,
    /// The event has at least one `data` field.
    has_data: bool,
}

impl SseDecoder {
    /// Feeds `bytes`; returns the data of every event they complete.
    pub fn push(&mut self, bytes: &[u8]) -> Vec<String> {
        let mut events = Vec::new();
        for &b in bytes {
            if b == b'\n' {
                let mut line = std::mem::take(&mut self.line);
                if line.last() == Some(&b'\r') {
                    line.pop();
                }
                self.line_ended(&line, &mut events);
            } else {
                self.line.push(b);
            }
        }
        events
    }

    /// Ends the stream: an event not closed by a blank line still counts.
    pub fn finish(&mut self) -> Vec<String> {
        let mut events = Vec::new();
        if !self.line.is_empty() {
            let line = std::mem::take(&mut self.line);
            self.line_ended(&line, &mut events);
        }
        self.line_ended(b"", &mut events);
        events
    }

    fn line_ended(&mut self, line: &[u8], events: &mut Vec<String>) {
        if line.is_empty() {
            if self.has_data {
                events.push(self.data.join("\n"));
            }
            self.data.clear();
            self.has_data = false;
            return;
        }
        // Comments (`: keep-alive`) and other fields (`event:`, `id:`) carry no data.
        let text = String::from_utf8_lossy(line);
        let (field, value) = match text.split_once(':') {
            Some((field, value)) => (field, value.strip_prefix(' ').unwrap_or(value)),
            None => (text.as_ref(), ""),
        };
        if field == "data" {
            self.data.push(value.to_owned());
            self.has_data = true;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn comments_fields_and_crlf() {
        let mut sse = SseDecoder::default();
        let events =
            sse.push(b": keep-alive\r\nevent: x\r\ndata: one\r\ndata: two\r\n\r\nid: 3\n\n");
        assert_eq!(events, ["one\ntwo"]);
        assert_eq!(sse.push(b"data:tight"), Vec::<String>::new());
        assert_eq!(sse.finish(), ["tight"]);
    }

    proptest! {
        /// However the body is cut into pieces, the same events come out.
        #[test]
        fn any_split_gives_the_same_events(
            events in prop::collection::vec("[^\r\n]{0,40}", 0..8),
            cuts in prop::collection::vec(0usize..400, 0..12),
        ) {
            let mut body = Vec::new();
            for e in &events {
                body.extend_from_slice(format!("data: {e}\n\n").as_bytes());
            }
            let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c.min(body.len())).collect();
            cuts.sort_unstable();
            let mut sse = SseDecoder::default();
            let mut got = Vec::new();
            let mut at = 0;
            for c in cuts.into_iter().chain([body.len()]) {
                got.extend(sse.push(&body[at..c]));
                at = c;
            }
            got.extend(sse.finish());
            prop_assert_eq!(got, events);
        }
    }
}
