//! The `holo-host` binary: parses the command line, sets up logging and runs the pipeline
//! until its input ends or SIGINT/SIGTERM arrives.

use std::process::ExitCode;

use anyhow::Context;
use clap::Parser;
use holo_host::author;
use holo_host::cli::{Cli, Command, InspectArgs, TestArgs};
use tracing_subscriber::EnvFilter;

fn main() -> ExitCode {
    // A pipeline file stands for flags: it is expanded before the command line is parsed,
    // and the secrets it names go to the environment (nothing else runs yet).
    let argv = match holo_host::cli::config_file::expand_argv(std::env::args().collect()) {
        Ok((argv, env)) => {
            for (name, value) in env {
                // SAFETY: no other thread exists yet.
                unsafe { std::env::set_var(name, value) };
            }
            argv
        }
        Err(e) => {
            eprintln!("error: {}", holo_host::errors::chain(&e));
            return ExitCode::FAILURE;
        }
    };
    let cli = Cli::parse_from(argv);
    // The authoring commands print their answer on stdout: their logs stay out of the
    // way unless asked for.
    let quiet = matches!(
        cli.command,
        Command::Test(_) | Command::Inspect(_) | Command::New(_)
    );
    let default_level = match cli.verbose {
        0 if quiet => "warn",
        0 => "info",
        1 => "debug",
        _ => "trace",
    };
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_level));
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if cli.log_format == "json" {
        logs.json().init();
    } else {
        logs.init();
    }

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
        Command::Test(args) => return test(args),
        Command::Inspect(args) => return inspect(args),
        Command::New(args) => {
            let root = author::new::generate(&args.dir, &args.name, args.lang)?;
            eprintln!(
                "created {}: build it with {}/build.sh, then `holo-host test {}/{}.wasm --input {}/sample.csv`",
                root.display(),
                root.display(),
                root.display(),
                args.name,
                root.display()
            );
            return Ok(ExitCode::SUCCESS);
        }
    };
    let summary_json = args.summary_json.clone();
    let config = args.build()?;
    let runtime = runtime()?;
    if plan {
        print!("{}", runtime.block_on(holo_host::plan::plan(config))?);
        return Ok(ExitCode::SUCCESS);
    }
    let summary = runtime.block_on(holo_host::pipeline::run(config, shutdown_signal()))?;
    eprintln!("holo-host: {summary}");
    if let Some(path) = summary_json {
        let json = serde_json::to_string_pretty(&summary).expect("a summary serializes");
        std::fs::write(&path, json + "\n")
            .with_context(|| format!("cannot write the summary to `{}`", path.display()))?;
    }
    // A stream runs until stopped: that is success; a load stopped early is not.
    Ok(if summary.interrupted && !summary.streaming {
        ExitCode::from(130)
    } else {
        ExitCode::SUCCESS
    })
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

/// `holo-host test`: prints the outcomes, or with --expect their differences.
fn test(args: TestArgs) -> anyhow::Result<ExitCode> {
    use holo_host::author::run_test;
    let config = run_test::TestConfig {
        transform: args.transform.config(),
        input: args.input,
        lookups: args.transform.lookups,
        expect: args.expect,
    };
    let expected = config
        .expect
        .as_deref()
        .map(run_test::read_expected)
        .transpose()?;
    let outcomes = runtime()?.block_on(run_test::run(&config))?;
    let summary = format!(
        "{} emitted, {} rejected, {} deleted",
        outcomes.emitted, outcomes.rejected, outcomes.deleted
    );
    if let Some(expected) = expected {
        let diffs = run_test::differences(&expected, &outcomes.entries);
        if diffs.is_empty() {
            eprintln!("holo-host test: as expected ({summary})");
            return Ok(ExitCode::SUCCESS);
        }
        for d in &diffs {
            println!("{d}");
        }
        eprintln!(
            "holo-host test: {} difference{} from {} ({summary})",
            diffs.len(),
            if diffs.len() == 1 { "" } else { "s" },
            config
                .expect
                .as_deref()
                .unwrap_or(std::path::Path::new(""))
                .display()
        );
        return Ok(ExitCode::FAILURE);
    }
    let as_table = match args.format.as_deref() {
        Some("table") => true,
        Some("json") => false,
        Some(other) => anyhow::bail!("--format `{other}`: use table or json"),
        None => std::io::IsTerminal::is_terminal(&std::io::stdout()),
    };
    print!(
        "{}",
        if as_table {
            run_test::table(&outcomes)
        } else {
            run_test::json_lines(&outcomes)
        }
    );
    eprintln!("holo-host test: {summary}");
    Ok(ExitCode::SUCCESS)
}

/// `holo-host inspect`.
fn inspect(args: InspectArgs) -> anyhow::Result<ExitCode> {
    use holo_host::author::inspect;
    let config = inspect::InspectConfig {
        transform: args.transform.config(),
        input: args.input_columns,
    };
    let lookups = runtime()?.block_on(holo_host::lookup::Lookups::load(
        &args.transform.lookups,
        None,
    ))?;
    print!(
        "{}",
        inspect::inspect(&config, std::sync::Arc::new(lookups))?
    );
    Ok(ExitCode::SUCCESS)
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
