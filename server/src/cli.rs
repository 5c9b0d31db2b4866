//! Command-line and environment configuration (`clap`): every value has a flag and a
//! `MAC_STATUS_*` variable, so a LaunchAgent or a test can set it without a config file.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

use crate::metrics::MetricsConfig;

#[derive(Debug, Parser)]
#[command(
    name = "mac-status",
    version,
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
}

#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Address to listen on. Loopback only: anything else is refused.
    #[arg(long, env = "MAC_STATUS_ADDR", default_value = "127.0.0.1:3000")]
    pub addr: SocketAddr,
    /// Folder with the built site (`pkg/` with WASM, JS, CSS, and the public assets).
    #[arg(long, env = "MAC_STATUS_SITE_ROOT", default_value = "target/site")]
    pub site_root: PathBuf,
    /// Metrics sampling interval in milliseconds.
    #[arg(long, env = "MAC_STATUS_INTERVAL_MS", default_value_t = 1000,
          value_parser = clap::value_parser!(u64).range(100..=60_000))]
    pub interval_ms: u64,
}

impl ServeArgs {
    pub fn metrics_config(&self) -> MetricsConfig {
        MetricsConfig {
            interval: Duration::from_millis(self.interval_ms),
            ..MetricsConfig::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_loopback_and_one_second() {
        let cli = Cli::try_parse_from(["mac-status"]).unwrap();
        assert!(cli.serve.addr.ip().is_loopback());
        assert_eq!(cli.serve.metrics_config().interval, Duration::from_secs(1));
    }

    #[test]
    fn rejects_an_interval_that_would_burn_cpu() {
        let err = Cli::try_parse_from(["mac-status", "--interval-ms", "5"]).unwrap_err();
        assert!(err.to_string().contains("interval-ms"), "{err}");
    }
}
