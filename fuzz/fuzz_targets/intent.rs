//! Intent and language detection, and the answer cache's question normalisation, on arbitrary
//! text in both languages (invalid UTF-8 is read as the browser would send it, lossily).
#![no_main]

use app::chat::Intent;
use app::i18n::Lang;
use libfuzzer_sys::fuzz_target;
use mac_status::chat::intent::{detect, detect_language, japanese_share};
use mac_status::chat::prompt::normalize_question;

/// ASCII as a Japanese input method writes it: full-width forms and the ideographic space.
fn full_width(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '!'..='~' => char::from_u32(c as u32 + 0xFEE0).unwrap_or(c),
            ' ' => '\u{3000}',
            c => c,
        })
        .collect()
}

fuzz_target!(|data: &[u8]| {
    let q = String::from_utf8_lossy(data);
    let intents = detect(&q);
    // Never empty: a question that names nothing gets the overall summary.
    assert!(intents.has_topic(), "{q:?}: {intents:?}");
    assert!(intents.topics().count() >= 1);
    assert!(intents.iter().all(|i| intents.contains(i)));
    assert_eq!(intents.iter().count(), intents.len());
    assert_eq!(intents.is_urgent(), intents.contains(Intent::Urgent));

    // Japanese exactly when some character is.
    let lang = detect_language(&q);
    let share = japanese_share(&q);
    assert!((0.0..=1.0).contains(&share));
    assert_eq!(lang == Lang::Ja, share > 0.0, "{q:?}");

    // Case and full-width forms never change what a question is about.
    assert_eq!(detect(&q.to_ascii_uppercase()), intents, "{q:?}");
    let wide = full_width(&q);
    assert_eq!(detect(&wide), intents, "{q:?} / {wide:?}");
    assert_eq!(detect_language(&wide), lang);

    // The cache's normal form is a fixed point, trimmed, with single spaces, and the same for
    // any ASCII case.
    let n = normalize_question(&q);
    assert_eq!(normalize_question(&n), n, "{q:?}");
    assert_eq!(n.trim(), n);
    assert!(!n.contains("  "));
    assert_eq!(normalize_question(&q.to_ascii_uppercase()), n, "{q:?}");
});
