//! WebTracking: GET with URL-encoded UTF-8 values, track.gif, and the JSON batch POST.

use bytes::Bytes;
use hyper::Method;
use sls_lite::proto::{LogGroupText, LogText};

use crate::support::{self, LOGSTORE};

#[tokio::test]
async fn get_with_url_encoded_japanese_lands_as_one_log() {
    let (_server, client) = support::start(2).await;
    // The seed's S2 request, encoded the way a browser sends it.
    let path = "/logstores/orders/track?APIVersion=0.6.0&__topic__=book_order\
        &order_id=0b6b2f3c-1&user_id=42&book_id=1\
        &book_name=%E5%AB%8C%E3%82%8F%E3%82%8C%E3%82%8B%E5%8B%87%E6%B0%97\
        &order_cnt=2&order_amt=1000&note=a+b%20c%2Bd";
    let r = client
        .request(
            Method::GET,
            path,
            &[],
            &[("user-agent", "test-agent")],
            Bytes::new(),
        )
        .await
        .unwrap();
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert!(r.header("x-log-requestid").is_some());
    let groups = client.pull_all(LOGSTORE).await.unwrap();
    assert_eq!(groups.len(), 1);
    let g = &groups[0];
    assert_eq!(g.topic_str(), Some("book_order"));
    assert_eq!(g.source_str(), Some("127.0.0.1"));
    assert_eq!(g.tag("__client_ip__"), Some("127.0.0.1"));
    assert_eq!(g.tag("__user_agent__"), Some("test-agent"));
    assert!(g.tag("__receive_time__").is_some());
    let log = &g.logs[0];
    let keys: Vec<&str> = log
        .contents
        .iter()
        .map(|c| str::from_utf8(&c.key).unwrap())
        .collect();
    assert_eq!(
        keys,
        [
            "order_id",
            "user_id",
            "book_id",
            "book_name",
            "order_cnt",
            "order_amt",
            "note"
        ]
    );
    assert_eq!(log.get("book_name"), Some("嫌われる勇気"));
    assert_eq!(log.get("note"), Some("a b c+d"));
    assert_eq!(log.get("order_amt"), Some("1000"));
}

#[tokio::test]
async fn track_gif_answers_an_image_and_client_helper_encodes_utf8() {
    let (_server, client) = support::start(1).await;
    let r = support::get(
        &client,
        "/logstores/orders/track.gif?APIVersion=0.6.0&book_name=%E3%83%8E%E3%83%AB%E3%82%A6%E3%82%A7%E3%82%A4%E3%81%AE%E6%A3%AE",
    )
    .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("image/gif"));
    assert!(r.body.starts_with(b"GIF89a"));
    client
        .track(LOGSTORE, &[("__topic__", "t"), ("book_name", "人間失格")])
        .await
        .unwrap();
    let groups = client.pull_all(LOGSTORE).await.unwrap();
    assert_eq!(groups[0].logs[0].get("book_name"), Some("ノルウェイの森"));
    assert_eq!(groups[1].logs[0].get("book_name"), Some("人間失格"));
    assert_eq!(groups[1].topic_str(), Some("t"));
}

#[tokio::test]
async fn post_json_batch_keeps_topic_source_tags_and_times() {
    let (_server, client) = support::start(1).await;
    let body = serde_json::json!({
        "__topic__": "ratings",
        "__source__": "browser-1",
        "__logs__": [
            {"id": "1", "rating": "5", "__time__": "1700000000"},
            {"id": "7", "rating": "3", "name": "こころ"}
        ],
        "__tags__": {"page": "top"}
    })
    .to_string();
    let raw_size = body.len().to_string();
    let compressed = lz4_flex::block::compress(body.as_bytes());
    let r = client
        .request(
            Method::POST,
            "/logstores/orders/track",
            &[],
            &[
                ("content-type", "application/json"),
                ("x-log-apiversion", "0.6.0"),
                ("x-log-bodyrawsize", &raw_size),
                ("x-log-compresstype", "lz4"),
            ],
            Bytes::from(compressed),
        )
        .await
        .unwrap();
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let groups = client.pull_all(LOGSTORE).await.unwrap();
    let g = &groups[0];
    assert_eq!(g.topic_str(), Some("ratings"));
    assert_eq!(g.source_str(), Some("browser-1"));
    assert_eq!(g.tag("page"), Some("top"));
    assert_eq!(g.logs.len(), 2);
    assert_eq!(g.logs[0].time, 1_700_000_000);
    assert_eq!(g.logs[0].get("__time__"), None);
    assert_eq!(g.logs[1].get("name"), Some("こころ"));
}

#[tokio::test]
async fn webtracking_needs_no_signature_but_a_known_logstore() {
    let config = sls_lite::Config::new([sls_lite::LogstoreSpec::new("demo", "orders", 1)])
        .with_access_key("ak", "secret");
    let (_server, client) = support::start_with(config).await;
    client.track(LOGSTORE, &[("k", "v")]).await.unwrap();
    let err = client.track("missing", &[("k", "v")]).await.unwrap_err();
    assert_eq!(err.code(), Some("LogStoreNotExist"));
    let err = client.track(LOGSTORE, &[]).await.unwrap_err();
    assert_eq!(err.code(), Some("ParameterInvalid"));
}
