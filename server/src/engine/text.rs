//! Pure helpers of the decode loop: streaming UTF-8 and prefix matching.

/// Turns token pieces (raw bytes) into text without splitting characters.
///
/// Byte-level BPE vocabularies split one CJK character or emoji over several tokens, so a piece
/// may end in the middle of a UTF-8 sequence. The incomplete tail waits for the next piece;
/// bytes that can never become valid UTF-8 turn into U+FFFD.
#[derive(Debug, Default)]
pub struct Utf8Stream {
    pending: Vec<u8>,
}

impl Utf8Stream {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `bytes` and returns all text that is complete so far (possibly empty).
    pub fn push(&mut self, bytes: &[u8]) -> String {
        self.pending.extend_from_slice(bytes);
        let mut out = String::new();
        let mut start = 0;
        loop {
            match std::str::from_utf8(&self.pending[start..]) {
                Ok(s) => {
                    out.push_str(s);
                    start = self.pending.len();
                    break;
                }
                Err(e) => {
                    let valid = start + e.valid_up_to();
                    // The slice up to `valid_up_to` is valid by definition.
                    out.push_str(&String::from_utf8_lossy(&self.pending[start..valid]));
                    match e.error_len() {
                        // Incomplete sequence at the end: wait for more bytes.
                        None => {
                            start = valid;
                            break;
                        }
                        Some(bad) => {
                            out.push(char::REPLACEMENT_CHARACTER);
                            start = valid + bad;
                        }
                    }
                }
            }
        }
        self.pending.drain(..start);
        out
    }

    /// Bytes held back because they end in an incomplete character.
    pub fn pending_len(&self) -> usize {
        self.pending.len()
    }

    /// Ends the stream. An incomplete trailing character (generation cut mid-character) is
    /// dropped rather than shown as U+FFFD.
    pub fn finish(&mut self) -> usize {
        let dropped = self.pending.len();
        self.pending.clear();
        dropped
    }
}

/// Length of the longest common prefix: how much of the KV cache a new prompt can reuse.
pub fn common_prefix_len<T: PartialEq>(a: &[T], b: &[T]) -> usize {
    a.iter().zip(b).take_while(|(x, y)| x == y).count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ascii_passes_through() {
        let mut s = Utf8Stream::new();
        assert_eq!(s.push(b"Hello"), "Hello");
        assert_eq!(s.push(b", world"), ", world");
        assert_eq!(s.pending_len(), 0);
    }

    #[test]
    fn japanese_split_at_every_byte_comes_out_whole() {
        let text = "東京の天気は晴れです。CPU使用率は12%";
        let mut s = Utf8Stream::new();
        let mut out = String::new();
        for b in text.as_bytes() {
            let piece = s.push(std::slice::from_ref(b));
            assert!(!piece.contains('\u{FFFD}'));
            out.push_str(&piece);
        }
        assert_eq!(out, text);
        assert_eq!(s.finish(), 0);
    }

    #[test]
    fn split_in_uneven_chunks() {
        let text = "メモリ🙂OK";
        let bytes = text.as_bytes();
        let mut s = Utf8Stream::new();
        // "メ" is 3 bytes, "🙂" 4: cut through both.
        let a = s.push(&bytes[..2]);
        assert_eq!(a, "");
        let b = s.push(&bytes[2..11]);
        assert_eq!(b, "メモリ");
        let c = s.push(&bytes[11..]);
        assert_eq!(c, "🙂OK");
    }

    #[test]
    fn invalid_bytes_become_replacement_and_stream_continues() {
        let mut s = Utf8Stream::new();
        assert_eq!(s.push(b"a\xFFb"), "a\u{FFFD}b");
        // A continuation byte without a lead byte is invalid too.
        assert_eq!(s.push(b"\x80c"), "\u{FFFD}c");
    }

    #[test]
    fn truncated_tail_is_dropped_on_finish() {
        let mut s = Utf8Stream::new();
        assert_eq!(s.push(&"日".as_bytes()[..2]), "");
        assert_eq!(s.pending_len(), 2);
        assert_eq!(s.finish(), 2);
        assert_eq!(s.push(b"x"), "x");
    }

    #[test]
    fn prefix_len() {
        assert_eq!(common_prefix_len::<i32>(&[], &[1]), 0);
        assert_eq!(common_prefix_len(&[1, 2, 3], &[1, 2, 4]), 2);
        assert_eq!(common_prefix_len(&[1, 2], &[1, 2, 3]), 2);
        assert_eq!(common_prefix_len(&[1, 2, 3], &[1, 2, 3]), 3);
        assert_eq!(common_prefix_len(&[9, 2], &[1, 2]), 0);
    }
}
