//! The `holo-host` binary: parses the command line, sets up logging and runs the pipeline
//! until its input ends or SIGINT/SIGTERM arrives.

use std::process::ExitCode;

use anyhow::Context;
use clap::Parser;
use holo_host::cli::{Cli, Command};
use tracing_subscriber::EnvFilter;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let default_level = match cli.verbose {
        0 => "info",
        1 => "debug",
        _ => "trace",
    };
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_level)),
        )
        .with_writer(std::io::stderr)
        .init();

    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let (args, plan) = match cli.command {
        Command::Run(args) => (args, false),
        Command::Plan(args) => (args, true),
    };
    let config = args.build()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    if plan {
        print!("{}", runtime.block_on(holo_host::plan::plan(config))?);
        return Ok(ExitCode::SUCCESS);
    }
    let summary = runtime.block_on(holo_host::pipeline::run(config, shutdown_signal()))?;
    eprintln!("holo-host: {summary}");
    // A stream runs until stopped: that is success; a load stopped early is not.
    Ok(if summary.interrupted && !summary.streaming {
        ExitCode::from(130)
    } else {
        ExitCode::SUCCESS
    })
}

/// Completes on SIGINT or SIGTERM.
async fn shutdown_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate()).expect("install SIGTERM handler");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
}
