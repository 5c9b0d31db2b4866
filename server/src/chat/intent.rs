//! Intent detection: which parts of the machine a question is about, and in which language.
//!
//! Plain keyword tables, not a classifier: the model that answers has 135M parameters and a
//! second model (or a second pass of it) to route questions would cost more than the answer.
//! Keywords only choose which measured numbers go into the prompt, so a miss is cheap: the
//! fallback is the overall summary (CPU, memory, disk), which is a sensible answer to anything.
//!
//! Rules, in order:
//! 1. Topic keywords (English words, case-insensitive and whole-word; Japanese substrings) add
//!    their intents. Heat words (`hot`, `fan`, `熱`) add CPU as well: a hot Mac is a busy Mac.
//! 2. Slowness words (`slow`, `遅い`, `重い`, …) add the usual culprits — CPU, memory and
//!    processes — unless the question is about the network (a slow Wi-Fi is not a busy CPU).
//! 3. Capacity words (`full`, `space`, `空き`, `容量`, …) mean the disk only when nothing else
//!    was named: "is memory full?" is a memory question.
//! 4. Status words (`status`, `health`, `状態`, `健康`, …) name no topic; with no topic at all the
//!    set gets `Overall`. "バッテリーの状態" is therefore a battery question, "Macの状態" an
//!    overall one.
//! 5. `Urgent` is a flag next to the topics (it changes the plan, not the facts); on its own it
//!    also gets `Overall`, like any question without a topic.

use std::fmt;

pub use app::chat::Intent;
use app::chat::Topic;
use app::i18n::Lang;

use super::topics;

/// A set bit per intent: a topic's own, the flag's above them.
fn bit(intent: Intent) -> u16 {
    match intent {
        Intent::About(t) => 1 << (t as u16),
        Intent::Urgent => 1 << 15,
    }
}

/// A set of intents as a bit mask: `Copy`, hashable (it is part of the answer-cache key), and
/// iterated in `Intent` order, so it is sorted and free of duplicates by construction.
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct IntentSet(u16);

impl IntentSet {
    pub const fn new() -> Self {
        IntentSet(0)
    }

    pub fn insert(&mut self, intent: Intent) {
        self.0 |= bit(intent);
    }

    pub fn contains(self, intent: Intent) -> bool {
        self.0 & bit(intent) != 0
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    pub fn len(self) -> usize {
        self.0.count_ones() as usize
    }

    pub fn is_urgent(self) -> bool {
        self.contains(Intent::Urgent)
    }

    /// True when some part of the machine is named (anything but `Urgent`).
    pub fn has_topic(self) -> bool {
        self.iter().any(|i| i.topic().is_some())
    }

    /// The intents in `Intent` order.
    pub fn iter(self) -> impl Iterator<Item = Intent> {
        Intent::all().filter(move |i| self.contains(*i))
    }

    /// The topics to report on: the named ones, or `Overall` when none is (an empty or
    /// urgent-only set still gets a useful summary).
    pub fn topics(self) -> impl Iterator<Item = Topic> {
        let named = self.has_topic();
        self.iter()
            .filter_map(Intent::topic)
            .chain((!named).then_some(Topic::Overall))
    }
}

impl fmt::Debug for IntentSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.iter()).finish()
    }
}

impl FromIterator<Intent> for IntentSet {
    fn from_iter<T: IntoIterator<Item = Intent>>(iter: T) -> Self {
        let mut set = IntentSet::new();
        for i in iter {
            set.insert(i);
        }
        set
    }
}

impl<const N: usize> From<[Intent; N]> for IntentSet {
    fn from(intents: [Intent; N]) -> Self {
        intents.into_iter().collect()
    }
}

/// Japanese when the question contains any kana or kanji, else English. Script beats the
/// browser's `Accept-Language`: a question typed in Japanese wants a Japanese answer even on
/// an English system (and mixed "CPUが100%" is Japanese).
pub fn detect_language(q: &str) -> Lang {
    if q.chars().any(is_japanese) {
        Lang::Ja
    } else {
        Lang::En
    }
}

/// The share of a text's non-space characters that are Japanese: how a reader would tell the
/// language of an answer (tests and benches check answers with it).
pub fn japanese_share(text: &str) -> f64 {
    let chars = text.chars().filter(|c| !c.is_whitespace());
    let (ja, all) = chars.fold((0usize, 0usize), |(ja, all), c| {
        (ja + usize::from(is_japanese(c)), all + 1)
    });
    ja as f64 / all.max(1) as f64
}

fn is_japanese(c: char) -> bool {
    matches!(c,
        '\u{3040}'..='\u{309F}'   // Hiragana
        | '\u{30A0}'..='\u{30FF}' // Katakana
        | '\u{31F0}'..='\u{31FF}' // Katakana phonetic extensions
        | '\u{FF66}'..='\u{FF9F}' // Half-width katakana
        | '\u{3400}'..='\u{4DBF}' // CJK extension A
        | '\u{4E00}'..='\u{9FFF}' // CJK unified ideographs
        | '\u{F900}'..='\u{FAFF}' // CJK compatibility ideographs
        | '\u{20000}'..='\u{2FA1F}' // CJK extensions B.. and compatibility supplement
    )
}

/// Full-width ASCII (`ＣＰＵ`, `？`) to ASCII, the ideographic space to a space, then lower case:
/// Japanese input methods produce both forms of the same question.
pub(crate) fn fold(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
            '\u{3000}' => ' ',
            c => c,
        })
        .flat_map(char::to_lowercase)
        .collect()
}

/// One keyword rule: English words (whole words; `s`/`es` plurals match too), English phrases
/// (whole words in sequence, written with single spaces) and Japanese substrings. Each topic
/// keeps its own rules beside its facts and findings (see [`super::topics`]).
pub(crate) struct Rule {
    pub words: &'static [&'static str],
    pub phrases: &'static [&'static str],
    pub ja: &'static [&'static str],
    pub adds: &'static [Intent],
}

use Intent::{About, Urgent};
use Topic::*;

/// Topic rules: each match adds its intents.
const RULES: &[&Rule] = &[
    &topics::cpu::KEYWORDS,
    &topics::temperature::HEAT,
    &topics::temperature::KEYWORDS,
    &topics::memory::KEYWORDS,
    &topics::disk::KEYWORDS,
    &topics::network::KEYWORDS,
    &topics::processes::KEYWORDS,
    &topics::battery::KEYWORDS,
    &topics::overall::KEYWORDS,
    &URGENT,
];

/// Not a topic: the user wants the answer fast. "Right now" is not here: "am I uploading
/// anything right now?" asks about the present, not for haste.
const URGENT: Rule = Rule {
    words: &[
        "urgent",
        "urgently",
        "emergency",
        "quickly",
        "asap",
        "immediately",
        "hurry",
    ],
    phrases: &["quick check"],
    ja: &["緊急", "至急", "急ぎ", "急いで", "早急", "今すぐ", "すぐに"],
    adds: &[Urgent],
};

/// Slowness: the usual culprits, unless the network is what is slow.
const SLOW: Rule = Rule {
    words: &[
        "slow",
        "slowly",
        "sluggish",
        "lag",
        "laggy",
        "lagging",
        "freeze",
        "freezing",
        "frozen",
        "unresponsive",
        "hang",
        "hanging",
        "beachball",
        "stutter",
        "stuttering",
    ],
    phrases: &["beach ball", "spinning wheel", "takes forever"],
    ja: &[
        "遅い",
        "遅く",
        "重い",
        "重く",
        "重た",
        "もっさり",
        "カクカク",
        "固ま",
        "フリーズ",
        "動かない",
    ],
    adds: &[About(Cpu), About(Memory), About(Processes)],
};

/// The question as lower-case ASCII words, for whole-word matching. Anything that is not an
/// ASCII letter or digit separates words, so "CPUが100%" yields `cpu`, `100`.
struct Words {
    list: Vec<String>,
    /// `" w1 w2 … "`: phrases match as `" a b "` substrings.
    joined: String,
}

impl Words {
    fn new(folded: &str) -> Self {
        let list: Vec<String> = folded
            .split(|c: char| !c.is_ascii_alphanumeric())
            .filter(|w| !w.is_empty())
            .map(str::to_owned)
            .collect();
        let joined = format!(" {} ", list.join(" "));
        Words { list, joined }
    }

    fn has_word(&self, keyword: &str) -> bool {
        self.list.iter().any(|w| {
            w == keyword
                || w.strip_prefix(keyword)
                    .is_some_and(|rest| rest == "s" || rest == "es")
        })
    }

    fn has_phrase(&self, phrase: &str) -> bool {
        self.joined.contains(&format!(" {phrase} "))
    }
}

impl Rule {
    fn matches(&self, folded: &str, words: &Words) -> bool {
        self.words.iter().any(|w| words.has_word(w))
            || self.phrases.iter().any(|p| words.has_phrase(p))
            || self.ja.iter().any(|j| folded.contains(j))
    }

    fn apply(&self, set: &mut IntentSet) {
        for i in self.adds {
            set.insert(*i);
        }
    }
}

/// The intents of a question (see the module docs for the rules). Never empty: a question
/// that names nothing gets `Overall`.
pub fn detect(q: &str) -> IntentSet {
    let folded = fold(q);
    let words = Words::new(&folded);
    let mut set = IntentSet::new();
    for rule in RULES {
        if rule.matches(&folded, &words) {
            rule.apply(&mut set);
        }
    }
    if SLOW.matches(&folded, &words) && !set.contains(About(Network)) {
        SLOW.apply(&mut set);
    }
    if !set.has_topic() && topics::disk::CAPACITY.matches(&folded, &words) {
        topics::disk::CAPACITY.apply(&mut set);
    }
    if !set.has_topic() {
        // Status words, or nothing at all: the overall summary.
        set.insert(About(Overall));
    }
    set
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(intents: &[Intent]) -> IntentSet {
        intents.iter().copied().collect()
    }

    #[track_caller]
    fn check(q: &str, expected: &[Intent]) {
        assert_eq!(detect(q), set(expected), "question: {q:?}");
    }

    #[test]
    fn english_questions() {
        check(
            "Why is my Mac slow?",
            &[About(Cpu), About(Memory), About(Processes)],
        );
        check("What's the CPU load?", &[About(Cpu)]);
        check("How much RAM is used? Am I swapping?", &[About(Memory)]);
        check("Is my disk full?", &[About(Disk)]);
        check("How much free space do I have?", &[About(Disk)]);
        check("Is memory full?", &[About(Memory)]);
        check(
            "Which app is using the most memory?",
            &[About(Memory), About(Processes)],
        );
        check(
            "Which program eats my processor",
            &[About(Cpu), About(Processes)],
        );
        check(
            "what's using everything",
            &[About(Processes), About(Overall)],
        );
        check("How fast is my download?", &[About(Network)]);
        check("Why is the Wi-Fi so slow?", &[About(Network)]);
        check(
            "How much battery is left? Is it charging?",
            &[About(Battery)],
        );
        check(
            "Why are the fans so loud?",
            &[About(Cpu), About(Temperature)],
        );
        check(
            "Is it overheating? What's the temperature",
            &[About(Cpu), About(Temperature)],
        );
        check("Give me an overall status", &[About(Overall)]);
        check("Battery health", &[About(Battery)]);
        check("hello", &[About(Overall)]);
        check("", &[About(Overall)]);
    }

    #[test]
    fn english_matching_is_case_insensitive_and_whole_word() {
        check("CPU?", &[About(Cpu)]);
        check("cPu usage", &[About(Cpu)]);
        // `load` inside `download`, `app` inside `apple`, `ram` inside `program`: no match.
        check("download speed", &[About(Network)]);
        check("Is my Apple computer okay?", &[About(Overall)]);
        check("list processes", &[About(Processes)]);
        check("all apps", &[About(Processes)]);
    }

    #[test]
    fn urgent_is_a_flag_and_alone_means_overall() {
        check("URGENT: CPU at 100%", &[About(Cpu), Urgent]);
        check("emergency!", &[About(Overall), Urgent]);
        check("Is memory pressure high right now?", &[About(Memory)]);
        check(
            "Quickly, why is it slow",
            &[About(Cpu), About(Memory), About(Processes), Urgent],
        );
        assert!(detect("urgent").is_urgent());
        assert!(!detect("slow").is_urgent());
    }

    #[test]
    fn japanese_questions() {
        check(
            "Macが遅いのはなぜ？",
            &[About(Cpu), About(Memory), About(Processes)],
        );
        check(
            "パソコンが重い",
            &[About(Cpu), About(Memory), About(Processes)],
        );
        check("メモリ不足ですか？", &[About(Memory)]);
        check("ディスクの空き容量は？", &[About(Disk)]);
        check("空き容量は？", &[About(Disk)]);
        check("メモリの空きは？", &[About(Memory)]);
        check("バッテリーの状態", &[About(Battery)]);
        check("電池はあと何％？", &[About(Battery)]);
        check("ネットが遅い", &[About(Network)]);
        check("Wi-Fiの通信速度", &[About(Network)]);
        check(
            "どのアプリがCPUを使っている？",
            &[About(Cpu), About(Processes)],
        );
        check("Macが熱い", &[About(Cpu), About(Temperature)]);
        check("温度を教えて", &[About(Temperature)]);
        check("Macの状態は？", &[About(Overall)]);
        check("全体の健康状態", &[About(Overall)]);
        check("こんにちは", &[About(Overall)]);
    }

    #[test]
    fn japanese_urgent_and_mixed_questions() {
        check("緊急：CPUが100%", &[About(Cpu), Urgent]);
        check("至急！", &[About(Overall), Urgent]);
        check("今すぐ全体を確認して", &[About(Overall), Urgent]);
        check(
            "My Mac is 遅い and the メモリ is full",
            &[About(Cpu), About(Memory), About(Processes)],
        );
        // Full-width letters fold to ASCII.
        check("ＣＰＵ使用率は？", &[About(Cpu)]);
        check("ＳＳＤの容量", &[About(Disk)]);
    }

    #[test]
    fn japanese_share_counts_kana_and_kanji() {
        assert_eq!(japanese_share(""), 0.0);
        assert_eq!(japanese_share("CPU is busy"), 0.0);
        assert_eq!(japanese_share("メモリ"), 1.0);
        assert!((japanese_share("CPU使用率") - 0.5).abs() < 1e-9);
    }

    #[test]
    fn language_follows_the_script() {
        assert_eq!(detect_language("Why is my Mac slow?"), Lang::En);
        assert_eq!(detect_language("Macが遅いのはなぜ？"), Lang::Ja);
        assert_eq!(detect_language("CPUが100%"), Lang::Ja);
        assert_eq!(detect_language("緊急"), Lang::Ja);
        assert_eq!(detect_language("メモリ"), Lang::Ja);
        assert_eq!(detect_language("ｶﾀｶﾅ"), Lang::Ja);
        assert_eq!(detect_language("CPU ？"), Lang::En);
        assert_eq!(detect_language(""), Lang::En);
        assert_eq!(detect_language("Ça va ? Ünïcödé"), Lang::En);
    }

    #[test]
    fn set_is_sorted_and_deduplicated() {
        let s = set(&[Urgent, About(Cpu), About(Memory), About(Cpu)]);
        assert_eq!(s.len(), 3);
        assert_eq!(
            s.iter().collect::<Vec<_>>(),
            vec![About(Cpu), About(Memory), Urgent]
        );
        assert_eq!(format!("{s:?}"), "{About(Cpu), About(Memory), Urgent}");
    }

    #[test]
    fn status_words_alone_mean_overall() {
        let words = [
            "status",
            "state",
            "health",
            "healthy",
            "condition",
            "ok",
            "okay",
        ];
        for w in words {
            check(&format!("{w}?"), &[About(Overall)]);
            check(&format!("battery {w}"), &[About(Battery)]);
        }
        for j in ["状態", "健康", "調子", "大丈夫", "様子"] {
            check(&format!("Macの{j}"), &[About(Overall)]);
        }
    }

    #[test]
    fn topics_fall_back_to_overall() {
        assert_eq!(
            IntentSet::new().topics().collect::<Vec<_>>(),
            vec![Topic::Overall]
        );
        assert_eq!(
            set(&[Urgent]).topics().collect::<Vec<_>>(),
            vec![Topic::Overall]
        );
        assert_eq!(
            set(&[About(Disk), Urgent]).topics().collect::<Vec<_>>(),
            vec![Topic::Disk]
        );
    }

    /// Questions people really ask, in both languages, with the topics they are about. One
    /// row per phrasing; a new phrasing that goes wrong is a new row.
    #[test]
    fn a_table_of_real_questions() {
        let table: &[(&str, &[Intent])] = &[
            // The prototype's eight scenarios and their English twins.
            ("システムの状態を教えて", &[About(Overall)]),
            ("How is my system doing?", &[About(Overall)]),
            (
                "CPUとメモリの詳細な分析をお願いします",
                &[About(Cpu), About(Memory)],
            ),
            (
                "Please analyse my CPU and memory in detail",
                &[About(Cpu), About(Memory)],
            ),
            (
                "現在実行中のプロセスで最もリソースを使用しているものを教えて",
                &[About(Processes)],
            ),
            (
                "Which running processes use the most resources?",
                &[About(Processes)],
            ),
            ("メモリの使用状況はどうですか？", &[About(Memory)]),
            ("How is my memory usage?", &[About(Memory)]),
            (
                "ディスクの容量と使用率について詳しく教えてください",
                &[About(Disk)],
            ),
            ("Tell me about my disk capacity and usage", &[About(Disk)]),
            ("ネットワークの状態を確認したい", &[About(Network)]),
            ("I want to check the network", &[About(Network)]),
            (
                "システム全体の健康状態を総合的に評価してください",
                &[About(Overall)],
            ),
            (
                "Give me an overall health assessment of the system",
                &[About(Overall)],
            ),
            (
                "緊急：システムに問題はありませんか？",
                &[About(Overall), Urgent],
            ),
            (
                "Urgent: is anything wrong with my system?",
                &[About(Overall), Urgent],
            ),
            // Everyday questions.
            ("Am I uploading anything big right now?", &[About(Network)]),
            (
                "Is something downloading in the background?",
                &[About(Network)],
            ),
            ("Is iCloud syncing?", &[About(Network)]),
            (
                "今、大きなファイルをアップロードしていますか？",
                &[About(Network)],
            ),
            ("何か送信している？", &[About(Network)]),
            (
                "Macが重いです。原因を教えてください。",
                &[About(Cpu), About(Memory), About(Processes)],
            ),
            (
                "Why is my Mac so sluggish today?",
                &[About(Cpu), About(Memory), About(Processes)],
            ),
            (
                "My Mac keeps freezing",
                &[About(Cpu), About(Memory), About(Processes)],
            ),
            (
                "アプリが固まる",
                &[About(Cpu), About(Memory), About(Processes)],
            ),
            (
                "What's using all my RAM?",
                &[About(Memory), About(Processes)],
            ),
            (
                "What is using the most CPU?",
                &[About(Cpu), About(Processes)],
            ),
            (
                "Why are my fans so loud?",
                &[About(Cpu), About(Temperature)],
            ),
            ("ファンがうるさい", &[About(Cpu), About(Temperature)]),
            (
                "Do I have enough free space for a 20 GB download?",
                &[About(Disk), About(Network)],
            ),
            ("ストレージはあとどれくらい空いている？", &[About(Disk)]),
            ("How long will my battery last?", &[About(Battery)]),
            ("充電は何％？", &[About(Battery)]),
            ("Is my Mac OK?", &[About(Overall)]),
            ("大丈夫？", &[About(Overall)]),
            ("Quick check: anything wrong?", &[About(Overall), Urgent]),
            ("至急、CPUを確認して", &[About(Cpu), Urgent]),
        ];
        for (q, expected) in table {
            check(q, expected);
        }
    }
}
