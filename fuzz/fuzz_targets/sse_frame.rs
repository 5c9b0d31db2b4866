//! The browser's Server-Sent Events frame splitter (`app::browser::take_sse_frames`), on an
//! arbitrary byte stream cut into arbitrary chunks, as `fetch` hands them over.
#![no_main]

use app::browser::take_sse_frames;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // The first byte seeds the chunk sizes, the rest is the stream.
    let Some((&seed, stream)) = data.split_first() else {
        return;
    };

    let mut whole = stream.to_vec();
    let frames = take_sse_frames(&mut whole);

    // Whatever the chunking, the same frames come out, and the same unfinished tail stays.
    let mut buf = Vec::new();
    let mut chunked = Vec::new();
    let mut rest = stream;
    let mut size = usize::from(seed % 16) + 1;
    while !rest.is_empty() {
        let (chunk, tail) = rest.split_at(size.min(rest.len()));
        buf.extend_from_slice(chunk);
        chunked.extend(take_sse_frames(&mut buf));
        rest = tail;
        size = (size * 7 + 3) % 17 + 1;
    }
    assert_eq!(chunked, frames);
    assert_eq!(buf, whole);

    // The tail is a frame still open: no blank line in it, and the input ends with it.
    assert!(!whole.windows(2).any(|w| w == b"\n\n"));
    assert!(stream.ends_with(&whole));
    // At most one event per blank line, and each one's data came from a `data:` line.
    let blank_lines = {
        let (mut n, mut i) = (0, 0);
        while let Some(p) = stream[i..].windows(2).position(|w| w == b"\n\n") {
            n += 1;
            i += p + 2;
        }
        n
    };
    assert!(frames.len() <= blank_lines);
    if !frames.is_empty() {
        assert!(stream.windows(5).any(|w| w == b"data:"));
    }
    // Feeding what is left again finds nothing new.
    assert!(take_sse_frames(&mut whole).is_empty());
});
