//! The PostgreSQL sink against a real server.
