//! Running `holo-host` as operators do: end-to-end runs of the binary, metrics, health and
//! logs, and the Dockerfile and Kubernetes manifests in `deploy/`.

mod deploy;
pub(crate) mod observability;
mod pipeline;
