//! Network: how much is coming in and going out, on which interface, and whether a large
//! upload or download has been running over the last minute.

use app::chat::Topic;
use app::format;
use app::i18n::{self, Key};
use app::model::{is_loopback, Level, NetStats, Snapshot};

use super::{mean, Context};
use crate::chat::cache::{log2_bucket, State};
use crate::chat::diagnosis::Findings;
use crate::chat::facts::{name, Facts};
use crate::chat::intent::{Intent, Rule};

pub(crate) const KEYWORDS: Rule = Rule {
    words: &[
        "network",
        "wifi",
        "internet",
        "download",
        "downloading",
        "upload",
        "uploading",
        "bandwidth",
        "net",
        "ethernet",
        "connection",
        "traffic",
        "online",
        "sending",
        "receiving",
        "streaming",
        "sync",
        "syncing",
        "icloud",
    ],
    phrases: &["wi fi"],
    ja: &[
        "ネットワーク",
        "通信",
        "回線",
        "ネット",
        "ダウンロード",
        "アップロード",
        "帯域",
        "接続",
        "送信",
        "受信",
        "同期",
    ],
    adds: &[Intent::About(Topic::Network)],
};

/// A transfer this fast, on average over the last minute, is "large" (about 60 MB a minute).
const LARGE_BPS: f64 = 1024.0 * 1024.0;

fn external(s: &Snapshot) -> impl Iterator<Item = &NetStats> {
    s.networks.iter().filter(|n| !is_loopback(&n.interface))
}

/// Receive and send rates summed over the non-loopback interfaces; `None` when no interface
/// has a rate yet (the first sample).
pub(crate) fn rates(s: &Snapshot) -> (Option<f64>, Option<f64>) {
    let sum = |pick: fn(&NetStats) -> Option<f64>| {
        external(s)
            .filter_map(pick)
            .fold(None, |acc: Option<f64>, b| Some(acc.unwrap_or(0.0) + b))
    };
    (sum(|n| n.rx_bps), sum(|n| n.tx_bps))
}

/// The interface moving the most bytes now, when any is moving some.
fn busiest(s: &Snapshot) -> Option<&NetStats> {
    let load = |n: &NetStats| n.rx_bps.unwrap_or(0.0) + n.tx_bps.unwrap_or(0.0);
    external(s)
        .filter(|n| load(n) > 0.0)
        .max_by(|a, b| load(a).total_cmp(&load(b)))
}

/// Mean receive and send rates over the last minute.
fn last_minute(cx: &Context) -> Option<(f64, f64)> {
    let points = cx.last_minute()?;
    Some((
        mean(points, |p| p.net_rx_bps)?,
        mean(points, |p| p.net_tx_bps)?,
    ))
}

fn rate(bps: f64) -> String {
    format::rate(Some(bps)).unwrap_or_default()
}

pub(super) fn facts(f: &mut Facts, cx: &Context) {
    let (rx, tx) = rates(cx.snapshot);
    let na = i18n::t(f.lang, Key::NotAvailable);
    let rx = format::rate(rx).unwrap_or_else(|| na.to_owned());
    let tx = format::rate(tx).unwrap_or_else(|| na.to_owned());
    f.push(
        "network.rx",
        f.tr("Network download", "ネットワーク受信"),
        rx,
    );
    f.push("network.tx", f.tr("Network upload", "ネットワーク送信"), tx);
    if let Some(n) = busiest(cx.snapshot) {
        let label = f.tr("Busiest interface", "最も使われているインターフェース");
        f.push("network.busiest", label, name(&n.interface));
    }
    if let Some((rx, tx)) = last_minute(cx) {
        let label = f.tr(
            "Network, last minute (down / up)",
            "ネットワーク（直近1分の平均 受信／送信）",
        );
        f.push(
            "network.last_minute",
            label,
            format!("{} / {}", rate(rx), rate(tx)),
        );
    }
}

pub(super) fn findings(out: &mut Findings, cx: &Context) {
    let (Some(rx), Some(tx)) = rates(cx.snapshot) else {
        return out.push(
            Topic::Network,
            Level::Normal,
            &["network.rx", "network.tx"],
            "Network rates are not measured yet.",
            "ネットワークの通信量はまだ計測されていません。",
        );
    };
    let (r, t) = (rate(rx), rate(tx));
    let mut en = format!("The network is receiving {r} and sending {t}");
    let mut ja = format!("ネットワークは受信{r}、送信{t}です。");
    let mut keys = vec!["network.rx", "network.tx"];
    if let Some(n) = busiest(cx.snapshot) {
        let i = name(&n.interface);
        en += &format!(", mostly on {i}");
        ja += &format!("主に{i}を使っています。");
        keys.push("network.busiest");
    }
    en.push('.');
    out.push(Topic::Network, Level::Normal, &keys, en, ja);

    let Some((rx, tx)) = last_minute(cx) else {
        return;
    };
    let keys = ["network.last_minute"];
    let large = |bps: f64, en: &str, ja: &str| {
        (bps >= LARGE_BPS).then(|| (rate(bps), en.to_owned(), ja.to_owned()))
    };
    let transfers: Vec<_> = [
        large(tx, "upload", "アップロード"),
        large(rx, "download", "ダウンロード"),
    ]
    .into_iter()
    .flatten()
    .collect();
    if transfers.is_empty() {
        out.push(
            Topic::Network,
            Level::Normal,
            &keys,
            format!(
                "No large upload or download has run in the last minute ({} down, {} up on average).",
                rate(rx),
                rate(tx)
            ),
            format!(
                "直近一分間に大きなアップロードやダウンロードはありません（平均 受信{}、送信{}）。",
                rate(rx),
                rate(tx)
            ),
        );
    }
    for (r, what_en, what_ja) in transfers {
        out.push(
            Topic::Network,
            Level::Careful,
            &keys,
            format!("A large {what_en} is running: {r} on average over the last minute."),
            format!("大きな{what_ja}が続いています（直近一分の平均{r}）。"),
        );
        out.advise(
            "If you did not start it, see which app is syncing (iCloud, backups, updates).",
            "心当たりがなければ、同期中のアプリ（iCloud、バックアップ、アップデート）を確認してください。",
        );
    }
}

pub(super) fn buckets(state: &mut State) {
    let (rx, tx) = rates(state.snapshot());
    state.push("network.rx", log2_bucket(rx));
    state.push("network.tx", log2_bucket(tx));
}
