//! PostgreSQL / Hologres sink.
