//! `mac-status service install | uninstall | status`: start the host at login, so the installed
//! PWA always has its host. A LaunchAgent on macOS, a systemd user unit on Linux.
//!
//! File generation is pure (and tested as files); only `install`/`uninstall`/`status` touch the
//! system, through `launchctl` and `systemctl --user`.

use std::path::{Path, PathBuf};
use std::process::Command;

use thiserror::Error;

pub const LAUNCH_AGENT_LABEL: &str = "dev.macstatus.host";
pub const SYSTEMD_UNIT: &str = "mac-status.service";

#[derive(Debug, Error)]
pub enum ServiceError {
    #[error("no home directory (HOME is not set)")]
    NoHome,
    #[error("cannot write {path}: {source}")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("`{command}` failed: {detail}")]
    Command { command: String, detail: String },
    #[error("services are supported on macOS (launchd) and Linux (systemd) only")]
    Unsupported,
    /// A control character (a newline would start a new unit-file line: a forged directive).
    #[error("the service cannot run {value:?}: it contains a control character")]
    ControlCharacter { value: String },
}

/// What the service runs: the binary and its arguments, exactly as on the command line.
#[derive(Debug, Clone, PartialEq)]
pub struct ServiceSpec {
    pub binary: PathBuf,
    pub args: Vec<String>,
    pub working_dir: PathBuf,
    pub log_file: PathBuf,
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&apos;")
}

/// The exit status for a problem a restart cannot fix (the port is taken): `EX_CONFIG` from
/// `sysexits.h`. The systemd unit lists it in `RestartPreventExitStatus`; the LaunchAgent
/// restarts on a crash only, never on a clean exit with a status.
pub const EXIT_NO_RESTART: u8 = 78;

/// The LaunchAgent property list. `KeepAlive` on crash only, `Background` process type so the
/// system schedules the monitor politely, logs in `~/Library/Logs`.
pub fn launch_agent_plist(spec: &ServiceSpec) -> Result<String, ServiceError> {
    spec.check()?;
    let mut args = format!(
        "\t\t<string>{}</string>\n",
        xml_escape(&spec.binary.to_string_lossy())
    );
    for a in &spec.args {
        args.push_str(&format!("\t\t<string>{}</string>\n", xml_escape(a)));
    }
    let log = xml_escape(&spec.log_file.to_string_lossy());
    Ok(format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0">
<dict>
	<key>Label</key>
	<string>{LAUNCH_AGENT_LABEL}</string>
	<key>ProgramArguments</key>
	<array>
{args}	</array>
	<key>WorkingDirectory</key>
	<string>{wd}</string>
	<key>RunAtLoad</key>
	<true/>
	<key>KeepAlive</key>
	<dict>
		<key>Crashed</key>
		<true/>
	</dict>
	<key>ProcessType</key>
	<string>Background</string>
	<key>StandardOutPath</key>
	<string>{log}</string>
	<key>StandardErrorPath</key>
	<string>{log}</string>
</dict>
</plist>
"#,
        wd = xml_escape(&spec.working_dir.to_string_lossy()),
    ))
}

impl ServiceSpec {
    /// Refuses what no escaping makes safe in either service file: control characters (in a
    /// unit file a newline starts a directive of the caller's choosing; XML forbids most).
    fn check(&self) -> Result<(), ServiceError> {
        let paths = [&self.binary, &self.working_dir, &self.log_file];
        let texts = paths
            .iter()
            .map(|p| p.to_string_lossy().into_owned())
            .chain(self.args.iter().cloned());
        for t in texts {
            if t.chars().any(char::is_control) {
                return Err(ServiceError::ControlCharacter { value: t });
            }
        }
        Ok(())
    }
}

/// One `ExecStart=` word, taken literally: quoted, with `\` and `"` escaped, `%` specifiers
/// written `%%` and `$` variable references `$$`.
fn systemd_quote(s: &str) -> String {
    let escaped = s
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('%', "%%")
        .replace('$', "$$");
    format!("\"{escaped}\"")
}

pub fn systemd_unit(spec: &ServiceSpec) -> Result<String, ServiceError> {
    spec.check()?;
    let exec = std::iter::once(spec.binary.to_string_lossy().into_owned())
        .chain(spec.args.iter().cloned())
        .map(|a| systemd_quote(&a))
        .collect::<Vec<_>>()
        .join(" ");
    // A path, not quoted: only `%` specifiers need escaping.
    let wd = spec.working_dir.to_string_lossy().replace('%', "%%");
    Ok(format!(
        "[Unit]\n\
         Description=Mac Status host (local status dashboard and assistant)\n\
         After=default.target\n\
         \n\
         [Service]\n\
         ExecStart={exec}\n\
         WorkingDirectory={wd}\n\
         Restart=on-failure\n\
         RestartPreventExitStatus={no_restart}\n\
         RestartSec=2\n\
         Nice=10\n\
         \n\
         [Install]\n\
         WantedBy=default.target\n",
        no_restart = EXIT_NO_RESTART,
    ))
}

/// Where the service file goes under `home`.
pub fn service_path(home: &Path) -> Result<PathBuf, ServiceError> {
    if cfg!(target_os = "macos") {
        Ok(home
            .join("Library/LaunchAgents")
            .join(format!("{LAUNCH_AGENT_LABEL}.plist")))
    } else if cfg!(target_os = "linux") {
        Ok(home.join(".config/systemd/user").join(SYSTEMD_UNIT))
    } else {
        Err(ServiceError::Unsupported)
    }
}

/// The file for this platform.
pub fn render(spec: &ServiceSpec) -> Result<String, ServiceError> {
    if cfg!(target_os = "macos") {
        launch_agent_plist(spec)
    } else {
        systemd_unit(spec)
    }
}

/// Writes the service file under `home` (creating folders) and returns its path.
pub fn write(spec: &ServiceSpec, home: &Path) -> Result<PathBuf, ServiceError> {
    let path = service_path(home)?;
    let write_err = |source| ServiceError::Write {
        path: path.clone(),
        source,
    };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(write_err)?;
    }
    if let Some(dir) = spec.log_file.parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    let text = render(spec)?;
    replace_file(&path, text.as_bytes()).map_err(write_err)?;
    Ok(path)
}

/// Puts `bytes` at `path` all at once: written to a temporary file beside it, flushed to disk,
/// then renamed over it. A full disk (or a crash) midway leaves the old file as it was, never
/// a half-written one that the service manager would then refuse or misread; the temporary
/// file is removed when anything fails.
pub fn replace_file(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map_or_else(|| "service".into(), |n| n.to_string_lossy().into_owned());
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    let written = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written?;
    // The rename itself is durable once the folder is synced (where folders can be opened).
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

pub fn home() -> Result<PathBuf, ServiceError> {
    std::env::var_os("HOME")
        .map(PathBuf::from)
        .ok_or(ServiceError::NoHome)
}

fn run(cmd: &str, args: &[&str]) -> Result<String, ServiceError> {
    let out = Command::new(cmd)
        .args(args)
        .output()
        .map_err(|e| ServiceError::Command {
            command: format!("{cmd} {}", args.join(" ")),
            detail: e.to_string(),
        })?;
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    if out.status.success() {
        Ok(text)
    } else {
        Err(ServiceError::Command {
            command: format!("{cmd} {}", args.join(" ")),
            detail: text.trim().to_string(),
        })
    }
}

fn gui_domain() -> String {
    // launchd's per-user GUI domain; `id -u` avoids an unsafe libc call.
    let uid = Command::new("id")
        .arg("-u")
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_else(|| "501".into());
    format!("gui/{uid}")
}

/// Writes the file and loads it so the host starts now and at every login.
pub fn install(spec: &ServiceSpec) -> Result<PathBuf, ServiceError> {
    let path = write(spec, &home()?)?;
    if cfg!(target_os = "macos") {
        let domain = gui_domain();
        // Reload cleanly when already installed.
        let _ = run(
            "launchctl",
            &["bootout", &format!("{domain}/{LAUNCH_AGENT_LABEL}")],
        );
        run(
            "launchctl",
            &["bootstrap", &domain, &path.to_string_lossy()],
        )?;
    } else {
        run("systemctl", &["--user", "daemon-reload"])?;
        run("systemctl", &["--user", "enable", "--now", SYSTEMD_UNIT])?;
    }
    Ok(path)
}

pub fn uninstall() -> Result<PathBuf, ServiceError> {
    let path = service_path(&home()?)?;
    if cfg!(target_os = "macos") {
        let _ = run(
            "launchctl",
            &["bootout", &format!("{}/{LAUNCH_AGENT_LABEL}", gui_domain())],
        );
    } else {
        let _ = run("systemctl", &["--user", "disable", "--now", SYSTEMD_UNIT]);
    }
    if path.exists() {
        std::fs::remove_file(&path).map_err(|source| ServiceError::Write {
            path: path.clone(),
            source,
        })?;
    }
    if cfg!(target_os = "linux") {
        let _ = run("systemctl", &["--user", "daemon-reload"]);
    }
    Ok(path)
}

/// A one-paragraph status from the service manager.
pub fn status() -> Result<String, ServiceError> {
    let path = service_path(&home()?)?;
    if !path.exists() {
        return Ok(format!("not installed ({} does not exist)", path.display()));
    }
    let detail = if cfg!(target_os = "macos") {
        run(
            "launchctl",
            &["print", &format!("{}/{LAUNCH_AGENT_LABEL}", gui_domain())],
        )
    } else {
        run(
            "systemctl",
            &["--user", "status", "--no-pager", SYSTEMD_UNIT],
        )
    };
    Ok(match detail {
        Ok(text) => format!("installed at {}\n{}", path.display(), text.trim()),
        Err(e) => format!("installed at {}, but not loaded: {e}", path.display()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> ServiceSpec {
        ServiceSpec {
            binary: PathBuf::from("/Users/kei/Apps/Mac Status/mac-status"),
            args: vec![
                "--addr".into(),
                "127.0.0.1:3000".into(),
                "--model".into(),
                "/Users/kei/models/a&b <1>.gguf".into(),
            ],
            working_dir: PathBuf::from("/Users/kei/Apps/Mac Status"),
            log_file: PathBuf::from("/Users/kei/Library/Logs/mac-status.log"),
        }
    }

    #[test]
    fn plist_is_a_valid_property_list_with_escaped_arguments() {
        let xml = launch_agent_plist(&spec()).unwrap();
        let value: plist::Value = plist::from_bytes(xml.as_bytes()).expect("valid plist");
        let dict = value.as_dictionary().unwrap();
        assert_eq!(dict["Label"].as_string(), Some(LAUNCH_AGENT_LABEL));
        let args: Vec<&str> = dict["ProgramArguments"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_string().unwrap())
            .collect();
        assert_eq!(
            args,
            [
                "/Users/kei/Apps/Mac Status/mac-status",
                "--addr",
                "127.0.0.1:3000",
                "--model",
                "/Users/kei/models/a&b <1>.gguf"
            ]
        );
        assert_eq!(dict["RunAtLoad"].as_boolean(), Some(true));
        let keep = dict["KeepAlive"].as_dictionary().unwrap();
        assert_eq!(keep["Crashed"].as_boolean(), Some(true));
        assert!(
            keep.get("SuccessfulExit").is_none(),
            "a clean exit is never restarted"
        );
        assert_eq!(
            dict["StandardErrorPath"].as_string(),
            Some("/Users/kei/Library/Logs/mac-status.log")
        );
    }

    #[test]
    fn systemd_unit_quotes_arguments_and_restarts_on_failure() {
        let mut s = spec();
        s.args.push("100%\"x\"".into());
        let unit = systemd_unit(&s).unwrap();
        let exec = unit
            .lines()
            .find_map(|l| l.strip_prefix("ExecStart="))
            .unwrap();
        assert_eq!(
            exec,
            r#""/Users/kei/Apps/Mac Status/mac-status" "--addr" "127.0.0.1:3000" "--model" "/Users/kei/models/a&b <1>.gguf" "100%%\"x\"""#
        );
        assert!(unit.contains("\nRestart=on-failure\n"));
        assert!(unit.contains(&format!("\nRestartPreventExitStatus={EXIT_NO_RESTART}\n")));
        assert!(unit.contains("[Install]\nWantedBy=default.target\n"));
    }

    /// Arguments and folders are taken literally by systemd: no variable or specifier is
    /// expanded, no quote closes early, and a newline (a forged directive) is refused.
    #[test]
    fn systemd_unit_cannot_be_injected() {
        let mut s = spec();
        s.binary = PathBuf::from("/bin/true");
        s.working_dir = PathBuf::from("/tmp/100% $HOME");
        s.args = vec![
            "$HOME".into(),
            "${PATH}".into(),
            "%h".into(),
            r#"a"b"#.into(),
            r"back\slash".into(),
        ];
        let unit = systemd_unit(&s).unwrap();
        let exec = unit
            .lines()
            .find_map(|l| l.strip_prefix("ExecStart="))
            .unwrap();
        assert_eq!(
            exec,
            r#""/bin/true" "$$HOME" "$${PATH}" "%%h" "a\"b" "back\\slash""#
        );
        assert!(
            unit.contains("\nWorkingDirectory=/tmp/100%% $HOME\n"),
            "{unit}"
        );
        // systemd's own parser accepts it (where systemd is installed, as on Debian).
        if let Ok(out) = std::process::Command::new("systemd-analyze")
            .arg("--version")
            .output()
        {
            assert!(out.status.success());
            let dir = tempfile::tempdir().unwrap();
            let file = dir.path().join("mac-status-test.service");
            std::fs::write(&file, &unit).unwrap();
            let verify = std::process::Command::new("systemd-analyze")
                .arg("verify")
                .arg(&file)
                .output()
                .unwrap();
            let said = String::from_utf8_lossy(&verify.stderr);
            assert!(
                !said.contains("mac-status-test.service:"),
                "systemd-analyze found a bad line: {said}"
            );
        }
        for bad in ["a\nExecStartPre=/bin/rm -rf ~", "tab\there", "nul\0"] {
            let mut s = spec();
            s.args.push(bad.into());
            assert!(
                matches!(systemd_unit(&s), Err(ServiceError::ControlCharacter { .. })),
                "{bad:?}"
            );
        }
        let mut s = spec();
        s.working_dir = PathBuf::from("/tmp/x\n[Service]");
        assert!(systemd_unit(&s).is_err());
        // The LaunchAgent refuses the same (XML cannot carry most control characters).
        assert!(matches!(
            launch_agent_plist(&s),
            Err(ServiceError::ControlCharacter { .. })
        ));
    }

    #[test]
    fn write_puts_the_file_where_the_service_manager_looks() {
        let home = tempfile::tempdir().unwrap();
        let path = write(&spec(), home.path()).unwrap();
        let expected = if cfg!(target_os = "macos") {
            "Library/LaunchAgents/dev.macstatus.host.plist"
        } else {
            ".config/systemd/user/mac-status.service"
        };
        assert_eq!(path, home.path().join(expected));
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            render(&spec()).unwrap()
        );
    }

    /// Installing again replaces the file whole and leaves no temporary file beside it. (A
    /// full disk is `tests/faults.rs`: the old file stays intact.)
    #[test]
    fn write_replaces_the_file_atomically() {
        let home = tempfile::tempdir().unwrap();
        let path = service_path(home.path()).unwrap();
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, "old unit, longer than the new one ".repeat(100)).unwrap();
        write(&spec(), home.path()).unwrap();
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            render(&spec()).unwrap()
        );
        let names: Vec<_> = std::fs::read_dir(path.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, [path.file_name().unwrap()]);
        // A folder that cannot take the file: the error names it, nothing is left behind.
        let missing = home.path().join("no/such/dir/unit");
        assert!(replace_file(&missing, b"x").is_err());
    }
}
