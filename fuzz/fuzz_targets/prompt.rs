//! Prompt building and trimming with everything attacker-chosen at once: the question, the
//! earlier turns the client sends back (questions, answers and their findings) and the names of
//! processes, volumes, interfaces and sensors. Checks that no chat-format marker survives in
//! any template, that the layout holds, and that the prompt fits its budget.
#![no_main]

use app::chat::{Advice, Finding, Topic, Turn};
use app::i18n::Lang;
use app::model::Level;
use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use mac_status_fuzz::{busy, check_prompt, tokens};
use mac_status::chat::{diagnosis, facts, intent, prompt, topics::Context};

#[derive(Arbitrary, Debug)]
struct EarlierTurn {
    question: String,
    answer: String,
    /// (en, ja, advice) of findings the client claims the turn was given.
    findings: Vec<(String, String, Option<String>)>,
}

#[derive(Arbitrary, Debug)]
struct Input {
    question: String,
    urgent: bool,
    japanese: bool,
    /// Which topics to report on (a bit per topic; the question's own intents when 0).
    topics: u8,
    names: Vec<String>,
    history: Vec<EarlierTurn>,
    budget: u16,
}

fuzz_target!(|input: Input| {
    let (mut s, recent) = busy();
    if !input.names.is_empty() {
        for (name, forged) in s.names_mut().zip(input.names.iter().cycle()) {
            name.clone_from(forged);
        }
    }
    let intents = match input.topics {
        0 => intent::detect(&input.question),
        bits => Topic::ALL
            .into_iter()
            .enumerate()
            .filter(|(i, _)| bits & (1 << i) != 0)
            .map(|(_, t)| t.into())
            .collect(),
    };
    let lang = if input.japanese { Lang::Ja } else { Lang::En };
    let cx = Context {
        snapshot: &s,
        recent: &recent,
        intents,
        lang,
    };
    // Names reach facts and findings one line long, clipped, marker-free.
    for f in facts::collect(&cx) {
        assert!(!f.value.contains(['\n', '\r']), "{f:?}");
    }
    let found = diagnosis::diagnose(&cx);
    for p in s.processes.by_cpu.iter().take(1) {
        let quoted = facts::quoted_name(&p.name);
        assert!(quoted.starts_with('"') && quoted.ends_with('"') && quoted.len() >= 3);
        assert_eq!(quoted.matches('"').count(), 2, "{quoted}");
        assert!(quoted.chars().count() <= facts::MAX_NAME_CHARS + 2);
    }

    let history: Vec<Turn> = input
        .history
        .into_iter()
        .map(|t| Turn {
            question: t.question,
            answer: t.answer,
            findings: t
                .findings
                .into_iter()
                .map(|(en, ja, advice)| Finding {
                    topic: Topic::Cpu,
                    level: Level::Warning,
                    facts: vec!["cpu.total".into()],
                    en,
                    ja,
                    not_measured: false,
                    advice: advice.map(|a| Advice {
                        en: a.clone(),
                        ja: a,
                    }),
                })
                .collect(),
        })
        .collect();
    let budget = usize::from(input.budget);
    let messages = prompt::build(&input.question, input.urgent, &found, &history, lang);
    let messages = prompt::trim_to_budget(messages, budget, tokens);
    check_prompt(&messages, budget);
});
