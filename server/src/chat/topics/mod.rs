//! One module per part of the machine. Each holds everything the chat knows about its topic, so
//! adding a topic touches one place: the words that name it (`KEYWORDS`, read by
//! [`super::intent`]), the measured facts it quotes (`facts`, read by [`super::facts`]), the
//! rules that turn them into findings (`findings`, read by [`super::diagnosis`]) and the coarse
//! state an answer about it depends on (`buckets`, read by [`super::cache`]).

pub(crate) mod battery;
pub(crate) mod cpu;
pub(crate) mod disk;
pub(crate) mod memory;
pub(crate) mod network;
pub(crate) mod overall;
pub(crate) mod processes;
pub(crate) mod temperature;

use std::time::Duration;

use app::chat::Topic;
use app::i18n::Lang;
use app::model::{HistoryPoint, Snapshot};

use super::cache::State;
use super::diagnosis::Findings;
use super::facts::Facts;
use super::intent::IntentSet;

/// How far back "recently" reaches: the rules compare the last minute with now.
pub const RECENT: Duration = Duration::from_secs(60);
/// Fewer history points than this (20 s at the 2 s resolution) is too little to call anything
/// sustained: the rules then speak of "now" only.
pub const MIN_RECENT_POINTS: usize = 10;

/// What one question is answered from: the latest sample, the last minute of history, the
/// detected intents and the question's language (the facts' labels follow it).
pub struct Context<'a> {
    pub snapshot: &'a Snapshot,
    /// History points of the last [`RECENT`], oldest first.
    pub recent: &'a [HistoryPoint],
    pub intents: IntentSet,
    pub lang: Lang,
}

impl Context<'_> {
    /// The last minute, when there is enough of it to judge.
    pub fn last_minute(&self) -> Option<&[HistoryPoint]> {
        (self.recent.len() >= MIN_RECENT_POINTS).then_some(self.recent)
    }

    /// Logical cores, at least 1 (process CPU shares are divided by it).
    pub fn cores(&self) -> f32 {
        self.snapshot.host.logical_cores.max(1) as f32
    }
}

/// The mean of `f` over `points` (`None` for no points).
pub fn mean(points: &[HistoryPoint], f: impl Fn(&HistoryPoint) -> f64) -> Option<f64> {
    (!points.is_empty()).then(|| points.iter().map(f).sum::<f64>() / points.len() as f64)
}

/// The measured facts of `topic`, appended to `f`.
pub fn facts(topic: Topic, f: &mut Facts, cx: &Context) {
    match topic {
        Topic::Cpu => cpu::facts(f, cx),
        Topic::Memory => memory::facts(f, cx),
        Topic::Disk => disk::facts(f, cx),
        Topic::Network => network::facts(f, cx),
        Topic::Processes => processes::facts(f, cx),
        Topic::Battery => battery::facts(f, cx),
        Topic::Temperature => temperature::facts(f, cx),
        Topic::Overall => overall::facts(f, cx),
    }
}

/// The findings of `topic`, appended to `out`.
pub fn findings(topic: Topic, out: &mut Findings, cx: &Context) {
    match topic {
        Topic::Cpu => cpu::findings(out, cx),
        Topic::Memory => memory::findings(out, cx),
        Topic::Disk => disk::findings(out, cx),
        Topic::Network => network::findings(out, cx),
        Topic::Processes => processes::findings(out, cx),
        Topic::Battery => battery::findings(out, cx),
        Topic::Temperature => temperature::findings(out, cx),
        Topic::Overall => overall::findings(out, cx),
    }
}

/// The cache buckets of `topic`, appended to `state`.
pub fn buckets(topic: Topic, state: &mut State) {
    match topic {
        Topic::Cpu => cpu::buckets(state),
        Topic::Memory => memory::buckets(state),
        Topic::Disk => disk::buckets(state),
        Topic::Network => network::buckets(state),
        Topic::Processes => processes::buckets(state),
        Topic::Battery => battery::buckets(state),
        Topic::Temperature => temperature::buckets(state),
        Topic::Overall => overall::buckets(state),
    }
}
