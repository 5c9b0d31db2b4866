//! Command line, environment and config file (`clap` + `toml`). Precedence: flag or
//! `MAC_STATUS_*` variable, then the config file, then the built-in default — so a LaunchAgent,
//! a test or a user can set anything without editing files.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use app::chat::Strategy;
use app::i18n::Lang;
use clap::{Args, Parser, Subcommand};
use serde::Deserialize;
use thiserror::Error;

use crate::alerts::{AlertConfigError, AlertFile, AlertSettings};
use crate::hardware::Overrides;
use crate::metrics::MetricsConfig;
use crate::remote::RemoteConfig;
use crate::store::{self, HistoryConfig, Layout};

/// The llama.cpp backend compiled in (a literal, for `concat!`).
#[cfg(not(feature = "llm"))]
macro_rules! backend {
    () => {
        "none (built without the llm feature)"
    };
}
#[cfg(all(feature = "llm", target_os = "macos"))]
macro_rules! backend {
    () => {
        "Metal + CPU"
    };
}
#[cfg(all(feature = "llm", not(target_os = "macos"), not(feature = "gpu")))]
macro_rules! backend {
    () => {
        "CPU"
    };
}
#[cfg(all(feature = "gpu", not(target_os = "macos")))]
macro_rules! backend {
    () => {
        "loaded at start-up from beside the binary (gpu flavour: CPU variants, CUDA when present)"
    };
}

/// `mac-status --version`: which commit, and which llama.cpp (through `llama-cpp-sys-2`, which
/// vendors it) with which backend — what a bug report needs.
pub const LONG_VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (git ",
    env!("MAC_STATUS_GIT"),
    ")\nllama.cpp: llama-cpp-sys-2 ",
    env!("MAC_STATUS_LLAMA_SYS"),
    ", backend: ",
    backend!()
);

pub const DEFAULT_MODEL: &str = "models/SmolLM2-135M-Instruct-Q4_1.gguf";

#[derive(Debug, Parser)]
#[command(
    name = "mac-status",
    version,
    long_version = LONG_VERSION,
    about = "Private, local status assistant for your Mac"
)]
pub struct Cli {
    #[command(flatten)]
    pub serve: ServeArgs,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the host (the default when no subcommand is given).
    Serve,
    /// The model catalogue: list it, or download a model.
    Model {
        #[command(subcommand)]
        action: ModelAction,
    },
    /// Start the host at login (LaunchAgent on macOS, systemd user unit on Linux).
    Service {
        #[command(subcommand)]
        action: ServiceAction,
    },
    /// Print the hardware profile (what the model will run with, and why) and exit.
    Profile,
    /// Print a shell completion script: `mac-status completions zsh > ~/.zfunc/_mac-status`.
    Completions { shell: clap_complete::Shell },
    /// The bearer token of the remote listener (`--remote-listen`).
    Token {
        #[command(subcommand)]
        action: TokenAction,
    },
}

#[derive(Debug, Clone, Copy, Subcommand)]
pub enum TokenAction {
    /// Print the token (created on first use) and where it is kept.
    Show,
    /// Replace the token: a running host accepts only the new one from its next request on.
    Rotate,
}

#[derive(Debug, Subcommand)]
pub enum ModelAction {
    List,
    /// Download NAME from the catalogue with resume and SHA-256 verification.
    Pull {
        name: String,
        /// Folder for the file [default: `models/` here if it exists (a checkout), else
        /// `models/` in the data folder, where the host looks when started from anywhere].
        #[arg(long)]
        dir: Option<PathBuf>,
        /// Replace `https://huggingface.co` (a mirror).
        #[arg(long, env = "MAC_STATUS_HF_BASE")]
        base_url: Option<String>,
    },
}

#[derive(Debug, Clone, Copy, Subcommand)]
pub enum ServiceAction {
    /// Write and load the service with this command's serve options.
    Install,
    Uninstall,
    Status,
}

#[derive(Debug, Clone, Default, Args)]
pub struct ServeArgs {
    /// TOML config file (same keys as these flags, profile overrides under [profile]).
    #[arg(long, env = "MAC_STATUS_CONFIG", global = true)]
    pub config: Option<PathBuf>,
    /// Address to listen on [default: 127.0.0.1:3000]. Loopback only: anything else is refused.
    #[arg(long, env = "MAC_STATUS_ADDR", global = true)]
    pub addr: Option<SocketAddr>,
    /// Serve the built site from this folder, as it is (development: `cargo leptos watch`)
    /// [default: the site built into this binary].
    #[arg(long, env = "MAC_STATUS_SITE_ROOT", global = true)]
    pub site_root: Option<PathBuf>,
    /// Metrics sampling interval in milliseconds [default: 1000].
    #[arg(long, env = "MAC_STATUS_INTERVAL_MS", global = true,
          value_parser = clap::value_parser!(u64).range(100..=60_000))]
    pub interval_ms: Option<u64>,
    /// GGUF model file [default: models/SmolLM2-135M-Instruct-Q4_1.gguf].
    #[arg(long, env = "MAC_STATUS_MODEL", global = true)]
    pub model: Option<PathBuf>,
    /// Run the dashboard only, without loading a model.
    #[arg(long, env = "MAC_STATUS_NO_MODEL", global = true)]
    pub no_model: bool,
    /// Languages the model writes well, e.g. `ja,en` [default: the catalogue's entry for the
    /// model file, English for a file it does not know].
    #[arg(long, env = "MAC_STATUS_MODEL_LANGUAGES", global = true, value_delimiter = ',',
          value_parser = parse_lang)]
    pub model_languages: Option<Vec<Lang>>,
    /// Answer strategy when a question does not choose one: speed, balanced or quality
    /// [default: balanced].
    #[arg(long, env = "MAC_STATUS_STRATEGY", global = true)]
    pub strategy: Option<Strategy>,
    /// Override: layers offloaded to the GPU (999 = all).
    #[arg(long, env = "MAC_STATUS_GPU_LAYERS", global = true)]
    pub gpu_layers: Option<u32>,
    /// Override: CPU threads for inference.
    #[arg(long, env = "MAC_STATUS_THREADS", global = true)]
    pub threads: Option<u32>,
    /// Override: context window in tokens.
    #[arg(long, env = "MAC_STATUS_CTX", global = true)]
    pub ctx: Option<u32>,
    /// Override: prompt batch size in tokens.
    #[arg(long, env = "MAC_STATUS_BATCH", global = true)]
    pub batch: Option<u32>,
    /// Override: memory-map the model file.
    #[arg(long, env = "MAC_STATUS_MMAP", global = true)]
    pub mmap: Option<bool>,
    /// Override: lock the model in RAM.
    #[arg(long, env = "MAC_STATUS_MLOCK", global = true)]
    pub mlock: Option<bool>,
    /// Write the log to this file instead of standard output, rotated daily (`NAME.DATE.log`
    /// beside it), the last 7 days kept. `service install` sets it on macOS.
    #[arg(long, env = "MAC_STATUS_LOG_FILE", global = true)]
    pub log_file: Option<PathBuf>,
    /// History database file [default: `history.db` in the platform's data folder:
    /// ~/Library/Application Support/dev.macstatus.host on macOS, $XDG_DATA_HOME/mac-status
    /// elsewhere].
    #[arg(long, env = "MAC_STATUS_HISTORY_DB", global = true)]
    pub history_db: Option<PathBuf>,
    /// Keep no history on disk: charts of 24 hours and more stay empty.
    #[arg(long, env = "MAC_STATUS_NO_HISTORY", global = true)]
    pub no_history: bool,
    /// Also listen on this address for Prometheus on other machines: `/metrics` only, with a
    /// bearer token (`mac-status token show`). An address of this machine, e.g.
    /// 192.168.1.20:9101, or 0.0.0.0:9101 for all of them. Off by default.
    #[arg(long, env = "MAC_STATUS_REMOTE_LISTEN", global = true)]
    pub remote_listen: Option<SocketAddr>,
    /// With --remote-listen: also serve the read-only /api/v1/status and /api/v1/history there.
    #[arg(long, env = "MAC_STATUS_REMOTE_READ_API", global = true)]
    pub remote_read_api: bool,
    /// The remote listener's token file [default: `remote-token` in the platform's config
    /// folder: ~/Library/Application Support/dev.macstatus.host on macOS,
    /// $XDG_CONFIG_HOME/mac-status elsewhere].
    #[arg(long, env = "MAC_STATUS_TOKEN_FILE", global = true)]
    pub token_file: Option<PathBuf>,
    /// Tests only: the length of a history "minute" in ms (an hour is 60 of them), so a test
    /// sees rows written in seconds. Hidden from `--help`.
    #[arg(long, global = true, hide = true,
          value_parser = clap::value_parser!(u64).range(100..=60_000))]
    pub history_minute_ms: Option<u64>,
    /// Benchmarks only: evaluate every prompt whole, never reusing the KV cache of the
    /// previous one (measures what prefix reuse saves). Hidden from `--help`.
    #[arg(long, global = true, hide = true)]
    pub no_prefix_reuse: bool,
}

/// The config file's shape.
#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ConfigFile {
    pub addr: Option<SocketAddr>,
    pub site_root: Option<PathBuf>,
    pub interval_ms: Option<u64>,
    pub model: Option<PathBuf>,
    pub no_model: Option<bool>,
    pub model_languages: Option<Vec<Lang>>,
    pub strategy: Option<Strategy>,
    pub history_db: Option<PathBuf>,
    pub no_history: Option<bool>,
    pub remote_listen: Option<SocketAddr>,
    pub remote_read_api: Option<bool>,
    pub token_file: Option<PathBuf>,
    pub profile: Overrides,
    pub alerts: AlertFile,
}

fn parse_lang(s: &str) -> Result<Lang, String> {
    Lang::from_code(s.trim()).ok_or_else(|| format!("unknown language {s:?} (en, ja)"))
}

#[derive(Debug, Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("config file {path} is invalid: {source}")]
    Parse {
        path: PathBuf,
        #[source]
        source: toml::de::Error,
    },
    #[error("config file: [alerts] {0}")]
    Alerts(#[from] AlertConfigError),
    #[error(
        "no config folder for this user to keep the remote token in: name a file with --token-file"
    )]
    NoTokenFile,
}

/// Every setting resolved.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    pub addr: SocketAddr,
    /// A folder to serve the site from instead of the embedded one (`--site-root`, the config
    /// file, or `LEPTOS_SITE_ROOT` that cargo-leptos sets); `None`: the embedded site.
    pub site_root: Option<PathBuf>,
    pub interval: Duration,
    pub model: Option<PathBuf>,
    /// `None`: ask the catalogue.
    pub model_languages: Option<Vec<Lang>>,
    pub strategy: Strategy,
    pub overrides: Overrides,
    /// `false` only with the benchmarks' `--no-prefix-reuse`.
    pub prefix_reuse: bool,
    /// Where history goes (`path: None`: off).
    pub history: HistoryConfig,
    /// When a level becomes an alert, and whether the host notifies (config `[alerts]`).
    pub alerts: AlertSettings,
    /// The second, token-guarded listener for Prometheus (`None`: loopback only).
    pub remote: Option<RemoteConfig>,
}

impl Settings {
    pub fn metrics_config(&self) -> MetricsConfig {
        MetricsConfig {
            interval: self.interval,
            ..MetricsConfig::default()
        }
    }
}

pub fn load_config(path: &Path) -> Result<ConfigFile, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    toml::from_str(&text).map_err(|source| ConfigError::Parse {
        path: path.to_path_buf(),
        source,
    })
}

impl ServeArgs {
    fn config_file(&self) -> Result<ConfigFile, ConfigError> {
        match self.config.clone().or_else(crate::dirs::default_config) {
            Some(p) => load_config(&p),
            None => Ok(ConfigFile::default()),
        }
    }

    /// The remote token's file: flag or variable, config file, then the platform's folder.
    pub fn token_path(&self) -> Result<PathBuf, ConfigError> {
        let file = self.config_file()?;
        self.token_path_with(&file)
    }

    fn token_path_with(&self, file: &ConfigFile) -> Result<PathBuf, ConfigError> {
        self.token_file
            .clone()
            .or_else(|| file.token_file.clone())
            .or_else(crate::remote::token::default_path)
            .ok_or(ConfigError::NoTokenFile)
    }

    pub fn resolve(&self) -> Result<Settings, ConfigError> {
        let file = self.config_file()?;
        let remote = match self.remote_listen.or(file.remote_listen) {
            None => None,
            Some(addr) => Some(RemoteConfig {
                addr,
                read_api: self.remote_read_api || file.remote_read_api.unwrap_or(false),
                token_file: self.token_path_with(&file)?,
            }),
        };
        let p = &file.profile;
        let overrides = Overrides {
            gpu_layers: self.gpu_layers.or(p.gpu_layers),
            threads: self.threads.or(p.threads),
            n_ctx: self.ctx.or(p.n_ctx),
            n_batch: self.batch.or(p.n_batch),
            use_mmap: self.mmap.or(p.use_mmap),
            use_mlock: self.mlock.or(p.use_mlock),
        };
        let no_model = self.no_model || file.no_model.unwrap_or(false);
        let file_alerts = file.alerts.clone();
        let no_history = self.no_history || file.no_history.unwrap_or(false);
        let history_path = if no_history {
            None
        } else {
            let path = self
                .history_db
                .clone()
                .or(file.history_db)
                .or_else(store::default_path);
            if path.is_none() {
                tracing::warn!("no data folder for this user: history is off (set --history-db)");
            }
            path
        };
        Ok(Settings {
            addr: self
                .addr
                .or(file.addr)
                .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 3000))),
            // cargo-leptos' variable wins where it sets it (`cargo leptos watch`).
            site_root: std::env::var_os("LEPTOS_SITE_ROOT")
                .map(PathBuf::from)
                .or_else(|| self.site_root.clone())
                .or(file.site_root),
            interval: Duration::from_millis(self.interval_ms.or(file.interval_ms).unwrap_or(1000)),
            model: (!no_model).then(|| {
                self.model
                    .clone()
                    .or(file.model)
                    .map(|p| crate::dirs::find_model(&p, crate::dirs::data_dir().as_deref()))
                    .unwrap_or_else(|| {
                        crate::dirs::find_model(
                            Path::new(DEFAULT_MODEL),
                            crate::dirs::data_dir().as_deref(),
                        )
                    })
            }),
            model_languages: self.model_languages.clone().or(file.model_languages),
            strategy: self.strategy.or(file.strategy).unwrap_or_default(),
            overrides,
            prefix_reuse: !self.no_prefix_reuse,
            history: HistoryConfig {
                path: history_path,
                layout: self
                    .history_minute_ms
                    .map(|ms| Layout::with_minute(Duration::from_millis(ms)))
                    .unwrap_or_default(),
            },
            alerts: file_alerts.resolve()?,
            remote,
        })
    }

    /// The flags that reproduce these settings (for the login service).
    pub fn to_args(&self) -> Vec<String> {
        let mut out = Vec::new();
        let mut push = |flag: &str, v: Option<String>| {
            if let Some(v) = v {
                out.push(flag.to_string());
                out.push(v);
            }
        };
        push(
            "--config",
            self.config.as_ref().map(|p| p.display().to_string()),
        );
        push("--addr", self.addr.map(|a| a.to_string()));
        push(
            "--site-root",
            self.site_root.as_ref().map(|p| p.display().to_string()),
        );
        push("--interval-ms", self.interval_ms.map(|v| v.to_string()));
        push(
            "--log-file",
            self.log_file.as_ref().map(|p| p.display().to_string()),
        );
        push(
            "--model",
            self.model.as_ref().map(|p| p.display().to_string()),
        );
        push(
            "--model-languages",
            self.model_languages
                .as_ref()
                .map(|l| l.iter().map(|l| l.code()).collect::<Vec<_>>().join(",")),
        );
        push("--strategy", self.strategy.map(|s| app::wire::name(&s)));
        push("--gpu-layers", self.gpu_layers.map(|v| v.to_string()));
        push("--threads", self.threads.map(|v| v.to_string()));
        push("--ctx", self.ctx.map(|v| v.to_string()));
        push("--batch", self.batch.map(|v| v.to_string()));
        push("--mmap", self.mmap.map(|v| v.to_string()));
        push("--mlock", self.mlock.map(|v| v.to_string()));
        push(
            "--history-db",
            self.history_db.as_ref().map(|p| p.display().to_string()),
        );
        push(
            "--history-minute-ms",
            self.history_minute_ms.map(|v| v.to_string()),
        );
        push("--remote-listen", self.remote_listen.map(|a| a.to_string()));
        push(
            "--token-file",
            self.token_file.as_ref().map(|p| p.display().to_string()),
        );
        if self.no_model {
            out.push("--no-model".into());
        }
        if self.no_history {
            out.push("--no-history".into());
        }
        if self.no_prefix_reuse {
            out.push("--no-prefix-reuse".into());
        }
        if self.remote_read_api {
            out.push("--remote-read-api".into());
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_loopback_one_second_and_the_default_model() {
        let s = Cli::try_parse_from(["mac-status"])
            .unwrap()
            .serve
            .resolve()
            .unwrap();
        assert_eq!(s.addr, "127.0.0.1:3000".parse().unwrap());
        assert_eq!(s.interval, Duration::from_secs(1));
        assert_eq!(s.model, Some(PathBuf::from(DEFAULT_MODEL)));
        assert_eq!(s.strategy, Strategy::Balanced);
        assert!(s.overrides.is_empty());
        assert!(s.prefix_reuse);
    }

    #[test]
    fn prefix_reuse_is_on_unless_a_benchmark_turns_it_off() {
        let cli = Cli::try_parse_from(["mac-status", "--no-prefix-reuse"]).unwrap();
        assert!(!cli.serve.resolve().unwrap().prefix_reuse);
        assert_eq!(cli.serve.to_args(), ["--no-prefix-reuse"]);
        let help = <Cli as clap::CommandFactory>::command()
            .render_long_help()
            .to_string();
        assert!(!help.contains("prefix-reuse"), "hidden from users");
    }

    #[test]
    fn model_languages_come_from_flag_or_file_and_round_trip() {
        let cli = Cli::try_parse_from(["mac-status", "--model-languages", "ja,en"]).unwrap();
        let s = cli.serve.resolve().unwrap();
        assert_eq!(s.model_languages, Some(vec![Lang::Ja, Lang::En]));
        assert!(cli
            .serve
            .to_args()
            .join(" ")
            .contains("--model-languages ja,en"));
        assert!(Cli::try_parse_from(["mac-status", "--model-languages", "fr"]).is_err());
        let dir = std::env::temp_dir().join(format!("mac-status-langs-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("c.toml");
        std::fs::write(&file, "model_languages = [\"ja\"]\n").unwrap();
        let cli = Cli::try_parse_from(["mac-status", "--config", file.to_str().unwrap()]).unwrap();
        assert_eq!(
            cli.serve.resolve().unwrap().model_languages,
            Some(vec![Lang::Ja])
        );
        assert_eq!(
            Cli::try_parse_from(["mac-status"])
                .unwrap()
                .serve
                .resolve()
                .unwrap()
                .model_languages,
            None
        );
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn history_goes_to_the_data_folder_unless_moved_or_off() {
        let s = Cli::try_parse_from(["mac-status"])
            .unwrap()
            .serve
            .resolve()
            .unwrap();
        assert_eq!(s.history.path, store::default_path());
        assert_eq!(s.history.layout, Layout::default());
        if let Some(p) = &s.history.path {
            assert!(p.ends_with("history.db"), "{}", p.display());
        }

        let cli = Cli::try_parse_from(["mac-status", "--history-db", "/tmp/h.db"]).unwrap();
        assert_eq!(
            cli.serve.resolve().unwrap().history.path,
            Some(PathBuf::from("/tmp/h.db"))
        );
        assert_eq!(cli.serve.to_args(), ["--history-db", "/tmp/h.db"]);

        let cli = Cli::try_parse_from(["mac-status", "--history-db", "/tmp/h.db", "--no-history"])
            .unwrap();
        assert_eq!(cli.serve.resolve().unwrap().history.path, None, "off wins");
        assert_eq!(
            cli.serve.to_args(),
            ["--history-db", "/tmp/h.db", "--no-history"]
        );

        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("c.toml");
        std::fs::write(&file, "history_db = \"/var/h.db\"\n").unwrap();
        let cli = Cli::try_parse_from(["mac-status", "--config", file.to_str().unwrap()]).unwrap();
        assert_eq!(
            cli.serve.resolve().unwrap().history.path,
            Some(PathBuf::from("/var/h.db"))
        );
        std::fs::write(&file, "history_db = \"/var/h.db\"\nno_history = true\n").unwrap();
        assert_eq!(cli.serve.resolve().unwrap().history.path, None);

        let cli = Cli::try_parse_from(["mac-status", "--history-minute-ms", "1000"]).unwrap();
        assert_eq!(cli.serve.resolve().unwrap().history.layout.minute_ms, 1000);
        let help = <Cli as clap::CommandFactory>::command()
            .render_long_help()
            .to_string();
        assert!(help.contains("--no-history") && !help.contains("history-minute"));
    }

    #[test]
    fn rejects_an_interval_that_would_burn_cpu() {
        let err = Cli::try_parse_from(["mac-status", "--interval-ms", "5"]).unwrap_err();
        assert!(err.to_string().contains("interval-ms"), "{err}");
    }

    #[test]
    fn flags_beat_the_config_file_which_beats_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("mac-status.toml");
        std::fs::write(
            &path,
            "model = \"/m/elyza.gguf\"\nstrategy = \"quality\"\ninterval_ms = 2000\n[profile]\nthreads = 3\nn_ctx = 1024\n",
        )
        .unwrap();
        let cli = Cli::try_parse_from([
            "mac-status",
            "--config",
            path.to_str().unwrap(),
            "--threads",
            "1",
        ])
        .unwrap();
        let s = cli.serve.resolve().unwrap();
        assert_eq!(s.model, Some(PathBuf::from("/m/elyza.gguf")));
        assert_eq!(s.strategy, Strategy::Quality);
        assert_eq!(s.interval, Duration::from_secs(2));
        assert_eq!(s.overrides.threads, Some(1), "the flag wins");
        assert_eq!(s.overrides.n_ctx, Some(1024), "the file fills the rest");
    }

    #[test]
    fn a_typo_in_the_config_file_is_an_error_not_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bad.toml");
        std::fs::write(&path, "[profile]\nthread = 3\n").unwrap();
        let cli = Cli::try_parse_from(["mac-status", "--config", path.to_str().unwrap()]).unwrap();
        let err = cli.serve.resolve().unwrap_err();
        assert!(err.to_string().contains("thread"), "{err}");
    }

    #[test]
    fn remote_listening_is_off_unless_asked_and_comes_from_flag_env_or_file() {
        let s = Cli::try_parse_from(["mac-status"])
            .unwrap()
            .serve
            .resolve()
            .unwrap();
        assert_eq!(s.remote, None, "loopback only by default");
        let cli = Cli::try_parse_from([
            "mac-status",
            "--remote-listen",
            "0.0.0.0:9101",
            "--remote-read-api",
            "--token-file",
            "/tmp/t",
        ])
        .unwrap();
        assert_eq!(
            cli.serve.resolve().unwrap().remote,
            Some(RemoteConfig {
                addr: "0.0.0.0:9101".parse().unwrap(),
                read_api: true,
                token_file: PathBuf::from("/tmp/t"),
            })
        );
        // The login service keeps them.
        let again = Cli::try_parse_from(
            std::iter::once("mac-status".to_string()).chain(cli.serve.to_args()),
        )
        .unwrap();
        assert_eq!(
            again.serve.resolve().unwrap().remote,
            cli.serve.resolve().unwrap().remote
        );

        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("c.toml");
        std::fs::write(
            &file,
            "remote_listen = \"127.0.0.1:9101\"\ntoken_file = \"/tmp/u\"\n",
        )
        .unwrap();
        let cli = Cli::try_parse_from(["mac-status", "--config", file.to_str().unwrap()]).unwrap();
        let remote = cli.serve.resolve().unwrap().remote.unwrap();
        assert_eq!(remote.addr, "127.0.0.1:9101".parse().unwrap());
        assert!(!remote.read_api);
        assert_eq!(remote.token_file, PathBuf::from("/tmp/u"));
        assert_eq!(cli.serve.token_path().unwrap(), PathBuf::from("/tmp/u"));
        assert!(Cli::try_parse_from(["mac-status", "token", "rotate"]).is_ok());
        assert!(Cli::try_parse_from(["mac-status", "--remote-listen", "nope"]).is_err());
    }

    #[test]
    fn no_model_and_service_args_round_trip() {
        let cli = Cli::try_parse_from([
            "mac-status",
            "--no-model",
            "--addr",
            "127.0.0.1:4000",
            "--strategy",
            "speed",
            "service",
            "install",
        ])
        .unwrap();
        assert!(matches!(
            cli.command,
            Some(Command::Service {
                action: ServiceAction::Install
            })
        ));
        assert_eq!(cli.serve.resolve().unwrap().model, None);
        let args = cli.serve.to_args();
        let again =
            Cli::try_parse_from(std::iter::once("mac-status".to_string()).chain(args)).unwrap();
        assert_eq!(again.serve.resolve().unwrap(), cli.serve.resolve().unwrap());
    }
}
