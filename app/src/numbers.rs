//! Numbers in text, read one way by the host's number check and by the UI that underlines
//! what it flagged, so an underline lands on exactly the number the host reported.
//!
//! A number: digits (full-width too) with `,ddd` groups and one decimal part, and the unit
//! after it. Not a number: digits glued to a word (`M1`, `x86`, `v2.1`, `3rd`, `1h`; a byte unit
//! such as `2GB` is fine) and list markers (`1.` starting a line).

use std::ops::Range;

/// A number as written in a text, with the unit that followed it.
#[derive(Clone, Debug, PartialEq)]
pub struct Written {
    /// Where the digits are, exactly as written (full-width digits included).
    pub span: Range<usize>,
    pub value: f64,
    /// Digits after the decimal point: how precisely it was written.
    pub decimals: i32,
    /// Powers of 1000/1024 when a byte unit followed (`GB` = 3), else `None`.
    pub byte_power: Option<i32>,
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
pub fn scan(text: &str) -> Vec<Written> {
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
        let span = chars[start].0..end_of(k);
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
                    span,
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

    fn texts(text: &str) -> Vec<&str> {
        scan(text).into_iter().map(|n| &text[n.span]).collect()
    }

    #[test]
    fn numbers_units_and_what_is_not_a_number() {
        assert_eq!(
            texts("CPU 82% and 12 GB, then 3.7GiB/s"),
            ["82", "12", "3.7"]
        );
        assert_eq!(texts("M1, x86, v2.1, 3rd, 1h"), Vec::<&str>::new());
        assert_eq!(texts("1. first\n2) second\n - 3. third 4"), ["4"]);
        assert_eq!(texts("１２３ MB and 1,024"), ["１２３", "1,024"]);
        let n = &scan("16 GB")[0];
        assert_eq!((n.value, n.decimals, n.byte_power), (16.0, 0, Some(3)));
        let n = &scan("2.50 %")[0];
        assert_eq!((n.value, n.decimals, n.byte_power), (2.5, 2, None));
    }
}
