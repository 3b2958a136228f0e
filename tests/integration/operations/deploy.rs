//! The Dockerfile and the Kubernetes manifests in `deploy/`, read as a test can read them
//! (there is no Docker daemon or cluster here): every manifest kustomize applies parses,
//! the pipeline file each container runs comes from the ConfigMap and expands into a
//! command `holo-host run` accepts, the probes and ports agree with `--metrics-addr`, and
//! the image holds what they run.

use std::path::{Path, PathBuf};

use clap::Parser;
use holo_host::cli::{Cli, Command, config_file};
use holo_host::config::PipelineConfig;
use holo_host::source::csv::Partition;
use serde_yaml::Value;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn read(rel: &str) -> String {
    let path = root().join(rel);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn yaml(rel: &str) -> Value {
    serde_yaml::from_str(&read(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

fn strings(v: &Value) -> Vec<String> {
    (v.as_sequence().unwrap_or_else(|| panic!("a list: {v:?}")))
        .iter()
        .map(|s| match s {
            Value::String(s) => s.clone(),
            other => serde_yaml::to_string(other).unwrap().trim().to_owned(),
        })
        .collect()
}

/// The kustomization: the manifests it applies, and the files of its ConfigMap by name.
fn kustomization() -> (Vec<String>, String, Vec<String>) {
    let k = yaml("deploy/kubernetes/kustomization.yaml");
    let resources = strings(&k["resources"]);
    let generator = &k["configMapGenerator"][0];
    let name = generator["name"]
        .as_str()
        .expect("a ConfigMap name")
        .to_owned();
    (resources, name, strings(&generator["files"]))
}

/// A manifest's workload, its container, and the argv that container runs with the pipeline
/// file (read from the ConfigMap's source in `deploy/kubernetes/`) expanded in place.
struct Workload {
    doc: Value,
    container: Value,
    argv: Vec<String>,
}

fn workload(manifest: &str) -> Workload {
    let (resources, config_map, files) = kustomization();
    assert!(
        resources.contains(&manifest.to_owned()),
        "{manifest} is applied"
    );
    let doc = yaml(&format!("deploy/kubernetes/{manifest}"));
    let pod = &doc["spec"]["template"]["spec"];
    let container = pod["containers"][0].clone();
    let args = strings(&container["args"]);
    let at = args.iter().position(|a| a == "--config").expect("--config");
    let file = Path::new(&args[at + 1]);
    // The file is mounted from the generated ConfigMap.
    let mount = (container["volumeMounts"].as_sequence().unwrap().iter())
        .find(|m| Path::new(m["mountPath"].as_str().unwrap()) == file.parent().unwrap())
        .unwrap_or_else(|| panic!("{manifest}: nothing mounted at {}", file.display()));
    let volume = (pod["volumes"].as_sequence().unwrap().iter())
        .find(|v| v["name"] == mount["name"])
        .expect("the mounted volume");
    assert_eq!(
        volume["configMap"]["name"].as_str(),
        Some(config_map.as_str())
    );
    let name = file.file_name().unwrap().to_string_lossy().into_owned();
    assert!(files.contains(&name), "{name} is in the ConfigMap");
    let local = root().join("deploy/kubernetes").join(&name);
    let expanded = config_file::load(&local, &|_| Some("from-the-environment".into()))
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    let mut argv = args;
    argv.splice(at..at + 2, expanded.args);
    Workload {
        doc,
        container,
        argv,
    }
}

impl Workload {
    fn config(&self) -> PipelineConfig {
        let argv = std::iter::once("holo-host".to_owned()).chain(self.argv.iter().cloned());
        let cli = Cli::try_parse_from(argv).unwrap_or_else(|e| panic!("{:?}: {e}", self.argv));
        let Command::Run(run) = cli.command else {
            panic!("a run")
        };
        run.build()
            .unwrap_or_else(|e| panic!("{:?}: {e}", self.argv))
    }

    fn env_names(&self) -> Vec<String> {
        (self.container["env"].as_sequence().unwrap().iter())
            .map(|e| e["name"].as_str().unwrap().to_owned())
            .collect()
    }

    fn flag(&self, name: &str) -> &str {
        let at = (self.argv.iter().position(|a| a == name)).unwrap_or_else(|| panic!("{name}"));
        &self.argv[at + 1]
    }
}

#[test]
fn the_stream_deployment_runs_its_pipeline_file_with_probes_and_secrets() {
    let w = workload("stream.yaml");
    assert_eq!(w.doc["kind"], "Deployment");
    let config = w.config();
    let addr = config.metrics_addr.expect("--metrics-addr");
    let port = w.container["ports"][0]["containerPort"].as_u64();
    assert_eq!(port, Some(u64::from(addr.port())));
    assert_eq!(w.container["livenessProbe"]["httpGet"]["path"], "/healthz");
    assert_eq!(w.container["readinessProbe"]["httpGet"]["path"], "/readyz");
    let annotations = &w.doc["spec"]["template"]["metadata"]["annotations"];
    assert_eq!(
        annotations["prometheus.io/port"].as_str(),
        Some(addr.port().to_string().as_str())
    );
    assert!(w.doc["spec"]["template"]["spec"]["terminationGracePeriodSeconds"].is_u64());
    // Seed 002: the stream joined with the books CSV in OSS, child partitions on demand.
    assert!(
        w.flag("--source")
            .starts_with("sls://my-project/book-ratings?")
    );
    assert!(w.flag("--lookup").starts_with("books=csv:oss://my-bucket/"));
    assert!(w.argv.contains(&"--create-partitions".to_owned()));
    // Secrets come from the Secret through the environment, never from the files.
    for secret in [
        "PGPASSWORD",
        "ALIBABA_CLOUD_ACCESS_KEY_ID",
        "ALIBABA_CLOUD_ACCESS_KEY_SECRET",
    ] {
        assert!(w.env_names().contains(&secret.to_owned()), "{secret}");
    }
    assert!(!w.argv.iter().any(|a| a.contains(":secret@")
        || a.contains("password=")
        || a.contains("from-the-environment")));
}

#[test]
fn the_indexed_job_splits_the_objects_by_its_completion_index() {
    let w = workload("batch.yaml");
    assert_eq!(w.doc["kind"], "Job");
    assert_eq!(w.doc["spec"]["completionMode"], "Indexed");
    let completions = w.doc["spec"]["completions"].as_u64().unwrap() as u32;
    let count = w.flag("--partition");
    assert_eq!(
        count.parse::<u32>().unwrap(),
        completions,
        "one share per pod"
    );
    for index in 0..completions {
        let p = Partition::parse(count, Some(&index.to_string())).unwrap();
        assert_eq!((p.index, p.count), (index, completions));
    }
    assert!(
        w.flag("--source")
            .starts_with("csv:oss://my-bucket/exports/")
    );
    // What pod 0 runs (Kubernetes sets its JOB_COMPLETION_INDEX) is accepted.
    let mut pod = w;
    let at = pod.argv.iter().position(|a| a == "--partition").unwrap();
    pod.argv[at + 1] = format!("0/{completions}");
    pod.config();
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
    for manifest in ["stream.yaml", "batch.yaml"] {
        let w = workload(manifest);
        let wasm = Path::new(w.flag("--transform"));
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
