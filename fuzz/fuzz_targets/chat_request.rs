//! The body of `POST /api/v1/chat`: parsed as the host parses it (`serde_json` into
//! `app::chat::ChatRequest`), validated as `Assistant::ask` validates it, then answered as far as
//! the pure pipeline goes — intents, facts, diagnosis, cache key, prompt and trimming — against
//! the recorded busy snapshot. The client's history (questions, answers, findings) is hostile.
#![no_main]

use app::chat::ChatRequest;
use libfuzzer_sys::fuzz_target;
use mac_status_fuzz::{busy, check_prompt, tokens};
use mac_status::chat::{
    cache, diagnosis, facts, intent, plan, prompt, topics::Context, validate_question, AskError,
    MAX_QUESTION_CHARS,
};

/// The context the host gives the default model.
const N_CTX: usize = 2048;

fuzz_target!(|data: &[u8]| {
    let Ok(req) = serde_json::from_slice::<ChatRequest>(data) else {
        return;
    };
    // What the host accepted, it writes back the same.
    let json = serde_json::to_vec(&req).expect("a parsed request serialises");
    let back: ChatRequest = serde_json::from_slice(&json).expect("and parses again");
    assert_eq!(back, req);

    let question = match validate_question(&req.question) {
        Ok(q) => q,
        Err(AskError::Empty) => return assert!(req.question.trim().is_empty()),
        Err(AskError::TooLong) => {
            return assert!(req.question.trim().chars().count() > MAX_QUESTION_CHARS)
        }
    };
    assert!(!question.is_empty() && question.chars().count() <= MAX_QUESTION_CHARS);
    assert_eq!(question, req.question.trim());

    let (snapshot, recent) = busy();
    let intents = intent::detect(&question);
    let lang = intent::detect_language(&question);
    let cx = Context {
        snapshot: &snapshot,
        recent: &recent,
        intents,
        lang,
    };
    let facts = facts::collect(&cx);
    let findings = diagnosis::diagnose(&cx);
    assert!(!facts.is_empty() && !findings.is_empty());
    let plan = plan::plan(req.strategy.unwrap_or_default(), &intents);
    let key = cache::key(&question, &req.history, &intents, plan.strategy, &snapshot);
    // The cache key ignores case and trailing punctuation, never the history.
    let shouted = format!("{}?", question.to_ascii_uppercase());
    assert_eq!(
        cache::key(&shouted, &req.history, &intents, plan.strategy, &snapshot),
        key
    );

    let budget = N_CTX - plan.max_tokens as usize;
    let messages = prompt::build(&question, plan.urgent, &findings, &req.history, lang);
    let messages = prompt::trim_to_budget(messages, budget, tokens);
    check_prompt(&messages, budget);
});
