//! UI text in English and Japanese. A tiny table beats a framework for ~100 strings, and a
//! missing key is a compile error (every key is a match arm), never a blank label.

use serde::{Deserialize, Serialize};

use crate::model::{BatteryState, Level};

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    #[default]
    En,
    Ja,
}

impl Lang {
    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Ja => "ja",
        }
    }

    pub fn from_code(code: &str) -> Option<Lang> {
        let primary = code.trim().split(['-', '_']).next()?.to_ascii_lowercase();
        match primary.as_str() {
            "en" => Some(Lang::En),
            "ja" => Some(Lang::Ja),
            _ => None,
        }
    }

    /// Picks the first supported language of an `Accept-Language` header, honouring `q` weights.
    pub fn from_accept_language(header: &str) -> Lang {
        let mut best: Option<(f32, Lang)> = None;
        for part in header.split(',') {
            let mut fields = part.split(';');
            let Some(lang) = fields.next().and_then(Lang::from_code) else {
                continue;
            };
            let q = fields
                .find_map(|f| f.trim().strip_prefix("q="))
                .and_then(|q| q.parse::<f32>().ok())
                .unwrap_or(1.0);
            if best.is_none_or(|(bq, _)| q > bq) {
                best = Some((q, lang));
            }
        }
        best.map(|(_, l)| l).unwrap_or_default()
    }

    pub fn other(self) -> Lang {
        match self {
            Lang::En => Lang::Ja,
            Lang::Ja => Lang::En,
        }
    }
}

/// Every UI string. Adding a variant forces both translations.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Key {
    AppName,
    Tagline,
    Cpu,
    Memory,
    Disk,
    Network,
    Processes,
    Sensors,
    Battery,
    Host,
    Os,
    Kernel,
    Uptime,
    LoadAverage,
    Frequency,
    Cores,
    PerCore,
    Used,
    Available,
    Total,
    Swap,
    Received,
    Sent,
    Read,
    Write,
    Name,
    Pid,
    CpuShare,
    Resident,
    NotAvailable,
    Live,
    /// The stream is open but the numbers stopped changing.
    Stale,
    Connecting,
    Offline,
    LastUpdated,
    SwitchLanguage,
    ChartCpu,
    ChartMemory,
    ChartNetwork,
    PerfCores,
    EffCores,
    MemoryPressure,
    Charging,
    Discharging,
    Full,
    Unknown,
    ProcessCount,
    SortBy,
    Dashboard,
    Chat,
    ChatTitle,
    /// The Ask button is still enabled: the host answers with the diagnosis alone.
    ChatNoModel,
    ChatOffline,
    /// Followed by the HTTP status and the host's reason.
    ChatRefused,
    /// Followed by the host's reason (an `error` event mid-answer).
    ChatFailed,
    ChatInterrupted,
    Question,
    QuestionPlaceholder,
    AnswerStyle,
    StrategySpeed,
    StrategyBalanced,
    StrategyQuality,
    AskButton,
    StopButton,
    FactsUsedLabel,
    FactsUsed,
    CachedAnswer,
    FirstToken,
    PromptTokens,
    Reused,
    CutDeadline,
    CutStopped,
    CutLength,
    Diagnosis,
    /// `{model}`: the model's name.
    ExplainedBy,
    /// `{model}`, `{language}`: followed by the command that installs a model that can.
    ModelHint,
    ModelOff,
    ModelBusy,
    NotMeasured,
    UnverifiedTitle,
    UnverifiedLegend,
    English,
    Japanese,
    // The assistant profile card.
    ProfileTitle,
    ProfileReasons,
    Model,
    Chip,
    CoresPE,
    Accelerator,
    /// The device the layers run on, and its free / total memory.
    Device,
    GpuLayers,
    Threads,
    Context,
    Batch,
    MmapMlock,
    // Chart ranges and the history behind them.
    RangeLabel,
    /// `{range}`: 10m, 1h …
    RangeButton,
    HistoryLoading,
    HistoryEmpty,
    HistoryOff,
    /// Followed by the time the shown copy was fetched.
    HistorySaved,
    Lowest,
    Highest,
    // The alerts panel.
    Alerts,
    NoAlerts,
    Ongoing,
    NotifyAsk,
    NotifyOn,
    NotifyOff,
    NotifyDenied,
    NotifyUnsupported,
}

pub fn t(lang: Lang, key: Key) -> &'static str {
    use Key::*;
    match (lang, key) {
        (Lang::En, AppName) => "Mac Status",
        (Lang::Ja, AppName) => "Mac Status",
        (Lang::En, Tagline) => "Your machine, live and private",
        (Lang::Ja, Tagline) => "あなたのマシンを、ライブでプライベートに",
        (Lang::En, Cpu) => "CPU",
        (Lang::Ja, Cpu) => "CPU",
        (Lang::En, Memory) => "Memory",
        (Lang::Ja, Memory) => "メモリ",
        (Lang::En, Disk) => "Disk",
        (Lang::Ja, Disk) => "ディスク",
        (Lang::En, Network) => "Network",
        (Lang::Ja, Network) => "ネットワーク",
        (Lang::En, Processes) => "Processes",
        (Lang::Ja, Processes) => "プロセス",
        (Lang::En, Sensors) => "Temperatures",
        (Lang::Ja, Sensors) => "温度",
        (Lang::En, Battery) => "Battery",
        (Lang::Ja, Battery) => "バッテリー",
        (Lang::En, Host) => "Host",
        (Lang::Ja, Host) => "ホスト",
        (Lang::En, Os) => "OS",
        (Lang::Ja, Os) => "OS",
        (Lang::En, Kernel) => "Kernel",
        (Lang::Ja, Kernel) => "Kernel",
        (Lang::En, Uptime) => "Uptime",
        (Lang::Ja, Uptime) => "稼働時間",
        (Lang::En, LoadAverage) => "Load average",
        (Lang::Ja, LoadAverage) => "ロードアベレージ",
        (Lang::En, Frequency) => "Frequency",
        (Lang::Ja, Frequency) => "周波数",
        (Lang::En, Cores) => "Cores",
        (Lang::Ja, Cores) => "コア",
        (Lang::En, PerCore) => "Per core",
        (Lang::Ja, PerCore) => "コア別",
        (Lang::En, Used) => "Used",
        (Lang::Ja, Used) => "使用中",
        (Lang::En, Available) => "Available",
        (Lang::Ja, Available) => "空き",
        (Lang::En, Total) => "Total",
        (Lang::Ja, Total) => "合計",
        (Lang::En, Swap) => "Swap",
        (Lang::Ja, Swap) => "スワップ",
        (Lang::En, Received) => "Received",
        (Lang::Ja, Received) => "受信",
        (Lang::En, Sent) => "Sent",
        (Lang::Ja, Sent) => "送信",
        (Lang::En, Read) => "Read",
        (Lang::Ja, Read) => "読み込み",
        (Lang::En, Write) => "Write",
        (Lang::Ja, Write) => "書き込み",
        (Lang::En, Name) => "Name",
        (Lang::Ja, Name) => "名前",
        (Lang::En, Pid) => "PID",
        (Lang::Ja, Pid) => "PID",
        (Lang::En, CpuShare) => "CPU %",
        (Lang::Ja, CpuShare) => "CPU %",
        (Lang::En, Resident) => "Memory",
        (Lang::Ja, Resident) => "メモリ",
        (Lang::En, NotAvailable) => "Not available",
        (Lang::Ja, NotAvailable) => "利用できません",
        (Lang::En, Live) => "Live",
        (Lang::En, Stale) => "Stale",
        (Lang::Ja, Stale) => "更新停止",
        (Lang::Ja, Live) => "ライブ",
        (Lang::En, Connecting) => "Connecting…",
        (Lang::Ja, Connecting) => "接続中…",
        (Lang::En, Offline) => "Offline",
        (Lang::Ja, Offline) => "オフライン",
        (Lang::En, LastUpdated) => "last updated at",
        (Lang::Ja, LastUpdated) => "最終更新",
        (Lang::En, SwitchLanguage) => "日本語",
        (Lang::Ja, SwitchLanguage) => "English",
        (Lang::En, ChartCpu) => "CPU usage",
        (Lang::Ja, ChartCpu) => "CPU 使用率",
        (Lang::En, ChartMemory) => "Memory usage",
        (Lang::Ja, ChartMemory) => "メモリ使用率",
        (Lang::En, ChartNetwork) => "Network traffic",
        (Lang::Ja, ChartNetwork) => "ネットワーク通信量",
        (Lang::En, PerfCores) => "Performance cores",
        (Lang::Ja, PerfCores) => "高性能コア",
        (Lang::En, EffCores) => "Efficiency cores",
        (Lang::Ja, EffCores) => "高効率コア",
        (Lang::En, MemoryPressure) => "Memory pressure",
        (Lang::Ja, MemoryPressure) => "メモリプレッシャー",
        (Lang::En, Charging) => "Charging",
        (Lang::Ja, Charging) => "充電中",
        (Lang::En, Discharging) => "On battery",
        (Lang::Ja, Discharging) => "バッテリー駆動",
        (Lang::En, Full) => "Charged",
        (Lang::Ja, Full) => "充電完了",
        (Lang::En, Unknown) => "Unknown",
        (Lang::Ja, Unknown) => "不明",
        (Lang::En, ProcessCount) => "processes",
        (Lang::Ja, ProcessCount) => "プロセス",
        (Lang::En, SortBy) => "Sort by",
        (Lang::Ja, SortBy) => "並べ替え",
        (Lang::En, Dashboard) => "Dashboard",
        (Lang::Ja, Dashboard) => "ダッシュボード",
        (Lang::En, Chat) => "Ask",
        (Lang::Ja, Chat) => "質問する",
        (Lang::En, ChatTitle) => "Ask about this Mac",
        (Lang::Ja, ChatTitle) => "この Mac について質問する",
        (Lang::En, ChatNoModel) => "No model is loaded: answers will be the measured diagnosis only.",
        (Lang::Ja, ChatNoModel) => "モデルが読み込まれていないため、回答は計測による診断のみになります。",
        (Lang::En, ChatOffline) => "The assistant needs the Mac Status host: it is not reachable right now.",
        (Lang::Ja, ChatOffline) => "アシスタントには Mac Status ホストが必要ですが、現在接続できません。",
        (Lang::En, ChatRefused) => "The host refused the question",
        (Lang::Ja, ChatRefused) => "ホストが質問を受け付けませんでした",
        (Lang::En, ChatFailed) => "The answer failed",
        (Lang::Ja, ChatFailed) => "回答に失敗しました",
        (Lang::En, ChatInterrupted) => "The answer was interrupted: the connection to Mac Status closed before it finished.",
        (Lang::Ja, ChatInterrupted) => "回答が途中で途切れました。回答の完了前に Mac Status との接続が閉じられました。",
        (Lang::En, Question) => "Question",
        (Lang::Ja, Question) => "質問",
        (Lang::En, QuestionPlaceholder) => "Why is my Mac slow?",
        (Lang::Ja, QuestionPlaceholder) => "Mac が遅いのはなぜ？",
        (Lang::En, AnswerStyle) => "Answer style",
        (Lang::Ja, AnswerStyle) => "回答スタイル",
        (Lang::En, StrategySpeed) => "Fast",
        (Lang::Ja, StrategySpeed) => "速さ優先",
        (Lang::En, StrategyBalanced) => "Balanced",
        (Lang::Ja, StrategyBalanced) => "バランス",
        (Lang::En, StrategyQuality) => "Detailed",
        (Lang::Ja, StrategyQuality) => "詳しく",
        (Lang::En, AskButton) => "Ask",
        (Lang::Ja, AskButton) => "質問",
        (Lang::En, StopButton) => "Stop",
        (Lang::Ja, StopButton) => "停止",
        (Lang::En, FactsUsedLabel) => "Facts the answer used",
        (Lang::Ja, FactsUsedLabel) => "回答に使われた数値",
        (Lang::En, FactsUsed) => "Facts used",
        (Lang::Ja, FactsUsed) => "使われた数値",
        (Lang::En, CachedAnswer) => "cached answer",
        (Lang::Ja, CachedAnswer) => "キャッシュされた回答",
        (Lang::En, FirstToken) => "first token",
        (Lang::Ja, FirstToken) => "最初のトークン",
        (Lang::En, PromptTokens) => "prompt tokens",
        (Lang::Ja, PromptTokens) => "プロンプトトークン",
        (Lang::En, Reused) => "reused",
        (Lang::Ja, Reused) => "再利用",
        (Lang::En, CutDeadline) => "cut at the time limit",
        (Lang::Ja, CutDeadline) => "制限時間で打ち切り",
        (Lang::En, CutStopped) => "stopped",
        (Lang::Ja, CutStopped) => "停止しました",
        (Lang::En, CutLength) => "cut at the length limit",
        (Lang::Ja, CutLength) => "長さの上限で打ち切り",
        (Lang::En, Diagnosis) => "Measured diagnosis",
        (Lang::Ja, Diagnosis) => "計測による診断",
        (Lang::En, ExplainedBy) => "Explanation by the model ({model})",
        (Lang::Ja, ExplainedBy) => "モデルによる説明（{model}）",
        (Lang::En, ModelHint) => "The current model ({model}) does not write {language}, so the answer above is the measured diagnosis. To get explanations in {language}, install a model that does:",
        (Lang::Ja, ModelHint) => "現在のモデル（{model}）は{language}を書けないため、上の回答は計測による診断です。{language}で説明を得るには、書けるモデルを次のコマンドで入れてください:",
        (Lang::En, ModelOff) => "No model is loaded, so this answer is the measured diagnosis only.",
        (Lang::Ja, ModelOff) => "モデルが読み込まれていないため、この回答は計測による診断のみです。",
        (Lang::En, ModelBusy) => "The model is busy with other questions, so this answer is the measured diagnosis only. Ask again for an explanation.",
        (Lang::En, NotMeasured) => "Nothing this question is about is measured on this Mac, so the model is not asked to guess.",
        (Lang::Ja, NotMeasured) => "この質問の対象はこのMacでは計測できないため、モデルに推測させていません。",
        (Lang::Ja, ModelBusy) => "モデルが他の質問を処理中のため、この回答は計測による診断のみです。説明が必要ならもう一度質問してください。",
        (Lang::En, UnverifiedTitle) => "not in the measured facts",
        (Lang::Ja, UnverifiedTitle) => "計測値にない数値",
        (Lang::En, UnverifiedLegend) => "Underlined numbers are not in the measured facts: the model may have made them up.",
        (Lang::Ja, UnverifiedLegend) => "下線の数値は計測値にありません。モデルが作った数値かもしれません。",
        (Lang::En, English) => "English",
        (Lang::Ja, English) => "英語",
        (Lang::En, Japanese) => "Japanese",
        (Lang::Ja, Japanese) => "日本語",
        (Lang::En, ProfileTitle) => "Assistant profile",
        (Lang::Ja, ProfileTitle) => "アシスタント設定",
        (Lang::En, ProfileReasons) => "Why these settings",
        (Lang::Ja, ProfileReasons) => "この設定の理由",
        (Lang::En, Model) => "Model",
        (Lang::Ja, Model) => "モデル",
        (Lang::En, Chip) => "Chip",
        (Lang::Ja, Chip) => "チップ",
        (Lang::En, CoresPE) => "Cores (P/E)",
        (Lang::Ja, CoresPE) => "コア (高性能/高効率)",
        (Lang::En, Accelerator) => "Accelerator",
        (Lang::Ja, Accelerator) => "アクセラレータ",
        (Lang::En, Device) => "Device",
        (Lang::Ja, Device) => "デバイス",
        (Lang::En, GpuLayers) => "GPU layers",
        (Lang::Ja, GpuLayers) => "GPU レイヤー",
        (Lang::En, Threads) => "Threads",
        (Lang::Ja, Threads) => "スレッド",
        (Lang::En, Context) => "Context",
        (Lang::Ja, Context) => "コンテキスト",
        (Lang::En, Batch) => "Batch",
        (Lang::Ja, Batch) => "バッチ",
        (Lang::En, MmapMlock) => "mmap / mlock",
        (Lang::Ja, MmapMlock) => "mmap / mlock",
        (Lang::En, RangeLabel) => "Time range",
        (Lang::Ja, RangeLabel) => "表示期間",
        (Lang::En, RangeButton) => "Show the last {range}",
        (Lang::Ja, RangeButton) => "直近 {range} を表示",
        (Lang::En, HistoryLoading) => "Loading history…",
        (Lang::Ja, HistoryLoading) => "履歴を読み込み中…",
        (Lang::En, HistoryEmpty) => "No data for this range yet.",
        (Lang::Ja, HistoryEmpty) => "この期間のデータはまだありません。",
        (Lang::En, HistoryOff) => "History is off on this host: only the last hour is kept.",
        (Lang::Ja, HistoryOff) => "このホストでは履歴が無効です（直近 1 時間のみ）。",
        (Lang::En, HistorySaved) => "Offline: saved copy from",
        (Lang::Ja, HistorySaved) => "オフライン: 保存済みのデータ",
        (Lang::En, Lowest) => "min",
        (Lang::Ja, Lowest) => "最小",
        (Lang::En, Highest) => "max",
        (Lang::Ja, Highest) => "最大",
        (Lang::En, Alerts) => "Alerts",
        (Lang::Ja, Alerts) => "アラート",
        (Lang::En, NoAlerts) => "No alerts since the host started.",
        (Lang::Ja, NoAlerts) => "ホストの起動以降、アラートはありません。",
        (Lang::En, Ongoing) => "ongoing",
        (Lang::Ja, Ongoing) => "継続中",
        (Lang::En, NotifyAsk) => "Notify me",
        (Lang::Ja, NotifyAsk) => "通知を受け取る",
        (Lang::En, NotifyOn) => "Notifications on",
        (Lang::Ja, NotifyOn) => "通知オン",
        (Lang::En, NotifyOff) => "Notifications off",
        (Lang::Ja, NotifyOff) => "通知オフ",
        (Lang::En, NotifyDenied) => "Notifications are blocked in this browser's settings.",
        (Lang::Ja, NotifyDenied) => "このブラウザの設定で通知がブロックされています。",
        (Lang::En, NotifyUnsupported) => "This browser cannot show notifications.",
        (Lang::Ja, NotifyUnsupported) => "このブラウザは通知を表示できません。",
    }
}

/// `of`'s name in `lang`.
pub fn language_name(lang: Lang, of: Lang) -> &'static str {
    t(
        lang,
        match of {
            Lang::En => Key::English,
            Lang::Ja => Key::Japanese,
        },
    )
}

pub fn level_text(lang: Lang, level: Level) -> &'static str {
    match (lang, level) {
        (Lang::En, Level::Normal) => "Normal",
        (Lang::Ja, Level::Normal) => "正常",
        (Lang::En, Level::Careful) => "Careful",
        (Lang::Ja, Level::Careful) => "注意",
        (Lang::En, Level::Warning) => "Warning",
        (Lang::Ja, Level::Warning) => "警告",
        (Lang::En, Level::Critical) => "Critical",
        (Lang::Ja, Level::Critical) => "危険",
    }
}

pub fn battery_state_text(lang: Lang, state: BatteryState) -> &'static str {
    let key = match state {
        BatteryState::Charging => Key::Charging,
        BatteryState::Discharging => Key::Discharging,
        BatteryState::Full => Key::Full,
        BatteryState::Unknown => Key::Unknown,
    };
    t(lang, key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn language_codes_are_the_wire_names() {
        for l in [Lang::En, Lang::Ja] {
            assert_eq!(l.code(), crate::wire::name(&l));
            assert_eq!(Lang::from_code(l.code()), Some(l));
        }
    }

    #[test]
    fn accept_language_honours_weights_and_regions() {
        assert_eq!(
            Lang::from_accept_language("ja-JP,ja;q=0.9,en;q=0.8"),
            Lang::Ja
        );
        assert_eq!(
            Lang::from_accept_language("fr-FR,en-US;q=0.7,ja;q=0.9"),
            Lang::Ja
        );
        assert_eq!(Lang::from_accept_language("en-GB,ja;q=0.5"), Lang::En);
        assert_eq!(Lang::from_accept_language("de"), Lang::En);
        assert_eq!(Lang::from_accept_language(""), Lang::En);
    }

    #[test]
    fn every_key_differs_between_languages_where_it_should() {
        assert_ne!(t(Lang::En, Key::Memory), t(Lang::Ja, Key::Memory));
        assert_eq!(t(Lang::En, Key::SwitchLanguage), "日本語");
        assert_eq!(level_text(Lang::Ja, Level::Critical), "危険");
    }

    #[test]
    fn templates_keep_their_placeholders_in_both_languages() {
        for lang in [Lang::En, Lang::Ja] {
            assert!(t(lang, Key::ExplainedBy).contains("{model}"));
            let hint = t(lang, Key::ModelHint);
            assert!(hint.contains("{model}") && hint.contains("{language}"));
        }
        assert_eq!(language_name(Lang::En, Lang::Ja), "Japanese");
        assert_eq!(language_name(Lang::Ja, Lang::Ja), "日本語");
    }
}
