//! Incremental detokenization for streaming: one token in, the new text (if any)
//! out, never half a UTF-8 character.
//!
//! A byte-level BPE token can end in the middle of a multi-byte character (an
//! emoji is often two or three tokens), so decoding token by token would print
//! replacement characters. [`StreamDecoder`] decodes a short window of recent
//! tokens and emits only the new suffix once it is valid text that does not end
//! in U+FFFD — the scheme of Hugging Face's text-generation-inference.

/// The replacement character a lossy decode leaves for incomplete UTF-8.
const REPLACEMENT: char = '\u{FFFD}';

/// Turns a stream of token ids into a stream of text pieces whose concatenation
/// is the decoded text. Generic over the decode function, so it works for any
/// tokenizer (and can be tested without one).
///
/// ```
/// use hearth_assistant::StreamDecoder;
/// // A toy "tokenizer" whose ids are bytes.
/// let decode = |ids: &[u32]| -> Result<String, std::convert::Infallible> {
///     let bytes: Vec<u8> = ids.iter().map(|&i| i as u8).collect();
///     Ok(String::from_utf8_lossy(&bytes).into_owned())
/// };
/// let mut stream = StreamDecoder::new();
/// let mut out = String::new();
/// for byte in "é!".bytes() {
///     if let Some(piece) = stream.push(byte as u32, decode)? {
///         out.push_str(&piece);
///     }
/// }
/// out.push_str(&stream.finish(decode)?);
/// assert_eq!(out, "é!");
/// # Ok::<(), std::convert::Infallible>(())
/// ```
#[derive(Debug, Clone, Default)]
pub struct StreamDecoder {
    ids: Vec<u32>,
    /// Start of the decode window: text before it has been emitted.
    prefix: usize,
    /// End of the tokens whose text has been emitted.
    read: usize,
}

impl StreamDecoder {
    /// An empty decoder, for the start of a reply.
    pub fn new() -> Self {
        Self::default()
    }

    /// All ids pushed so far.
    pub fn ids(&self) -> &[u32] {
        &self.ids
    }

    /// Adds `id`; returns the text it completes, or `None` while a character is
    /// still incomplete (or the token decodes to nothing).
    pub fn push<E>(
        &mut self,
        id: u32,
        decode: impl Fn(&[u32]) -> Result<String, E>,
    ) -> Result<Option<String>, E> {
        self.ids.push(id);
        let done = decode(&self.ids[self.prefix..self.read])?;
        let text = decode(&self.ids[self.prefix..])?;
        if text.len() <= done.len() || text.ends_with(REPLACEMENT) {
            return Ok(None);
        }
        let Some(piece) = new_suffix(&text, &done) else {
            return Ok(None);
        };
        let piece = piece.to_owned();
        self.prefix = self.read;
        self.read = self.ids.len();
        Ok(Some(piece))
    }

    /// The text not emitted yet (an incomplete character at the very end comes
    /// out as U+FFFD). Call once the stream ends.
    pub fn finish<E>(&mut self, decode: impl Fn(&[u32]) -> Result<String, E>) -> Result<String, E> {
        let done = decode(&self.ids[self.prefix..self.read])?;
        let text = decode(&self.ids[self.prefix..])?;
        self.prefix = self.ids.len();
        self.read = self.ids.len();
        Ok(new_suffix(&text, &done).unwrap_or_default().to_owned())
    }
}

/// `text` without its prefix `done`; falls back to cutting at `done`'s length when
/// the decoder rewrote the prefix (still on a character boundary), `None` if not
/// even that works.
fn new_suffix<'t>(text: &'t str, done: &str) -> Option<&'t str> {
    text.strip_prefix(done).or_else(|| text.get(done.len()..))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::convert::Infallible;

    fn bytes_decode(ids: &[u32]) -> Result<String, Infallible> {
        let bytes: Vec<u8> = ids.iter().map(|&i| i as u8).collect();
        Ok(String::from_utf8_lossy(&bytes).into_owned())
    }

    fn stream_bytes(text: &str) -> Vec<String> {
        let mut stream = StreamDecoder::new();
        let mut pieces = Vec::new();
        for b in text.bytes() {
            if let Some(p) = stream.push(u32::from(b), bytes_decode).unwrap() {
                pieces.push(p);
            }
        }
        let rest = stream.finish(bytes_decode).unwrap();
        if !rest.is_empty() {
            pieces.push(rest);
        }
        pieces
    }

    #[test]
    fn multibyte_characters_come_out_whole() {
        let text = "a é 日本 🙂 z";
        let pieces = stream_bytes(text);
        assert_eq!(pieces.concat(), text);
        for p in &pieces {
            assert!(!p.contains(REPLACEMENT), "{pieces:?}");
        }
        assert!(pieces.contains(&"🙂".to_owned()), "{pieces:?}");
        assert!(pieces.contains(&"日".to_owned()), "{pieces:?}");
    }

    #[test]
    fn an_incomplete_character_at_the_end_is_flushed_by_finish() {
        let mut stream = StreamDecoder::new();
        assert_eq!(
            stream.push(b'x'.into(), bytes_decode).unwrap().as_deref(),
            Some("x")
        );
        // First two bytes of a three-byte character.
        assert_eq!(stream.push(0xE6, bytes_decode).unwrap(), None);
        assert_eq!(stream.push(0x97, bytes_decode).unwrap(), None);
        assert_eq!(
            stream.finish(bytes_decode).unwrap(),
            REPLACEMENT.to_string()
        );
        assert_eq!(stream.ids().len(), 3);
    }

    #[test]
    fn tokens_that_decode_to_nothing_emit_nothing() {
        // A decoder that drops id 0 (like a skipped special token).
        let decode = |ids: &[u32]| -> Result<String, Infallible> {
            Ok(ids
                .iter()
                .filter(|&&i| i != 0)
                .map(|&i| char::from(i as u8))
                .collect())
        };
        let mut stream = StreamDecoder::new();
        assert_eq!(stream.push(0, decode).unwrap(), None);
        assert_eq!(
            stream.push(u32::from(b'o'), decode).unwrap().as_deref(),
            Some("o")
        );
        assert_eq!(stream.push(0, decode).unwrap(), None);
        assert_eq!(
            stream.push(u32::from(b'k'), decode).unwrap().as_deref(),
            Some("k")
        );
        assert_eq!(stream.finish(decode).unwrap(), "");
    }

    #[test]
    fn errors_from_the_decoder_propagate() {
        let mut stream = StreamDecoder::new();
        let failing = |_: &[u32]| -> Result<String, &'static str> { Err("boom") };
        assert_eq!(stream.push(1, failing), Err("boom"));
    }
}
