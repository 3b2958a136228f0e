//! The Dockerfile and the Kubernetes manifests in `deploy/`, read as a test can read them
//! (there is no Docker daemon or cluster here): every command line they hold parses, the
//! probes and ports agree with `--metrics-addr`, and the image holds what they run.

use std::path::Path;

use clap::Parser;
use holo_host::cli::{Cli, Command};
use holo_host::source::csv::Partition;

fn read(rel: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(rel);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The items of the first `args:` list of a manifest, unquoted.
fn args(yaml: &str) -> Vec<String> {
    let mut lines = yaml.lines().skip_while(|l| l.trim() != "args:").skip(1);
    let indent = |l: &str| l.len() - l.trim_start().len();
    let first = lines.next().expect("an args list");
    let depth = indent(first);
    std::iter::once(first)
        .chain(lines.take_while(|l| indent(l) == depth && l.trim_start().starts_with("- ")))
        .map(|l| l.trim_start()[2..].trim().trim_matches('"').to_owned())
        .collect()
}

fn parse(args: &[String]) -> Cli {
    let argv = std::iter::once("holo-host".to_owned()).chain(args.iter().cloned());
    Cli::try_parse_from(argv).unwrap_or_else(|e| panic!("{args:?}: {e}"))
}

#[test]
fn the_stream_deployment_runs_a_valid_command_with_its_probes() {
    let yaml = read("deploy/kubernetes/stream.yaml");
    let args = args(&yaml);
    assert_eq!(args[0], "run");
    let Command::Run(run) = parse(&args).command else {
        panic!("a run")
    };
    let config = run.build().unwrap_or_else(|e| panic!("{e}"));
    let addr = config.metrics_addr.expect("--metrics-addr");
    assert!(
        yaml.contains(&format!("containerPort: {}", addr.port())),
        "{yaml}"
    );
    assert!(yaml.contains("path: /healthz") && yaml.contains("path: /readyz"));
    assert!(yaml.contains(&format!("prometheus.io/port: \"{}\"", addr.port())));
    // Secrets come from the environment, never from the command line.
    for secret in [
        "PGPASSWORD",
        "ALIBABA_CLOUD_ACCESS_KEY_ID",
        "ALIBABA_CLOUD_ACCESS_KEY_SECRET",
    ] {
        assert!(yaml.contains(&format!("name: {secret}")), "{secret}");
    }
    assert!(
        !args
            .iter()
            .any(|a| a.contains(":secret@") || a.contains("password="))
    );
}

#[test]
fn the_indexed_job_splits_the_files_by_its_completion_index() {
    let yaml = read("deploy/kubernetes/batch.yaml");
    let args = args(&yaml);
    let Command::Run(_) = parse(&args).command else {
        panic!("a run")
    };
    assert!(yaml.contains("completionMode: Indexed"));
    let completions: u32 = yaml
        .lines()
        .find_map(|l| l.trim().strip_prefix("completions: "))
        .expect("completions")
        .parse()
        .unwrap();
    let at = args
        .iter()
        .position(|a| a == "--partition")
        .expect("--partition");
    let count = &args[at + 1];
    assert_eq!(
        count.parse::<u32>().unwrap(),
        completions,
        "one share per pod"
    );
    for index in 0..completions {
        let p = Partition::parse(count, Some(&index.to_string())).unwrap();
        assert_eq!((p.index, p.count), (index, completions));
    }
}

#[test]
fn the_image_holds_the_binary_and_the_transforms_the_manifests_run() {
    let dockerfile = read("Dockerfile");
    assert!(dockerfile.contains("rustup target add wasm32-wasip2"));
    assert!(dockerfile.contains("ENTRYPOINT [\"/usr/local/bin/holo-host\"]"));
    assert!(dockerfile.contains("EXPOSE 9464"));
    let user = dockerfile
        .lines()
        .find_map(|l| l.strip_prefix("USER "))
        .expect("a USER");
    assert_ne!(user.trim(), "root");
    for manifest in [
        "deploy/kubernetes/stream.yaml",
        "deploy/kubernetes/batch.yaml",
    ] {
        let args = args(&read(manifest));
        let at = args
            .iter()
            .position(|a| a == "--transform")
            .expect("--transform");
        let wasm = Path::new(&args[at + 1]);
        let name = wasm.file_name().unwrap().to_string_lossy().into_owned();
        assert!(
            dockerfile.contains(&format!("guest/{name}"))
                && dockerfile.contains(&format!("{}/", wasm.parent().unwrap().display())),
            "{manifest} runs {} which the image does not hold",
            wasm.display()
        );
        let crate_name = format!("-p holo-{}", name.trim_end_matches(".wasm"));
        assert!(
            dockerfile.contains(&crate_name),
            "the image does not build {name}"
        );
    }
}
