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

/// A set bit per intent.
fn bit(intent: Intent) -> u16 {
    1 << (intent as u16)
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
        Intent::ALL.into_iter().filter(move |i| self.contains(*i))
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

use Intent::*;

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
    adds: &[Cpu, Memory, Processes],
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
    if SLOW.matches(&folded, &words) && !set.contains(Network) {
        SLOW.apply(&mut set);
    }
    if !set.has_topic() && topics::disk::CAPACITY.matches(&folded, &words) {
        topics::disk::CAPACITY.apply(&mut set);
    }
    if !set.has_topic() {
        // Status words, or nothing at all: the overall summary.
        set.insert(Overall);
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
        check("Why is my Mac slow?", &[Cpu, Memory, Processes]);
        check("What's the CPU load?", &[Cpu]);
        check("How much RAM is used? Am I swapping?", &[Memory]);
        check("Is my disk full?", &[Disk]);
        check("How much free space do I have?", &[Disk]);
        check("Is memory full?", &[Memory]);
        check("Which app is using the most memory?", &[Memory, Processes]);
        check("Which program eats my processor", &[Cpu, Processes]);
        check("what's using everything", &[Processes, Overall]);
        check("How fast is my download?", &[Network]);
        check("Why is the Wi-Fi so slow?", &[Network]);
        check("How much battery is left? Is it charging?", &[Battery]);
        check("Why are the fans so loud?", &[Cpu, Temperature]);
        check(
            "Is it overheating? What's the temperature",
            &[Cpu, Temperature],
        );
        check("Give me an overall status", &[Overall]);
        check("Battery health", &[Battery]);
        check("hello", &[Overall]);
        check("", &[Overall]);
    }

    #[test]
    fn english_matching_is_case_insensitive_and_whole_word() {
        check("CPU?", &[Cpu]);
        check("cPu usage", &[Cpu]);
        // `load` inside `download`, `app` inside `apple`, `ram` inside `program`: no match.
        check("download speed", &[Network]);
        check("Is my Apple computer okay?", &[Overall]);
        check("list processes", &[Processes]);
        check("all apps", &[Processes]);
    }

    #[test]
    fn urgent_is_a_flag_and_alone_means_overall() {
        check("URGENT: CPU at 100%", &[Cpu, Urgent]);
        check("emergency!", &[Overall, Urgent]);
        check("Is memory pressure high right now?", &[Memory]);
        check("Quickly, why is it slow", &[Cpu, Memory, Processes, Urgent]);
        assert!(detect("urgent").is_urgent());
        assert!(!detect("slow").is_urgent());
    }

    #[test]
    fn japanese_questions() {
        check("Macが遅いのはなぜ？", &[Cpu, Memory, Processes]);
        check("パソコンが重い", &[Cpu, Memory, Processes]);
        check("メモリ不足ですか？", &[Memory]);
        check("ディスクの空き容量は？", &[Disk]);
        check("空き容量は？", &[Disk]);
        check("メモリの空きは？", &[Memory]);
        check("バッテリーの状態", &[Battery]);
        check("電池はあと何％？", &[Battery]);
        check("ネットが遅い", &[Network]);
        check("Wi-Fiの通信速度", &[Network]);
        check("どのアプリがCPUを使っている？", &[Cpu, Processes]);
        check("Macが熱い", &[Cpu, Temperature]);
        check("温度を教えて", &[Temperature]);
        check("Macの状態は？", &[Overall]);
        check("全体の健康状態", &[Overall]);
        check("こんにちは", &[Overall]);
    }

    #[test]
    fn japanese_urgent_and_mixed_questions() {
        check("緊急：CPUが100%", &[Cpu, Urgent]);
        check("至急！", &[Overall, Urgent]);
        check("今すぐ全体を確認して", &[Overall, Urgent]);
        check(
            "My Mac is 遅い and the メモリ is full",
            &[Cpu, Memory, Processes],
        );
        // Full-width letters fold to ASCII.
        check("ＣＰＵ使用率は？", &[Cpu]);
        check("ＳＳＤの容量", &[Disk]);
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
        let s = set(&[Urgent, Cpu, Memory, Cpu]);
        assert_eq!(s.len(), 3);
        assert_eq!(s.iter().collect::<Vec<_>>(), vec![Cpu, Memory, Urgent]);
        assert_eq!(format!("{s:?}"), "{Cpu, Memory, Urgent}");
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
            check(&format!("{w}?"), &[Overall]);
            check(&format!("battery {w}"), &[Battery]);
        }
        for j in ["状態", "健康", "調子", "大丈夫", "様子"] {
            check(&format!("Macの{j}"), &[Overall]);
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
            set(&[Disk, Urgent]).topics().collect::<Vec<_>>(),
            vec![Topic::Disk]
        );
    }

    /// Questions people really ask, in both languages, with the topics they are about. One
    /// row per phrasing; a new phrasing that goes wrong is a new row.
    #[test]
    fn a_table_of_real_questions() {
        let table: &[(&str, &[Intent])] = &[
            // The prototype's eight scenarios and their English twins.
            ("システムの状態を教えて", &[Overall]),
            ("How is my system doing?", &[Overall]),
            ("CPUとメモリの詳細な分析をお願いします", &[Cpu, Memory]),
            ("Please analyse my CPU and memory in detail", &[Cpu, Memory]),
            (
                "現在実行中のプロセスで最もリソースを使用しているものを教えて",
                &[Processes],
            ),
            (
                "Which running processes use the most resources?",
                &[Processes],
            ),
            ("メモリの使用状況はどうですか？", &[Memory]),
            ("How is my memory usage?", &[Memory]),
            (
                "ディスクの容量と使用率について詳しく教えてください",
                &[Disk],
            ),
            ("Tell me about my disk capacity and usage", &[Disk]),
            ("ネットワークの状態を確認したい", &[Network]),
            ("I want to check the network", &[Network]),
            (
                "システム全体の健康状態を総合的に評価してください",
                &[Overall],
            ),
            (
                "Give me an overall health assessment of the system",
                &[Overall],
            ),
            ("緊急：システムに問題はありませんか？", &[Overall, Urgent]),
            (
                "Urgent: is anything wrong with my system?",
                &[Overall, Urgent],
            ),
            // Everyday questions.
            ("Am I uploading anything big right now?", &[Network]),
            ("Is something downloading in the background?", &[Network]),
            ("Is iCloud syncing?", &[Network]),
            ("今、大きなファイルをアップロードしていますか？", &[Network]),
            ("何か送信している？", &[Network]),
            (
                "Macが重いです。原因を教えてください。",
                &[Cpu, Memory, Processes],
            ),
            (
                "Why is my Mac so sluggish today?",
                &[Cpu, Memory, Processes],
            ),
            ("My Mac keeps freezing", &[Cpu, Memory, Processes]),
            ("アプリが固まる", &[Cpu, Memory, Processes]),
            ("What's using all my RAM?", &[Memory, Processes]),
            ("What is using the most CPU?", &[Cpu, Processes]),
            ("Why are my fans so loud?", &[Cpu, Temperature]),
            ("ファンがうるさい", &[Cpu, Temperature]),
            (
                "Do I have enough free space for a 20 GB download?",
                &[Disk, Network],
            ),
            ("ストレージはあとどれくらい空いている？", &[Disk]),
            ("How long will my battery last?", &[Battery]),
            ("充電は何％？", &[Battery]),
            ("Is my Mac OK?", &[Overall]),
            ("大丈夫？", &[Overall]),
            ("Quick check: anything wrong?", &[Overall, Urgent]),
            ("至急、CPUを確認して", &[Cpu, Urgent]),
        ];
        for (q, expected) in table {
            check(q, expected);
        }
    }
}
