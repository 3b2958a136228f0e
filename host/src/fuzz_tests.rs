//! Fuzzing by property of the parsers that face the outside (`proptest` on stable Rust;
//! `scripts/fuzz.sh` runs them long): the transform output codec the host reads what a
//! sandboxed component returns with, and the `--source`, `--lookup` and DSN parsers. Any
//! input gives a value or a named error, never a panic; a DSN's password never shows in an
//! error. The CSV reader and the PullLogs decoding have theirs next to them
//! (`input/csv.rs`, and `pull.rs` of the `sls-client` crate).

use proptest::prelude::*;

use crate::input::objects::ObjectUrl;
use crate::lookup::LookupSpec;
use crate::source::sls::SlsSourceConfig;

/// Text made of the pieces these grammars are built from, so the cases reach past the
/// first check.
fn spec_text() -> impl Strategy<Value = String> {
    let pieces = prop::sample::select(vec![
        "csv:",
        "postgres:",
        "oss://",
        "s3://",
        "sls://",
        "b",
        "/",
        "?",
        "&",
        "=",
        "key",
        "columns",
        "endpoint",
        "http://",
        "127.0.0.1:9",
        "a,b",
        "region",
        "style",
        "path",
        "dsn=",
        "*",
        "%",
        "\u{fffd}",
        "",
        "anonymous",
        "true",
        "consumer_group",
        "start",
        "begin",
        ":",
        "@",
        "password=secret-pw",
        "postgres://u:secret-pw@h/db",
    ]);
    prop::collection::vec(pieces, 0..16).prop_map(|p| p.concat())
}

proptest! {
    #[test]
    fn lookup_specs_parse_or_say_why(text in spec_text()) {
        if let Err(e) = text.parse::<LookupSpec>() {
            let shown = e.to_string();
            prop_assert!(!shown.is_empty());
            // What follows the `dsn=` option may hold a password: it is never shown.
            if let Some(i) = text.find("?dsn=").or_else(|| text.find("&dsn="))
                && !text[..i].contains("secret-pw")
            {
                prop_assert!(!shown.contains("secret-pw"), "{}", shown);
            }
        }
    }

    #[test]
    fn object_and_stream_urls_parse_or_say_why(text in spec_text()) {
        if let Err(e) = ObjectUrl::parse(&text) {
            prop_assert!(!e.is_empty());
        }
        if let Err(e) = SlsSourceConfig::parse(&text) {
            prop_assert!(!e.is_empty());
        }
    }

    #[test]
    fn dsns_parse_or_say_why_without_the_password(text in spec_text()) {
        if let Err(e) = crate::db::parse_dsn(&text, None) {
            let shown = crate::errors::chain(&e);
            prop_assert!(!shown.contains("secret-pw"), "{}", shown);
        }
    }

    /// What a transform returns is read entry by entry: bad tags, lengths past the end and
    /// rows out of order are errors, never a panic or a read past the buffer.
    #[test]
    fn transform_output_is_read_without_panic(
        buf in prop::collection::vec(any::<u8>(), 0..512),
        ncols in 0usize..8,
        rows in 0u32..64,
    ) {
        for entry in holo_batch::OutputReader::new(&buf, ncols, rows) {
            match entry {
                Ok(e) => prop_assert!(e.input() < rows),
                Err(e) => { let _ = e.to_string(); break; }
            }
        }
    }
}
