//! GetCursor (begin, end, unix time) and GetCursorTime.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use sls_lite::proto::{LogGroup, LogGroupText};
use sls_lite::testing::{Compression, log};

use crate::support::{self, LOGSTORE};

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// Sleeps into the next whole second, so receive times differ.
async fn next_second() {
    let d = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    tokio::time::sleep(
        Duration::from_nanos(1_000_000_000 - u64::from(d.subsec_nanos()))
            + Duration::from_millis(20),
    )
    .await;
}

fn one(name: &str) -> LogGroup {
    LogGroup {
        logs: vec![log([("name", name)])],
        topic: Some(name.into()),
        ..Default::default()
    }
}

#[tokio::test]
async fn begin_end_and_time_cursors() {
    let (_server, client) = support::start(1).await;
    let empty_begin = client.get_cursor(LOGSTORE, 0, "begin").await.unwrap();
    let empty_end = client.get_cursor(LOGSTORE, 0, "end").await.unwrap();
    assert_eq!(empty_begin, empty_end);

    client
        .put_log_group(LOGSTORE, &one("first"), Compression::Lz4)
        .await
        .unwrap();
    next_second().await;
    let second_at = now();
    client
        .put_log_group(LOGSTORE, &one("second"), Compression::Lz4)
        .await
        .unwrap();
    client
        .put_log_group(LOGSTORE, &one("third"), Compression::Lz4)
        .await
        .unwrap();

    let begin = client.get_cursor(LOGSTORE, 0, "begin").await.unwrap();
    assert_eq!(begin, empty_begin);
    let end = client.get_cursor(LOGSTORE, 0, "end").await.unwrap();
    let at = client
        .get_cursor(LOGSTORE, 0, &second_at.to_string())
        .await
        .unwrap();
    let pulled = client
        .pull_logs(LOGSTORE, 0, &at, 10, None, Compression::Lz4)
        .await
        .unwrap();
    let topics: Vec<_> = pulled
        .groups
        .iter()
        .map(|g| g.topic_str().unwrap())
        .collect();
    assert_eq!(topics, ["second", "third"]);
    assert_eq!(pulled.next_cursor, end);

    assert_eq!(client.get_cursor(LOGSTORE, 0, "0").await.unwrap(), begin);
    let future = (now() + 3600).to_string();
    assert_eq!(client.get_cursor(LOGSTORE, 0, &future).await.unwrap(), end);

    let t_first = client.get_cursor_time(LOGSTORE, 0, &begin).await.unwrap();
    let t_second = client.get_cursor_time(LOGSTORE, 0, &at).await.unwrap();
    assert!(t_first < t_second, "{t_first} < {t_second}");
    assert!(t_second >= second_at && t_second <= second_at + 1);
    // The end cursor's time is the last log group's.
    assert_eq!(
        client.get_cursor_time(LOGSTORE, 0, &end).await.unwrap(),
        t_second
    );
}

#[tokio::test]
async fn cursors_are_base64_numbers_per_shard() {
    let (_server, client) = support::start(2).await;
    let c0 = client.get_cursor(LOGSTORE, 0, "begin").await.unwrap();
    let c1 = client.get_cursor(LOGSTORE, 1, "begin").await.unwrap();
    assert_ne!(c0, c1);
    use base64::Engine as _;
    let raw = base64::engine::general_purpose::STANDARD
        .decode(&c0)
        .unwrap();
    assert!(raw.iter().all(u8::is_ascii_digit));
    // A cursor of shard 0 is no cursor of shard 1.
    let err = client
        .pull_logs(LOGSTORE, 1, &c0, 10, None, Compression::Lz4)
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("InvalidCursor"));
    let err = client
        .get_cursor(LOGSTORE, 0, "yesterday")
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("ParameterInvalid"));
}
