//! Battery on Linux from `/sys/class/power_supply/BAT*` (macOS goes through `pmset`, see
//! [`super::macos`]). Split into a pure parser and a directory reader so both are testable here.

use std::path::Path;

use app::model::{Battery, BatteryState};

/// Builds a [`Battery`] from the contents of a supply's `capacity` and `status` files.
///
/// `None` when the capacity is not a number: a half-initialised supply is "no battery", not 0 %.
/// "Not charging" (plugged in but held, e.g. by a charge limit) maps to `Unknown`, as the model
/// has no state for it.
pub fn parse_sysfs_battery(capacity: &str, status: &str) -> Option<Battery> {
    let percent = capacity.trim().parse::<f32>().ok()?;
    if !percent.is_finite() {
        return None;
    }
    let state = match status.trim() {
        "Charging" => BatteryState::Charging,
        "Discharging" => BatteryState::Discharging,
        "Full" => BatteryState::Full,
        _ => BatteryState::Unknown,
    };
    Some(Battery {
        percent: percent.clamp(0.0, 100.0),
        state,
        minutes_remaining: None,
        source: None,
    })
}

/// First readable `BAT*` supply under `root` (normally `/sys/class/power_supply`), by name order.
pub fn read_sysfs_battery(root: &Path) -> Option<Battery> {
    let mut names: Vec<_> = std::fs::read_dir(root)
        .ok()?
        .filter_map(Result::ok)
        .map(|e| e.file_name())
        .filter(|n| n.to_string_lossy().starts_with("BAT"))
        .collect();
    names.sort();
    names.into_iter().find_map(|name| {
        let dir = root.join(name);
        let capacity = std::fs::read_to_string(dir.join("capacity")).ok()?;
        // A missing status file still leaves a usable percentage.
        let status = std::fs::read_to_string(dir.join("status")).unwrap_or_default();
        parse_sysfs_battery(&capacity, &status)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_sysfs_strings() {
        let b = parse_sysfs_battery("87\n", "Discharging\n").expect("battery");
        assert_eq!(b.percent, 87.0);
        assert_eq!(b.state, BatteryState::Discharging);
        assert_eq!(b.minutes_remaining, None);

        let states = [
            ("Charging\n", BatteryState::Charging),
            ("Full\n", BatteryState::Full),
            ("Not charging\n", BatteryState::Unknown),
            ("Unknown\n", BatteryState::Unknown),
            ("", BatteryState::Unknown),
        ];
        for (status, want) in states {
            assert_eq!(
                parse_sysfs_battery("100", status).map(|b| b.state),
                Some(want)
            );
        }
        // Some firmware reports slightly above 100.
        assert_eq!(
            parse_sysfs_battery("101\n", "Full").map(|b| b.percent),
            Some(100.0)
        );
        assert_eq!(parse_sysfs_battery("", "Charging"), None);
        assert_eq!(parse_sysfs_battery("abc\n", "Charging"), None);
        assert_eq!(parse_sysfs_battery("NaN", "Charging"), None);
    }

    #[test]
    fn reads_the_first_bat_directory() -> std::io::Result<()> {
        let root = tempfile::tempdir()?;
        // Not a battery: ignored even though it has a capacity.
        std::fs::create_dir(root.path().join("hidpp_battery_0"))?;
        std::fs::write(root.path().join("hidpp_battery_0/capacity"), "5\n")?;
        std::fs::create_dir(root.path().join("AC"))?;
        assert_eq!(read_sysfs_battery(root.path()), None);

        for (name, cap, status) in [("BAT1", "30\n", "Charging\n"), ("BAT0", "64\n", "Full\n")] {
            let dir = root.path().join(name);
            std::fs::create_dir(&dir)?;
            std::fs::write(dir.join("capacity"), cap)?;
            std::fs::write(dir.join("status"), status)?;
        }
        let b = read_sysfs_battery(root.path()).expect("BAT0");
        assert_eq!((b.percent, b.state), (64.0, BatteryState::Full));

        assert_eq!(read_sysfs_battery(&root.path().join("missing")), None);
        Ok(())
    }
}
