//! `keel`: one member of a Keel cluster, configured like etcd.
//!
//! With no flags it starts a single-member cluster on 127.0.0.1:2379
//! (clients) and 127.0.0.1:2380 (peers), data in `./default.keel`.
//! Under systemd (`Type=notify`) it sends READY=1 once it can serve (when
//! it logs etcd's `ready to serve client requests`); SIGTERM or SIGINT
//! drains it and it exits 0. The log goes to stderr (`--log-outputs` may
//! say stdout).

#[cfg(not(madsim))]
fn main() -> std::process::ExitCode {
    use keel_server::config::{ConfigError, LogOutput, parse_server_config};
    use keel_server::daemon::Daemon;
    use std::process::ExitCode;

    let args: Vec<String> = std::env::args().collect();
    let env: std::collections::BTreeMap<String, String> = std::env::vars().collect();
    let read = |path: &std::path::Path| std::fs::read_to_string(path);
    let (config, warnings) = match parse_server_config(&args, &env, &read) {
        Ok(parsed) => parsed,
        Err(ConfigError::Info(text)) => {
            print!("{text}");
            return ExitCode::SUCCESS;
        }
        Err(err) => {
            eprintln!("keel: error verifying flags, {err}. See 'keel --help'.");
            return ExitCode::from(1);
        }
    };
    let level = match config.log_level.as_str() {
        "panic" | "fatal" => "error",
        other => other,
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("KEEL_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(format!("{level},raft=warn")));
    match config.log_output {
        LogOutput::Stderr => tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .with_writer(std::io::stderr)
            .init(),
        LogOutput::Stdout => tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stdout()))
            .with_writer(std::io::stdout)
            .init(),
    }
    for warning in warnings {
        tracing::warn!("{warning}");
    }
    // Fail-stop: a panic anywhere (raft-rs panics when the log cannot be
    // read back, e.g. a checksum mismatch) ends the process rather than
    // leaving a member whose node task died behind open ports. The
    // supervisor restarts it from what is durable, where a damaged log is
    // refused with the remedy.
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        default_hook(info);
        eprintln!("keel: fatal: exiting after a panic; restart the member");
        std::process::abort();
    }));
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("keel: cannot start the runtime: {err}");
            return ExitCode::from(1);
        }
    };
    runtime.block_on(async move {
        let disk = std::sync::Arc::new(keel_engine::storage::disk::OsDisk::new());
        let daemon = match Daemon::start(config.daemon, disk).await {
            Ok(daemon) => daemon,
            Err(err) => {
                tracing::error!("cannot start: {err}");
                return ExitCode::from(1);
            }
        };
        let node = daemon.node.clone();
        let ready = tokio::spawn(async move {
            let mut status = node.watch_status();
            loop {
                let serving = {
                    let now = status.borrow_and_update();
                    now.ready_for_clients()
                };
                if serving {
                    let _ = sd_notify::notify(&[sd_notify::NotifyState::Ready]);
                    return;
                }
                if status.changed().await.is_err() {
                    return;
                }
            }
        });
        let stopped = wait_for_stop(&daemon).await;
        ready.abort();
        let _ = sd_notify::notify(&[sd_notify::NotifyState::Stopping]);
        let fatal = daemon.node.status().fatal_error;
        daemon.shutdown().await;
        match (stopped, fatal) {
            (Stop::Signal, _) => {
                tracing::info!("stopped");
                ExitCode::SUCCESS
            }
            (Stop::Node, Some(why)) if why.contains("removed from the cluster") => {
                tracing::warn!("{why}");
                ExitCode::SUCCESS
            }
            (Stop::Node, why) => {
                tracing::error!("the node stopped: {}", why.unwrap_or_default());
                ExitCode::from(1)
            }
        }
    })
}

#[cfg(not(madsim))]
enum Stop {
    Signal,
    Node,
}

/// Waits for SIGTERM/SIGINT, or for the node to stop on its own.
#[cfg(not(madsim))]
async fn wait_for_stop(daemon: &keel_server::daemon::Daemon) -> Stop {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut term), Ok(mut int)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) else {
        tracing::error!("cannot install signal handlers");
        return Stop::Signal;
    };
    let mut status = daemon.node.watch_status();
    loop {
        tokio::select! {
            _ = term.recv() => return Stop::Signal,
            _ = int.recv() => return Stop::Signal,
            changed = status.changed() => {
                if changed.is_err() || status.borrow().stopped {
                    return Stop::Node;
                }
            }
        }
    }
}

/// Under the simulator the daemon is started by the simulation harness.
#[cfg(madsim)]
fn main() {}
