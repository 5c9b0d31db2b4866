//! What the fuzz targets share: the recorded snapshot they answer from, and the invariants of a
//! built and trimmed prompt (no forged chat-format marker in any template, within budget).

use std::sync::OnceLock;

use app::model::{HistoryPoint, Snapshot};
use mac_status::chat::prompt::{trim_to_budget, MESSAGE_OVERHEAD_TOKENS, SYSTEM_PROMPT};
use mac_status::engine::{llama2_prompt, scrub_messages, strip_markers, ChatMessage, Role, MARKERS};

/// The busy fixture the host's own tests use: a 2-core machine with two runaway processes, and
/// its last minute of history.
pub fn busy() -> (Snapshot, Vec<HistoryPoint>) {
    static BUSY: OnceLock<(Snapshot, Vec<HistoryPoint>)> = OnceLock::new();
    BUSY.get_or_init(|| {
        let s = include_str!("../../server/tests/fixtures/snapshots/busy.json");
        let h = include_str!("../../server/tests/fixtures/snapshots/busy-history.json");
        (
            serde_json::from_str(s).expect("snapshot fixture"),
            serde_json::from_str(h).expect("history fixture"),
        )
    })
    .clone()
}

/// The tokenizer of the host's unit tests: a token per four bytes, rounded up. Grows with the
/// text, as `trim_to_budget` assumes.
pub fn tokens(s: &str) -> usize {
    s.len().div_ceil(4)
}

pub fn total_tokens(messages: &[ChatMessage]) -> usize {
    messages
        .iter()
        .map(|m| tokens(&m.content) + MESSAGE_OVERHEAD_TOKENS)
        .sum()
}

/// ChatML, as SmolLM2's template renders it (with the generation prompt).
pub fn chatml(messages: &[ChatMessage]) -> String {
    let mut out = String::new();
    for m in messages {
        out += &format!("<|im_start|>{}\n{}<|im_end|>\n", m.role.as_str(), m.content);
    }
    out + "<|im_start|>assistant\n"
}

/// Llama-3, as llama.cpp's `llama3` template renders it, BOS written out.
pub fn llama3(messages: &[ChatMessage]) -> String {
    let mut out = String::from("<|begin_of_text|>");
    for m in messages {
        out += &format!(
            "<|start_header_id|>{}<|end_header_id|>\n\n{}<|eot_id|>",
            m.role.as_str(),
            m.content
        );
    }
    out + "<|start_header_id|>assistant<|end_header_id|>\n\n"
}

/// How often each known marker (ASCII case ignored) and anything shaped like a control token
/// (`<|name|>`, `<｜name｜>`) occurs in `text`.
pub fn marker_counts(text: &str) -> Vec<usize> {
    let lower = text.to_ascii_lowercase();
    let mut counts: Vec<usize> = MARKERS
        .iter()
        .map(|m| lower.matches(&m.to_ascii_lowercase()).count())
        .collect();
    for bar in ['|', '\u{FF5C}'] {
        let open = format!("<{bar}");
        let close = format!("{bar}>");
        let shaped = text
            .match_indices(&open)
            .filter(|(i, _)| {
                let rest = &text[i + open.len()..];
                rest.match_indices(&close).any(|(j, _)| {
                    let name = &rest[..j];
                    !name.is_empty()
                        && name.chars().count() <= 64
                        && !name.contains(|c: char| c.is_whitespace() || c == '<' || c == '>')
                })
            })
            .count();
        counts.push(shaped);
    }
    counts
}

/// Everything a prompt that `prompt::build` made and `trim_to_budget` fitted into `budget`
/// must satisfy; panics (a crash for libFuzzer) otherwise.
pub fn check_prompt(messages: &[ChatMessage], budget: usize) {
    // The fixed system prompt first, then user/assistant pairs, then the question.
    assert_eq!(messages[0], ChatMessage::system(SYSTEM_PROMPT));
    assert!(
        messages.len() >= 2 && messages.len().is_multiple_of(2),
        "{messages:#?}"
    );
    for (i, m) in messages.iter().enumerate().skip(1) {
        let want = if i % 2 == 1 {
            Role::User
        } else {
            Role::Assistant
        };
        assert_eq!(m.role, want, "message {i} of {messages:#?}");
    }
    // No untrusted text carries a marker of any chat format.
    for m in messages {
        assert_eq!(
            strip_markers(&m.content),
            m.content,
            "forged marker in {m:?}"
        );
    }
    // Within budget, or the shortest prompt trimming can make: the system prompt and the
    // instruction under an empty question, without findings.
    let total = total_tokens(messages);
    if total > budget {
        let last = &messages[messages.len() - 1].content;
        assert_eq!(messages.len(), 2, "{total} > {budget} with turns left");
        assert!(
            last.starts_with("Question: \n") || last.starts_with("質問：\n"),
            "{total} > {budget} but not trimmed to the bone: {last:?}"
        );
    }
    // Trimming what already fits (or cannot shrink) changes nothing.
    assert_eq!(trim_to_budget(messages.to_vec(), budget, tokens), messages);
    // Rendered in each format, the prompt holds that format's own markers and no others: as
    // many as the same turns with harmless text get.
    let clean = scrub_messages(messages, &[]);
    assert_eq!(clean, messages);
    let benign: Vec<ChatMessage> = messages
        .iter()
        .map(|m| ChatMessage::new(m.role, "x"))
        .collect();
    let renders: [fn(&[ChatMessage]) -> String; 3] = [llama2_prompt, chatml, llama3];
    for render in renders {
        let (bad, good) = (render(&clean), render(&benign));
        assert_eq!(marker_counts(&bad), marker_counts(&good), "{bad}");
    }
}
