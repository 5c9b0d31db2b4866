//! Disks: the fullest volume and its free space (a nearly full startup disk slows a Mac and
//! stops updates), and how hard the disks are working now.

use app::chat::Topic;
use app::format;
use app::i18n::{self, Key, Lang};
use app::model::{DiskStats, Level, Thresholds};

use super::Context;
use crate::chat::cache::{level_bucket, pct_bucket, Bucket, State};
use crate::chat::diagnosis::{pct, Findings};
use crate::chat::facts::{name, real_disks, Facts};
use crate::chat::intent::{Intent, Rule};

pub(crate) const KEYWORDS: Rule = Rule {
    words: &["disk", "drive", "storage", "ssd", "hdd", "volume"],
    phrases: &["free space", "disk space", "enough space", "storage space"],
    ja: &["ディスク", "ストレージ", "ドライブ", "ボリューム"],
    adds: &[Intent::About(Topic::Disk)],
};

/// Capacity words mean the disk, but only when no other part of the machine was named
/// ("is memory full?" is a memory question): [`super::super::intent`] applies it last.
pub(crate) const CAPACITY: Rule = Rule {
    words: &["full", "space", "free"],
    phrases: &[],
    ja: &["空き", "容量", "いっぱい"],
    adds: &[Intent::About(Topic::Disk)],
};

const MAX_DISKS: usize = 4;
const BUCKET_PCT: f32 = 5.0;

pub(crate) fn key(d: &DiskStats) -> String {
    format!("disk.{}.used", name(&d.mount))
}

pub(crate) fn volume_fact(f: &mut Facts, d: &DiskStats) {
    let mount = name(&d.mount);
    let (pct, free) = (format::pct(d.used_pct()), format::bytes(d.available_bytes));
    let (label, value) = match f.lang {
        Lang::En => (format!("Disk {mount}"), format!("{pct} used, {free} free")),
        Lang::Ja => (
            format!("ディスク {mount}"),
            format!("使用 {pct}、空き {free}"),
        ),
    };
    f.push(key(d), label, value);
}

/// Read and write rates summed over the disks; `None` when no disk has a rate yet.
fn io(cx: &Context) -> Option<(f64, f64)> {
    let disks = &cx.snapshot.disks;
    let any = disks
        .iter()
        .any(|d| d.read_bps.is_some() || d.write_bps.is_some());
    any.then(|| {
        let sum = |f: fn(&DiskStats) -> Option<f64>| disks.iter().filter_map(f).sum::<f64>();
        (sum(|d| d.read_bps), sum(|d| d.write_bps))
    })
}

fn rate(bps: f64) -> String {
    format::rate(Some(bps)).unwrap_or_default()
}

pub(super) fn facts(f: &mut Facts, cx: &Context) {
    let disks = real_disks(cx.snapshot);
    if disks.is_empty() {
        return f.not_available("disk", i18n::t(f.lang, Key::Disk));
    }
    for d in disks.into_iter().take(MAX_DISKS) {
        volume_fact(f, d);
    }
    if let Some((read, write)) = io(cx) {
        f.push(
            "disk.read",
            f.tr("Disk reads", "ディスク読み込み"),
            rate(read),
        );
        f.push(
            "disk.write",
            f.tr("Disk writes", "ディスク書き込み"),
            rate(write),
        );
    }
}

/// The fullest volume's finding (the overall diagnosis reuses it).
pub(crate) fn fullest_finding(out: &mut Findings, cx: &Context) {
    let Some(d) = real_disks(cx.snapshot).into_iter().next() else {
        return out.not_measured(
            Topic::Disk,
            &["disk"],
            "Disks are not measured on this Mac.",
            "このMacではディスクを計測できません。",
        );
    };
    let (mount, p, free) = (
        name(&d.mount),
        pct(d.used_pct()),
        format::bytes(d.available_bytes),
    );
    let key = key(d);
    let level = Thresholds::DISK.level(d.used_pct());
    out.push(
        Topic::Disk,
        level,
        &[key.as_str()],
        format!("The fullest volume, {mount}, is {p} % full with {free} free."),
        format!("最も使われているボリューム {mount} は使用率{p}%、空きは{free}です。"),
    );
    if level > Level::Normal {
        out.advise(
            format!("Free space on {mount}: empty the Trash and delete large files you no longer need (System Settings, General, Storage)."),
            format!("{mount}の空きを増やしてください。ゴミ箱を空にし、不要な大きいファイルを削除します（システム設定の「一般」→「ストレージ」）。"),
        );
    }
}

pub(super) fn findings(out: &mut Findings, cx: &Context) {
    fullest_finding(out, cx);
    if let Some((read, write)) = io(cx) {
        let (r, w) = (rate(read), rate(write));
        out.push(
            Topic::Disk,
            Level::Normal,
            &["disk.read", "disk.write"],
            format!("The disks are reading {r} and writing {w}."),
            format!("ディスクの読み込みは{r}、書き込みは{w}です。"),
        );
    }
}

/// The fullest volume's buckets (the overall answer uses them too).
pub(crate) fn fullest_buckets(state: &mut State) {
    let fullest = real_disks(state.snapshot()).first().map(|d| d.used_pct());
    let bucket = fullest.map_or(Bucket::Missing, |p| pct_bucket(p, BUCKET_PCT));
    state.push("disk.fullest", bucket);
    let level = fullest
        .map(|p| Thresholds::DISK.level(p))
        .unwrap_or_default();
    state.push("disk.level", level_bucket(level));
}

pub(super) fn buckets(state: &mut State) {
    for d in real_disks(state.snapshot()) {
        state.push(
            format!("disk:{}", d.mount),
            pct_bucket(d.used_pct(), BUCKET_PCT),
        );
    }
    fullest_buckets(state);
}
