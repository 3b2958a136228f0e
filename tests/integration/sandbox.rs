//! Hostile transforms, limits and poison-record isolation.
