//! Integration tests of sls-lite: one test binary, a module per area, helpers in `support`.

mod consumer_groups;
mod cursors;
mod errors;
mod faults;
mod lifecycle;
mod persistence;
mod python_sdk;
mod roundtrip;
mod sign_v4;
mod webtracking;

mod support;
