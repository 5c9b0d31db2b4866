//! Fault injection for the supervision tests: a test arms a fault, the code path it names
//! fails once at its next pass. Compiled only with the `fault-hooks` feature; without it,
//! [`hit`] is a constant `false` the optimiser removes, so release builds carry no hook.

/// A failure a test can provoke.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Fault {
    /// The metrics sampler panics while taking a sample.
    SamplerPanic = 1,
    /// The sampler stops publishing (hangs) until the fault is cleared.
    SamplerStall = 2,
    /// The inference thread dies outside the per-answer panic guard.
    EngineThreadDeath = 4,
}

#[cfg(feature = "fault-hooks")]
mod armed {
    use super::Fault;
    use std::sync::atomic::{AtomicU8, Ordering};

    static ARMED: AtomicU8 = AtomicU8::new(0);

    /// Arms `fault`: the next pass through its hook fails.
    pub fn arm(fault: Fault) {
        ARMED.fetch_or(fault as u8, Ordering::SeqCst);
    }

    /// Disarms `fault` (a stall lasts until then).
    pub fn clear(fault: Fault) {
        ARMED.fetch_and(!(fault as u8), Ordering::SeqCst);
    }

    /// Whether `fault` is armed; a one-shot fault is disarmed by being hit.
    pub fn hit(fault: Fault) -> bool {
        if fault == Fault::SamplerStall {
            return ARMED.load(Ordering::SeqCst) & fault as u8 != 0;
        }
        ARMED.fetch_and(!(fault as u8), Ordering::SeqCst) & fault as u8 != 0
    }
}

#[cfg(feature = "fault-hooks")]
pub use armed::{arm, clear, hit};

/// Without `fault-hooks`, no fault is ever armed.
#[cfg(not(feature = "fault-hooks"))]
#[inline(always)]
pub fn hit(_fault: Fault) -> bool {
    false
}
