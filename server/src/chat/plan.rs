//! What one answer may cost (token cap, temperature, deadline): the prototype's "response
//! optimizer", minus the cache (see [`super::cache`]).

use std::time::Duration;

use app::chat::Strategy;

use super::intent::IntentSet;

/// Every answer ends by this time after the question (the product's promise).
pub const DEADLINE: Duration = Duration::from_secs(5);
/// An urgent question's deadline: the benchmark's "urgent check" target.
pub const URGENT_DEADLINE: Duration = Duration::from_secs(2);

/// What one answer may cost.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Plan {
    /// The strategy in effect: `Speed` for an urgent question, whatever was asked for.
    pub strategy: Strategy,
    pub max_tokens: u32,
    pub temperature: f32,
    /// Measured from when the question arrived; the engine stops generating at it.
    pub deadline: Duration,
    pub urgent: bool,
}

/// The plan for a question: the strategy's cap and temperature and the 5-second deadline; an
/// urgent question trades length for time (the speed strategy's cap, a 2-second deadline).
pub fn plan(strategy: Strategy, intents: &IntentSet) -> Plan {
    let urgent = intents.is_urgent();
    let (strategy, deadline) = if urgent {
        (Strategy::Speed, URGENT_DEADLINE)
    } else {
        (strategy, DEADLINE)
    };
    Plan {
        strategy,
        max_tokens: strategy.max_tokens(),
        temperature: strategy.temperature(),
        deadline,
        urgent,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chat::intent::detect;

    #[test]
    fn plans_follow_the_strategy() {
        let normal = detect("cpu");
        for (strategy, cap, temp) in [
            (Strategy::Speed, 128, 0.2),
            (Strategy::Balanced, 256, 0.4),
            (Strategy::Quality, 512, 0.6),
        ] {
            let p = plan(strategy, &normal);
            assert_eq!(p.strategy, strategy);
            assert_eq!(p.max_tokens, cap);
            assert_eq!(p.temperature, temp);
            assert_eq!(p.deadline, DEADLINE);
            assert_eq!(p.deadline, Duration::from_secs(5));
            assert!(!p.urgent);
        }
    }

    #[test]
    fn urgent_plans_are_fast_whatever_was_asked() {
        for q in ["緊急：CPUが100%", "urgent!"] {
            for strategy in [Strategy::Speed, Strategy::Balanced, Strategy::Quality] {
                let p = plan(strategy, &detect(q));
                assert!(p.urgent);
                assert_eq!(p.strategy, Strategy::Speed);
                assert_eq!(p.max_tokens, 128);
                assert_eq!(p.deadline, Duration::from_secs(2));
            }
        }
    }
}
