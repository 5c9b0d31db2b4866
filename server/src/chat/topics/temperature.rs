//! Temperatures: the hottest sensor against its critical point; "not measured on this Mac"
//! where the platform exposes none, never a guess.

use app::chat::Topic;
use app::i18n::{self, Key, Lang};
use app::model::{Level, SensorReading};

use super::Context;
use crate::chat::cache::{pct_bucket, Bucket, State};
use crate::chat::diagnosis::Findings;
use crate::chat::facts::{name, Facts};
use crate::chat::intent::{Intent, Rule};

pub(crate) const KEYWORDS: Rule = Rule {
    words: &[
        "temperature",
        "temp",
        "thermal",
        "celsius",
        "sensor",
        "sensors",
    ],
    phrases: &[],
    ja: &["温度", "センサー"],
    adds: &[Intent::About(Topic::Temperature)],
};

/// Heat words: a hot Mac is usually a busy Mac, so they bring the CPU as well.
pub(crate) const HEAT: Rule = Rule {
    words: &[
        "hot",
        "fan",
        "heat",
        "overheat",
        "overheating",
        "warm",
        "noisy",
        "loud",
    ],
    phrases: &[],
    ja: &["熱", "ファン", "うるさい"],
    adds: &[Intent::About(Topic::Cpu), Intent::About(Topic::Temperature)],
};

const MAX_SENSORS: usize = 3;
const BUCKET_C: f32 = 5.0;

/// Finite readings, hottest first.
fn readings<'a>(cx: &Context<'a>) -> Vec<&'a SensorReading> {
    let mut r: Vec<_> = cx
        .snapshot
        .temperatures
        .iter()
        .flatten()
        .filter(|r| r.celsius.is_finite())
        .collect();
    r.sort_by(|a, b| b.celsius.total_cmp(&a.celsius));
    r
}

pub(super) fn facts(f: &mut Facts, cx: &Context) {
    let readings = readings(cx);
    if readings.is_empty() {
        return f.not_available("temperature", i18n::t(f.lang, Key::Sensors));
    }
    for (i, r) in readings.into_iter().take(MAX_SENSORS).enumerate() {
        let n = name(&r.label);
        let label = match f.lang {
            Lang::En => format!("Temperature ({n})"),
            Lang::Ja => format!("温度（{n}）"),
        };
        let mut value = format!("{:.1} °C", r.celsius);
        if let Some(c) = r.critical_celsius.filter(|c| c.is_finite()) {
            value += &match f.lang {
                Lang::En => format!(" (critical {c:.0} °C)"),
                Lang::Ja => format!("（限界 {c:.0} °C）"),
            };
        }
        f.push(format!("temperature.{}", i + 1), label, value);
    }
}

fn level(r: &SensorReading) -> Level {
    let c = r.celsius;
    match r.critical_celsius.filter(|c| c.is_finite()) {
        Some(crit) if c >= crit => Level::Critical,
        Some(crit) if c >= crit - 10.0 => Level::Warning,
        Some(crit) if c >= crit - 20.0 => Level::Careful,
        Some(_) => Level::Normal,
        None if c >= 95.0 => Level::Critical,
        None if c >= 85.0 => Level::Warning,
        None if c >= 75.0 => Level::Careful,
        None => Level::Normal,
    }
}

/// The hottest sensor's finding; `None` when no sensor is readable.
pub(crate) fn finding(cx: &Context) -> Option<(Level, String, String)> {
    let r = *readings(cx).first()?;
    let n = name(&r.label);
    let mut en = format!("The hottest sensor, {n}, reads {:.1} °C", r.celsius);
    let mut ja = format!("最も高い温度は{n}の{:.1} °C", r.celsius);
    if let Some(c) = r.critical_celsius.filter(|c| c.is_finite()) {
        en += &format!(" (critical at {c:.0} °C)");
        ja += &format!("（限界 {c:.0} °C）");
    }
    en.push('.');
    ja.push_str("です。");
    Some((level(r), en, ja))
}

pub(super) fn findings(out: &mut Findings, cx: &Context) {
    match finding(cx) {
        Some((level, en, ja)) => {
            out.push(Topic::Temperature, level, &["temperature.1"], en, ja);
            if level > Level::Normal {
                out.advise(
                    "Let the Mac cool down: quit heavy apps and keep its vents free.",
                    "重いアプリを終了し、通気口をふさがないようにして冷ましてください。",
                );
            }
        }
        None => out.not_measured(
            Topic::Temperature,
            &["temperature"],
            "Temperatures are not measured on this Mac.",
            "このMacでは温度を計測できません。",
        ),
    }
}

pub(super) fn buckets(state: &mut State) {
    let hottest = state
        .snapshot()
        .temperatures
        .iter()
        .flatten()
        .map(|r| r.celsius)
        .filter(|c| c.is_finite())
        .max_by(f32::total_cmp);
    let bucket = hottest.map_or(Bucket::Missing, |c| pct_bucket(c, BUCKET_C));
    state.push("temperature", bucket);
}
