//! Enums travel as their serde names (`"speed"`, `"model_missing"`, `"warning"`). These two
//! functions are the only way the code turns such a name into text or back — for CSS classes,
//! `data-*` attributes, `<select>` values and command-line flags — so a name is spelled once, in
//! the type's `#[serde(rename_all)]`, and never re-typed by hand.

use serde::{de::DeserializeOwned, de::IntoDeserializer, Deserialize, Deserializer, Serialize};

/// The serde name of a unit enum variant (`Strategy::Speed` → `"speed"`). Goes through the JSON
/// writer the WASM already carries (not `serde_json::Value`, which would add its own).
pub fn name<T: Serialize>(value: &T) -> String {
    let json = serde_json::to_string(value).unwrap_or_default();
    match json.strip_prefix('"').and_then(|s| s.strip_suffix('"')) {
        Some(name) => name.to_owned(),
        None => json,
    }
}

/// The one of `all` whose serde name is `name`. Reuses the serializer the WASM already has for
/// `T` (a derived deserializer per type would add code to every page load).
pub fn find<T: Serialize>(all: impl IntoIterator<Item = T>, name: &str) -> Option<T> {
    all.into_iter().find(|v| self::name(v) == name)
}

/// `Deserialize` for a unit enum through [`find`]: the name is read as a string and looked up
/// among `all`. The types the browser receives use it instead of a derived deserializer.
pub fn deserialize_by_name<'de, D, T>(d: D, all: impl IntoIterator<Item = T>) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Serialize,
{
    let name = String::deserialize(d)?;
    find(all, &name).ok_or_else(|| serde::de::Error::custom(format!("unknown name {name:?}")))
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
        assert_eq!(find(Strategy::ALL, "quality"), Some(Strategy::Quality));
        assert_eq!(find(Strategy::ALL, "fast"), None);
    }

    #[test]
    fn unknown_names_are_refused_with_the_choices() {
        let err = parse::<Strategy>("fast").unwrap_err().to_string();
        assert!(err.contains("speed") && err.contains("quality"), "{err}");
    }
}
