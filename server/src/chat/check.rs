//! The number check: every number the model writes is compared with the measured facts after
//! generation. A number that matches nothing is reported as written (`"3.7"`, `"436"`), so the
//! UI can underline it as "not in the measured facts".
//!
//! Tolerant where people are: rounding (`82` for 81.6 %, `12 GB` for 12.0 GiB), binary and
//! decimal units (GB/GiB, MB/MiB), full-width digits. Not checked: list markers (`1.` at the
//! start of a line), and digits that are part of a word (`M1`, `x86`, `3rd`, `1h`).

use app::chat::{Fact, Finding};

/// Tolerance beyond rounding, for floating-point noise only: `81.0` is not `81.6`.
const RELATIVE: f64 = 0.001;

/// A number as written in a text, with the unit that followed it.
#[derive(Clone, Debug, PartialEq)]
struct Written {
    /// The digits exactly as written (full-width digits included).
    text: String,
    value: f64,
    decimals: i32,
    /// Powers of 1000/1024 when a byte unit followed (`GB` = 3), else `None`.
    byte_power: Option<i32>,
}

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
        if !known.matches(&n) && !out.contains(&n.text) {
            out.push(n.text);
        }
    }
    out
}

/// Every checkable number in `text`, as written (the bench counts them).
pub fn numbers(text: &str) -> Vec<String> {
    scan(text).into_iter().map(|n| n.text).collect()
}

/// Full-width digits and separators to ASCII, the rest unchanged.
fn fold(c: char) -> char {
    match c {
        '０'..='９' | '．' | '，' | '％' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
        c => c,
    }
}

/// Byte units and their power: `B`, `KB`/`KiB`, `MB`/`MiB`, `GB`/`GiB`, `TB`/`TiB`, also
/// with a `/s`.
fn byte_power(unit: &str) -> Option<i32> {
    let u = unit.trim_end_matches("/s").to_ascii_lowercase();
    let p = match u.as_str() {
        "b" | "bytes" => 0,
        "kb" | "kib" | "k" => 1,
        "mb" | "mib" => 2,
        "gb" | "gib" | "g" => 3,
        "tb" | "tib" => 4,
        _ => return None,
    };
    Some(p)
}

/// Every checkable number in `text`.
fn scan(text: &str) -> Vec<Written> {
    let chars: Vec<(usize, char)> = text.char_indices().map(|(i, c)| (i, fold(c))).collect();
    let end_of = |k: usize| chars.get(k).map_or(text.len(), |(i, _)| *i);
    let at = |k: usize| chars.get(k).map(|(_, c)| *c);
    let mut out = Vec::new();
    let mut k = 0;
    while k < chars.len() {
        let c = chars[k].1;
        if !c.is_ascii_digit() {
            k += 1;
            continue;
        }
        let start = k;
        // Part of a word or of a longer token (`M1`, `v2.1`, `x86`): not a quantity.
        let glued_before = start > 0
            && at(start - 1).is_some_and(|p| p.is_ascii_alphanumeric() || p == '_' || p == '.');
        let mut digits = String::new();
        while let Some(d) = at(k).filter(|d| d.is_ascii_digit()) {
            digits.push(d);
            k += 1;
            // Thousands separators: `1,024`.
            if at(k) == Some(',')
                && (1..=3).all(|o| at(k + o).is_some_and(|d| d.is_ascii_digit()))
                && !at(k + 4).is_some_and(|d| d.is_ascii_digit())
            {
                k += 1;
            }
        }
        let mut decimals = 0;
        if matches!(at(k), Some('.') | Some(',')) && at(k + 1).is_some_and(|d| d.is_ascii_digit()) {
            digits.push('.');
            k += 1;
            while let Some(d) = at(k).filter(|d| d.is_ascii_digit()) {
                digits.push(d);
                decimals += 1;
                k += 1;
            }
        }
        let written = text[chars[start].0..end_of(k)].to_owned();
        // The unit: letters right after the number, or after one space.
        let mut u = k;
        if at(u) == Some(' ') {
            u += 1;
        }
        let unit_start = u;
        while at(u).is_some_and(|c| c.is_ascii_alphabetic() || c == '/') {
            u += 1;
        }
        let unit: String = chars[unit_start..u].iter().map(|(_, c)| c).collect();
        let power = byte_power(&unit);
        let glued_after = unit_start == k && !unit.is_empty() && power.is_none();
        // `1. Close Safari`: a list marker, not a quantity.
        let line_start = text[..chars[start].0]
            .rsplit('\n')
            .next()
            .is_some_and(|l| l.trim().is_empty() || l.trim() == "-");
        let list_marker = line_start
            && matches!(at(k), Some('.') | Some(')'))
            && at(k + 1).is_none_or(|c| c.is_whitespace());
        if !(glued_before || glued_after || list_marker) {
            if let Ok(value) = digits.parse::<f64>() {
                out.push(Written {
                    text: written,
                    value,
                    decimals,
                    byte_power: power,
                });
            }
        }
    }
    out
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
