//! `mac-status`: the binary edge. Parses flags, starts the collector and the model, serves
//! until Ctrl-C/SIGTERM; or runs a `model` / `service` / `profile` subcommand.

use std::path::PathBuf;

use anyhow::Context;
use clap::Parser;
use mac_status::{
    chat::cache::AnswerCache,
    chat::Assistant,
    cli::{Cli, Command, ModelAction, ServeArgs, ServiceAction, Settings, TokenAction},
    engine::{Engine, EngineConfig, EngineError},
    hardware, leptos_options,
    metrics::MetricsHub,
    models, remote, routes, security, service,
    state::AppState,
    store::HistoryStore,
};
use tokio_util::sync::CancellationToken;

fn main() -> anyhow::Result<std::process::ExitCode> {
    let cli = Cli::parse();
    mac_status::logging::init(cli.serve.log_file.as_deref())?;
    let settings = cli.serve.resolve()?;
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => {
            security::check_bind(settings.addr)?;
            // Bind before anything costly: with the port taken (another copy already running),
            // exit at once, without loading the model, and with the status the service files
            // say not to restart on — a restart cannot free the port.
            let listener = match std::net::TcpListener::bind(settings.addr) {
                Ok(l) => l,
                Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => {
                    tracing::error!(
                        "{} is already in use (is Mac Status already running? `mac-status service status`); choose another with --addr",
                        settings.addr
                    );
                    return Ok(std::process::ExitCode::from(service::EXIT_NO_RESTART));
                }
                Err(e) => {
                    return Err(e).with_context(|| format!("cannot listen on {}", settings.addr))
                }
            };
            listener.set_nonblocking(true)?;
            // The remote listener, when asked for: an address that is not this machine's, or
            // an unusable token file, stops the start (no restart can fix either).
            let remote = match settings.remote.as_ref().map(remote::prepare).transpose() {
                Ok(r) => r,
                Err(e) => {
                    tracing::error!("{e}");
                    return Ok(std::process::ExitCode::from(service::EXIT_NO_RESTART));
                }
            };
            // Server rendering nests deeply; a roomier stack keeps debug builds from overflowing.
            tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .thread_stack_size(8 * 1024 * 1024)
                .build()?
                .block_on(serve(settings, listener, remote))?;
        }
        Command::Profile => {
            let report = profile_for(&settings)?;
            println!("{}", serde_json::to_string_pretty(&report)?);
        }
        Command::Model { action } => model(action)?,
        Command::Service { action } => service_cmd(action, &cli.serve)?,
        Command::Token { action } => token_cmd(action, &cli.serve)?,
        Command::Completions { shell } => {
            use clap::CommandFactory;
            clap_complete::generate(
                shell,
                &mut Cli::command(),
                "mac-status",
                &mut std::io::stdout(),
            );
        }
    }
    Ok(std::process::ExitCode::SUCCESS)
}

fn model(action: ModelAction) -> anyhow::Result<()> {
    match action {
        ModelAction::List => {
            for e in models::catalog()? {
                println!("{:<18} {}\n{:<18} {}", e.name, e.description, "", e.file);
            }
        }
        #[cfg(not(feature = "pull"))]
        ModelAction::Pull { .. } => {
            anyhow::bail!("this build has no downloader (built without the `pull` feature)")
        }
        #[cfg(feature = "pull")]
        ModelAction::Pull {
            name,
            dir,
            base_url,
        } => {
            let entry = models::find(&name)?;
            let here = PathBuf::from("models");
            let dir = dir.unwrap_or_else(|| match mac_status::dirs::data_dir() {
                Some(data) if !here.is_dir() => data.join("models"),
                _ => here,
            });
            std::fs::create_dir_all(&dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
            match models::pull(&entry, &dir, base_url.as_deref(), true)? {
                models::Pulled::AlreadyPresent(p) => {
                    println!("{} is already there and verified", p.display())
                }
                models::Pulled::Downloaded { path, resumed_from } => {
                    if resumed_from > 0 {
                        println!("resumed at {resumed_from} bytes");
                    }
                    println!(
                        "{} downloaded and verified; run with --model {}",
                        path.display(),
                        path.display()
                    );
                }
            }
        }
    }
    Ok(())
}

fn service_cmd(action: ServiceAction, args: &ServeArgs) -> anyhow::Result<()> {
    match action {
        ServiceAction::Install => {
            let cwd = std::env::current_dir()?;
            let absolute = |p: PathBuf| if p.is_absolute() { p } else { cwd.join(p) };
            let mut args = args.clone();
            // The service runs from its own working directory: pin every path.
            let settings = args.resolve()?;
            // The embedded site needs no folder; one named is served from the same place.
            args.site_root = settings.site_root.map(absolute);
            args.model = settings.model.map(absolute);
            args.config = args.config.map(absolute);
            let home = service::home()?;
            // On macOS the host writes its own rotated log (launchd never rotates a file);
            // launchd's own file then catches only what comes before logging starts, and
            // panics. systemd's journal rotates by itself.
            let log_file = if cfg!(target_os = "macos") {
                let logs = home.join("Library/Logs");
                args.log_file = Some(
                    args.log_file
                        .map_or_else(|| logs.join("mac-status.log"), absolute),
                );
                logs.join("mac-status.stderr.log")
            } else {
                home.join(".local/state/mac-status/mac-status.log")
            };
            let spec = service::ServiceSpec {
                binary: std::env::current_exe()?,
                args: args.to_args(),
                working_dir: cwd,
                log_file,
            };
            let path = service::install(&spec)?;
            println!("installed and started: {}", path.display());
        }
        ServiceAction::Uninstall => {
            let path = service::uninstall()?;
            println!("removed {}", path.display());
        }
        ServiceAction::Status => println!("{}", service::status()?),
    }
    Ok(())
}

fn token_cmd(action: TokenAction, args: &ServeArgs) -> anyhow::Result<()> {
    let path = args.token_path()?;
    let token = match action {
        TokenAction::Show => remote::token::load_or_create(&path)?,
        TokenAction::Rotate => remote::token::rotate(&path)?,
    };
    println!("{token}");
    eprintln!(
        "kept in {} (owner-only); Prometheus sends it as `Authorization: Bearer …`{}",
        path.display(),
        if matches!(action, TokenAction::Rotate) {
            "; a running host accepts only this one from now on"
        } else {
            ""
        }
    );
    Ok(())
}

/// The hardware profile, fitted to the model file's size when there is one (whether to map it)
/// and, when a model will be loaded, to the devices llama.cpp lists (how many layers go to a
/// GPU). A dashboard-only host starts no llama.cpp, so it reads no devices.
fn profile_for(settings: &Settings) -> anyhow::Result<app::profile::ProfileReport> {
    let mut report = hardware::report(hardware::detect(), &settings.overrides)?;
    let Some(model) = settings.model.as_ref() else {
        return Ok(report);
    };
    if let Ok(meta) = std::fs::metadata(model) {
        hardware::fit_to_model(&mut report, meta.len());
    }
    match hardware::llama_devices() {
        Ok(devices) => {
            // A missing or broken file is reported by the engine; here it only goes unsized.
            let size = mac_status::engine::validate_gguf(model)
                .ok()
                .map(|s| hardware::ModelSize {
                    file_bytes: s.file_size,
                    shape: s.shape,
                });
            hardware::fit_offload(&mut report, devices, size.as_ref());
        }
        Err(hardware::RegistryError::NotBuilt) => {}
        Err(e) => tracing::warn!("llama.cpp's devices unknown, the memory tiers decide: {e}"),
    }
    Ok(report)
}

type Remote = (std::net::TcpListener, std::sync::Arc<remote::RemoteGuard>);

async fn serve(
    settings: Settings,
    listener: std::net::TcpListener,
    remote: Option<Remote>,
) -> anyhow::Result<()> {
    // The address really bound (`--addr 127.0.0.1:0` picks a port): requests must name it.
    let bound = listener.local_addr()?;
    let metrics = MetricsHub::start(settings.metrics_config());
    let report = profile_for(&settings)?;
    for reason in &report.reasons {
        tracing::info!("profile: {reason}");
    }
    let engine = match &settings.model {
        None => Err(EngineError::Disabled),
        Some(path) => {
            let p = &report.profile;
            let cfg = EngineConfig {
                n_ctx: p.n_ctx,
                n_batch: p.n_batch,
                n_threads: p.threads,
                n_gpu_layers: p.gpu_layers,
                use_mmap: p.use_mmap,
                use_mlock: p.use_mlock,
                prefix_reuse: settings.prefix_reuse,
                ..EngineConfig::new(path)
            };
            let started = std::time::Instant::now();
            // Loading maps ~100 MB and warms the model: keep it off the async runtime.
            let loaded = tokio::task::spawn_blocking(move || Engine::load(cfg))
                .await
                .context("model loader panicked")?;
            match &loaded {
                Ok(e) => {
                    tracing::info!(model = %e.model_name(), ms = started.elapsed().as_millis() as u64, "model loaded")
                }
                Err(e) => {
                    let why = mac_status::chat::wire::message(e);
                    tracing::error!("model not loaded, chat is off (the dashboard works): {why}")
                }
            }
            loaded
        }
    };
    let shutdown = CancellationToken::new();
    let (history, history_writer) =
        HistoryStore::start(settings.history.clone(), &metrics, shutdown.clone()).await;
    let alerts = mac_status::alerts::AlertHub::start(settings.alerts.clone(), &metrics, notifier());
    let site = mac_status::site::Site::new(settings.site_root.clone());
    match &site {
        mac_status::site::Site::Embedded(_) => {
            tracing::info!("serving the site built into this binary")
        }
        mac_status::site::Site::Disk(root) => {
            tracing::info!("serving the site in {}", root.display())
        }
    }
    let state = AppState {
        alerts,
        leptos_options: leptos_options(&site, bound),
        assistant: {
            let assistant = Assistant::new(
                engine,
                metrics.clone(),
                report,
                AnswerCache::default(),
                settings.strategy,
            );
            match settings.model_languages.clone() {
                Some(languages) => assistant.with_languages(languages),
                None => assistant,
            }
        },
        metrics,
        history,
        build: std::sync::Arc::new(mac_status::pwa::BuildVersion::new(&site)),
        site,
        shutdown: shutdown.clone(),
    };
    let remote_server = match (remote, &settings.remote) {
        (Some((listener, guard)), Some(cfg)) => {
            let listener = tokio::net::TcpListener::from_std(listener)?;
            tracing::info!(
                "remote scraping at http://{}/metrics{}, bearer token in {}",
                listener.local_addr()?,
                if cfg.read_api {
                    " and /api/v1/{status,history}"
                } else {
                    ""
                },
                guard.token_file().display()
            );
            let app = remote::router(state.clone(), guard, cfg.read_api)
                .into_make_service_with_connect_info::<std::net::SocketAddr>();
            let stop = shutdown.clone();
            Some(tokio::spawn(async move {
                axum::serve(listener, app)
                    .with_graceful_shutdown(stop.cancelled_owned())
                    .await
            }))
        }
        _ => None,
    };
    let app = routes::router(state);
    let listener = tokio::net::TcpListener::from_std(listener)?;
    tracing::info!("Mac Status is running at http://{}", listener.local_addr()?);
    axum::serve(listener, app)
        .with_graceful_shutdown(async move {
            shutdown_signal().await;
            shutdown.cancel();
        })
        .await?;
    if let Some(remote) = remote_server {
        remote.await.context("remote listener panicked")??;
    }
    // The minute in progress, so a restart loses nothing.
    history_writer.finish().await;
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

/// The system notifications the host can show itself: Notification Center on macOS.
fn notifier() -> Option<std::sync::Arc<dyn mac_status::alerts::notify::Notifier>> {
    #[cfg(target_os = "macos")]
    {
        Some(std::sync::Arc::new(mac_status::alerts::notify::Osascript))
    }
    #[cfg(not(target_os = "macos"))]
    None
}
