//! `keelctl`: etcdctl for Keel. Same commands, flags, output and exit
//! codes as etcdctl 3.4; `KEELCTL_*` variables stand in for its flags.

#[cfg(not(madsim))]
fn main() -> std::process::ExitCode {
    use keel_server::ctl::{Invocation, run};
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
    let stdin = std::io::stdin();
    let mut stdin = stdin.lock();
    let mut prompts = std::io::stdout();
    let output = runtime.block_on(run(Invocation {
        args,
        env,
        stdin: &mut stdin,
        prompts: &mut prompts,
    }));
    // A closed stdout or stderr (`keelctl ... | head`) is not worth a panic.
    let _ = std::io::stdout().write_all(&output.stdout);
    let _ = std::io::stdout().flush();
    let _ = std::io::stderr().write_all(&output.stderr);
    std::process::ExitCode::from(u8::try_from(output.exit_code).unwrap_or(1))
}

/// The simulator never runs keelctl; this keeps the crate building under it.
#[cfg(madsim)]
fn main() {}
