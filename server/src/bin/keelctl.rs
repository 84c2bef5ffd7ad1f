//! `keelctl`: etcdctl for Keel. Same commands, flags, output and exit
//! codes as etcdctl 3.4; `ETCDCTL_*` (or `KEELCTL_*`) variables stand in
//! for its flags.

#[cfg(not(madsim))]
fn main() -> std::process::ExitCode {
    use keel_server::ctl::{Invocation, lines_in_background, run};
    use std::io::Write;

    let args = std::env::args_os().skip(1).collect();
    let env = std::env::vars().collect();
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("Error: {error}");
            return std::process::ExitCode::from(1);
        }
    };
    // Not locked for the whole run: `watch -i` reads stdin on a thread.
    let mut stdin = std::io::BufReader::new(std::io::stdin());
    let mut prompts = std::io::stdout();
    let mut stderr = std::io::stderr();
    let output = runtime.block_on(run(Invocation {
        args,
        env,
        stdin: &mut stdin,
        prompts: &mut prompts,
        stderr: Some(&mut stderr),
        stdin_lines: Some(Box::new(|| {
            lines_in_background(std::io::BufReader::new(std::io::stdin()))
        })),
        interrupt: Some(Box::new(interrupt_signals)),
    }));
    // A closed stdout or stderr (`keelctl ... | head`) is not worth a panic.
    let _ = std::io::stdout().write_all(&output.stdout);
    let _ = std::io::stdout().flush();
    let _ = std::io::stderr().write_all(&output.stderr);
    std::process::ExitCode::from(u8::try_from(output.exit_code).unwrap_or(1))
}

/// SIGINT or SIGTERM, caught from now on (only `lock` and `elect` ask, as
/// etcdctl catches them only there). A signal whose handler cannot be
/// installed keeps killing the process, as it would without this.
#[cfg(not(madsim))]
fn interrupt_signals() -> std::pin::Pin<Box<dyn std::future::Future<Output = ()>>> {
    use tokio::signal::unix::{Signal, SignalKind, signal};
    async fn next(signal: Option<Signal>) {
        match signal {
            Some(mut signal) => {
                signal.recv().await;
            }
            None => std::future::pending().await,
        }
    }
    let interrupt = signal(SignalKind::interrupt()).ok();
    let terminate = signal(SignalKind::terminate()).ok();
    Box::pin(async move {
        tokio::select! {
            () = next(interrupt) => {}
            () = next(terminate) => {}
        }
    })
}

/// The simulator never runs keelctl; this keeps the crate building under it.
#[cfg(madsim)]
fn main() {}
