//! The number check: every number the model writes is compared with the measured facts after
//! generation. A number that matches nothing is reported as written (`"3.7"`, `"436"`), so the
//! UI can underline it as "not in the measured facts".
//!
//! Tolerant where people are: rounding (`82` for 81.6 %, `12 GB` for 12.0 GiB), binary and
//! decimal units (GB/GiB, MB/MiB), full-width digits. What counts as a number is
//! [`app::numbers`], shared with the UI that underlines what this reports.

use app::chat::{Fact, Finding};
use app::numbers::{scan, Written};

/// Tolerance beyond rounding, for floating-point noise only: `81.0` is not `81.6`.
const RELATIVE: f64 = 0.001;

/// The numbers a text may state: everything in the facts, the findings and the question.
#[derive(Clone, Debug, Default)]
pub struct Known {
    plain: Vec<f64>,
    bytes: Vec<f64>,
}

impl Known {
    pub fn new(facts: &[Fact], findings: &[Finding], question: &str) -> Self {
        let mut k = Known::default();
        let texts = facts
            .iter()
            .map(|f| f.value.as_str())
            .chain(findings.iter().flat_map(|f| {
                let advice = f.advice.iter().flat_map(|a| [a.en.as_str(), a.ja.as_str()]);
                [f.en.as_str(), f.ja.as_str()].into_iter().chain(advice)
            }))
            .chain([question]);
        for text in texts {
            for n in scan(text) {
                k.plain.push(n.value);
                if let Some(p) = n.byte_power {
                    // The host writes binary units.
                    k.bytes.push(n.value * 1024f64.powi(p));
                }
            }
        }
        k
    }

    fn matches(&self, n: &Written) -> bool {
        let half_digit = 0.5 * 10f64.powi(-n.decimals);
        let near = |x: f64, tol: f64, fact: f64| (x - fact).abs() <= tol + RELATIVE * fact.abs();
        if let Some(p) = n.byte_power {
            let by_bytes = [1000f64, 1024f64].into_iter().any(|base| {
                let factor = base.powi(p);
                self.bytes
                    .iter()
                    .any(|b| near(n.value * factor, half_digit * factor, *b))
            });
            if by_bytes {
                return true;
            }
        }
        self.plain.iter().any(|f| near(n.value, half_digit, *f))
    }
}

/// The numbers in `text` that match nothing in `known`, as written, each once, in order.
pub fn unverified(text: &str, known: &Known) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for n in scan(text) {
        let written = &text[n.span.clone()];
        if !known.matches(&n) && !out.iter().any(|o| o == written) {
            out.push(written.to_owned());
        }
    }
    out
}

/// Every checkable number in `text`, as written (the bench counts them).
pub fn numbers(text: &str) -> Vec<String> {
    scan(text)
        .into_iter()
        .map(|n| text[n.span].to_owned())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use app::chat::Topic;
    use app::model::Level;

    fn fact(key: &str, value: &str) -> Fact {
        Fact {
            key: key.into(),
            label: key.into(),
            value: value.into(),
        }
    }

    fn known() -> Known {
        let facts = vec![
            fact("cpu.total", "81.6%"),
            fact("memory.used", "75.0% (12.0 GiB of 16.0 GiB)"),
            fact("process.cpu.1", "node 40.2%"),
            fact("disk./.used", "80.0% used, 100.0 GiB free"),
            fact("network.rx", "2.0 MiB/s"),
            fact("temperature.1", "71.3 °C (critical 105 °C)"),
        ];
        let findings = vec![Finding {
            topic: Topic::Cpu,
            level: Level::Warning,
            facts: vec!["cpu.total".into()],
            en: "CPU is 82 % busy; node (40 %) uses the most.".into(),
            ja: "CPU使用率は82%です。".into(),
            not_measured: false,
            advice: None,
        }];
        Known::new(&facts, &findings, "Is my CPU at 90%?")
    }

    #[test]
    fn a_fabricated_answer_has_its_invented_numbers_flagged() {
        let answer = "Your CPU is at 82% because node uses 40% of it. Memory is 75% used \
                      (12 GB of 16 GB), and you have 3.7 GB of swap. The disk has 436 GB free \
                      and runs at 71 °C.";
        assert_eq!(unverified(answer, &known()), vec!["3.7", "436"]);
    }

    #[test]
    fn rounding_units_and_full_width_digits_are_tolerated() {
        let k = known();
        for ok in [
            "CPU 81.6%",
            "CPU 82%",
            "about 80 %",
            "16.0 GiB",
            "17.2 GB of RAM",
            "12GB",
            "100 GB free",
            "107.4 GB free",
            "2 MB/s",
            "2.1 MB/s",
            "105 °C",
            "ＣＰＵは８２％です",
            "you asked about 90%",
        ] {
            assert_eq!(unverified(ok, &k), Vec::<String>::new(), "{ok}");
        }
        for (bad, flagged) in [
            ("CPU 92%", "92"),
            ("CPU 81.0%", "81.0"),
            ("5 GB", "5"),
            ("１２３ MB", "１２３"),
            ("1,024 processes", "1,024"),
        ] {
            assert_eq!(unverified(bad, &k), vec![flagged], "{bad}");
        }
    }

    #[test]
    fn list_markers_and_words_with_digits_are_not_quantities() {
        let text =
            "1. Close node.\n2) Quit Safari.\n - 3. Restart your M1 Mac (x86 apps, 3rd party, 1h).";
        assert_eq!(unverified(text, &known()), Vec::<String>::new());
        // A number after a list marker is still checked.
        assert_eq!(unverified("1. Free 9 GB", &known()), vec!["9"]);
    }

    #[test]
    fn each_unverified_number_is_listed_once_in_order() {
        let text = "436 and 436 and 3.7";
        assert_eq!(unverified(text, &known()), vec!["436", "3.7"]);
        assert!(unverified("", &known()).is_empty());
    }
}
