//! The GGUF header check that stands between a downloaded file and llama.cpp, on arbitrary
//! bytes (its in-memory entry point: the same walk as over a file).
#![no_main]

use libfuzzer_sys::fuzz_target;
use mac_status::engine::{validate_gguf_bytes, EngineError};

fuzz_target!(|data: &[u8]| {
    match validate_gguf_bytes(data) {
        Ok(s) => {
            // Only a complete header over data that is all there passes.
            assert!(data.starts_with(b"GGUF"));
            assert!((2..=3).contains(&s.version));
            assert!(s.tensor_count >= 1);
            assert_eq!(s.file_size, data.len() as u64);
            assert!(s.data_end <= s.file_size, "{s:?}");
        }
        // A bad file is always "corrupt" with a reason, never a missing one or an internal
        // error.
        Err(EngineError::ModelCorrupt { reason, .. }) => assert!(!reason.is_empty()),
        Err(e) => panic!("unexpected error kind: {e:?}"),
    }
});
