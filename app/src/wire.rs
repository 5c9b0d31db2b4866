//! Enums travel as their serde names (`"speed"`, `"model_missing"`, `"warning"`). These two
//! functions are the only way the code turns such a name into text or back — for CSS classes,
//! `data-*` attributes, `<select>` values and command-line flags — so a name is spelled once, in
//! the type's `#[serde(rename_all)]`, and never re-typed by hand.

use serde::{de::DeserializeOwned, de::IntoDeserializer, Serialize};

/// The serde name of a unit enum variant (`Strategy::Speed` → `"speed"`).
pub fn name<T: Serialize>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(s)) => s,
        Ok(other) => other.to_string(),
        Err(_) => String::new(),
    }
}

/// The variant with this serde name, or an error that lists what was expected.
pub fn parse<T: DeserializeOwned>(text: &str) -> Result<T, serde::de::value::Error> {
    T::deserialize(text.into_deserializer())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chat::Strategy;
    use crate::model::Level;

    #[test]
    fn names_round_trip_through_serde() {
        for s in Strategy::ALL {
            assert_eq!(parse::<Strategy>(&name(&s)).unwrap(), s);
        }
        assert_eq!(name(&Level::Warning), "warning");
        assert_eq!(name(&Strategy::Speed), "speed");
    }

    #[test]
    fn unknown_names_are_refused_with_the_choices() {
        let err = parse::<Strategy>("fast").unwrap_err().to_string();
        assert!(err.contains("speed") && err.contains("quality"), "{err}");
    }
}
