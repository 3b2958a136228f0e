//! What a server imitates and where its backend is.

/// A hologres-lite server's settings.
#[derive(Debug, Clone)]
pub struct Config {
    /// A libpq URL of a superuser on the backend PostgreSQL, e.g.
    /// `postgres://postgres@127.0.0.1:5432/postgres`.
    pub backend: String,
    /// The backend database this server owns: created if missing, its kit installed; every
    /// client database name maps to it.
    pub database: String,
    /// The Hologres version to imitate, e.g. `1.3.30`, `2.1.5`.
    pub version: String,
    /// Accept COPY sent through Parse/Bind/Execute (as tokio-postgres `copy_in` sends it).
    /// pgjdbc, and so holo-client, sends COPY as a simple query; whether Hologres takes
    /// the extended form is unverified.
    pub copy_on_extended_protocol: bool,
    /// Where to listen; port 0 picks a free one.
    pub listen: String,
}

impl Config {
    pub fn new(
        backend: impl Into<String>,
        database: impl Into<String>,
        version: impl Into<String>,
    ) -> Config {
        Config {
            backend: backend.into(),
            database: database.into(),
            version: version.into(),
            copy_on_extended_protocol: true,
            listen: default_listen(),
        }
    }
}

fn default_listen() -> String {
    "127.0.0.1:0".into()
}
