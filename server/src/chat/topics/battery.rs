//! Battery: charge, whether it is charging, and the time left; "not measured" on a Mac without
//! one (a desktop), never a guess.

use app::chat::Topic;
use app::format;
use app::i18n::{self, Key, Lang};
use app::model::{BatteryState, Level};

use super::Context;
use crate::chat::cache::{pct_bucket, Bucket, State};
use crate::chat::diagnosis::{pct, Findings};
use crate::chat::facts::Facts;
use crate::chat::intent::{Intent, Rule};

pub(crate) const KEYWORDS: Rule = Rule {
    words: &[
        "battery",
        "batteries",
        "charge",
        "charging",
        "charged",
        "power",
        "plugged",
        "unplugged",
        "adapter",
    ],
    phrases: &[],
    ja: &["バッテリ", "電池", "充電", "電源"],
    adds: &[Intent::About(Topic::Battery)],
};

const BUCKET_PCT: f32 = 10.0;

pub(super) fn facts(f: &mut Facts, cx: &Context) {
    let label = i18n::t(f.lang, Key::Battery);
    let Some(b) = &cx.snapshot.battery else {
        return f.not_available("battery.charge", label);
    };
    f.push("battery.charge", label, format::pct(b.percent));
    if b.state != BatteryState::Unknown {
        let state_label = f.tr("Battery state", "バッテリーの状態");
        let state = i18n::battery_state_text(f.lang, b.state);
        f.push("battery.state", state_label, state);
    }
    if let Some(min) = b.minutes_remaining {
        let label = match (f.lang, b.state) {
            (Lang::En, BatteryState::Charging) => "Time to full",
            (Lang::Ja, BatteryState::Charging) => "満充電まで",
            (Lang::En, _) => "Time remaining",
            (Lang::Ja, _) => "残り時間",
        };
        f.push(
            "battery.remaining",
            label,
            format::duration(u64::from(min) * 60),
        );
    }
}

/// The battery finding; `None` when the Mac has no battery (the overall diagnosis skips it).
pub(crate) fn finding(cx: &Context) -> Option<(Level, Vec<&'static str>, String, String)> {
    let b = cx.snapshot.battery.as_ref()?;
    let p = pct(b.percent);
    let level = match b.state {
        BatteryState::Discharging if b.percent < 10.0 => Level::Critical,
        BatteryState::Discharging if b.percent < 20.0 => Level::Warning,
        _ => Level::Normal,
    };
    let mut keys = vec!["battery.charge"];
    let mut en = format!("The battery is at {p} %");
    let mut ja = format!("バッテリー残量は{p}%");
    let state = match b.state {
        BatteryState::Charging => Some(("charging", "充電中")),
        BatteryState::Discharging => Some(("discharging", "放電中")),
        BatteryState::Full => Some(("full", "満充電")),
        BatteryState::Unknown => None,
    };
    if let Some((state_en, state_ja)) = state {
        en += &format!(", {state_en}");
        ja += &format!("で、{state_ja}");
        keys.push("battery.state");
    }
    if let Some(min) = b.minutes_remaining {
        let d = format::duration(u64::from(min) * 60);
        let (what_en, what_ja) = match b.state {
            BatteryState::Charging => ("to full", "満充電まで"),
            _ => ("remaining", "残り"),
        };
        en += &format!(" ({d} {what_en})");
        ja += &format!("（{what_ja}{d}）");
        keys.push("battery.remaining");
    }
    en.push('.');
    ja.push_str("です。");
    Some((level, keys, en, ja))
}

pub(super) fn findings(out: &mut Findings, cx: &Context) {
    match finding(cx) {
        Some((level, keys, en, ja)) => {
            out.push(Topic::Battery, level, &keys, en, ja);
            if level > Level::Normal {
                out.advise(
                    "Plug in the charger soon.",
                    "早めに充電器を接続してください。",
                );
            }
        }
        None => out.not_measured(
            Topic::Battery,
            &["battery.charge"],
            "The battery is not measured on this Mac.",
            "このMacではバッテリーを計測できません。",
        ),
    }
}

pub(super) fn buckets(state: &mut State) {
    match &state.snapshot().battery {
        Some(b) => {
            state.push("battery", pct_bucket(b.percent, BUCKET_PCT));
            state.push("battery.state", Bucket::Name(app::wire::name(&b.state)));
        }
        None => state.push("battery", Bucket::Missing),
    }
}
