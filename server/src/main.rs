//! `mac-status`: the binary edge. Parses flags, starts the collector, serves until Ctrl-C.

use anyhow::Context;
use clap::Parser;
use server::{
    cli::{Cli, Command},
    leptos_options,
    metrics::MetricsHub,
    routes, security,
    state::AppState,
};
use tokio_util::sync::CancellationToken;
use tracing_subscriber::EnvFilter;

fn main() -> anyhow::Result<()> {
    // Server rendering nests deeply; a roomier stack keeps debug builds from overflowing.
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_stack_size(8 * 1024 * 1024)
        .build()?
        .block_on(run())
}

async fn run() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .init();
    let cli = Cli::parse();
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(cli.serve).await,
    }
}

async fn serve(args: server::cli::ServeArgs) -> anyhow::Result<()> {
    security::check_bind(args.addr)?;
    let shutdown = CancellationToken::new();
    let state = AppState {
        leptos_options: leptos_options(&args.site_root, args.addr),
        metrics: MetricsHub::start(args.metrics_config()),
        shutdown: shutdown.clone(),
    };
    let app = routes::router(state);
    let listener = tokio::net::TcpListener::bind(args.addr)
        .await
        .with_context(|| format!("cannot listen on {}", args.addr))?;
    tracing::info!("Mac Status is running at http://{}", listener.local_addr()?);
    axum::serve(listener, app)
        .with_graceful_shutdown(async move {
            shutdown_signal().await;
            shutdown.cancel();
        })
        .await?;
    tracing::info!("stopped");
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}
