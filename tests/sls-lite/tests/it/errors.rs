//! Error answers (status, JSON body, request id), authentication and project resolution.

use std::time::{Duration, SystemTime};

use bytes::Bytes;
use hyper::Method;
use sls_lite::sign::{self, DateHeader, SignParts};
use sls_lite::testing::{Client, Compression, Response};
use sls_lite::{Config, LogstoreSpec};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::support::{self, LOGSTORE, PROJECT};

#[tokio::test]
async fn not_found_errors_carry_code_message_and_request_id() {
    let (server, client) = support::start(2).await;
    let r = support::get(&client, "/logstores/nope/shards").await;
    assert_eq!(r.status, 404);
    let request_id = r.header("x-log-requestid").unwrap().to_owned();
    assert_eq!(request_id.len(), 24);
    let body = r.json();
    assert_eq!(body["errorCode"], "LogStoreNotExist");
    assert!(body["errorMessage"].as_str().unwrap().contains("nope"));
    assert_eq!(body["requestId"], request_id.as_str());

    let other = Client::new(server.addr(), "otherproj");
    let err = other.list_shards(LOGSTORE).await.unwrap_err();
    assert_eq!(
        (err.status(), err.code()),
        (Some(404), Some("ProjectNotExist"))
    );
    let err = client.get_cursor(LOGSTORE, 9, "begin").await.unwrap_err();
    assert_eq!(
        (err.status(), err.code()),
        (Some(404), Some("ShardNotExist"))
    );
    let err = client
        .pull_logs(LOGSTORE, 0, "bm90IGEgY3Vyc29y", 10, None, Compression::Lz4)
        .await
        .unwrap_err();
    // A malformed cursor is ParameterInvalid; InvalidCursor is for one out of range.
    assert_eq!(
        (err.status(), err.code()),
        (Some(400), Some("ParameterInvalid"))
    );
    let begin = client.get_cursor(LOGSTORE, 0, "begin").await.unwrap();
    let err = client
        .pull_logs(LOGSTORE, 0, &begin, 1001, None, Compression::Lz4)
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("ParameterInvalid"));
}

/// The answer to a PutLogs to a load-balanced shard of `orders` with `headers` and `body`.
async fn put_raw(client: &Client, headers: &[(&str, &str)], body: &'static [u8]) -> Response {
    let path = "/logstores/orders/shards/lb";
    let r = client.request(Method::POST, path, &[], headers, Bytes::from_static(body));
    r.await.unwrap()
}

#[tokio::test]
async fn bad_bodies_are_refused() {
    let (_server, client) = support::start(1).await;
    let lz4 = &[("x-log-compresstype", "lz4"), ("x-log-bodyrawsize", "100")];
    let r = put_raw(&client, lz4, b"\xff\xff\xff garbage").await;
    assert_eq!(
        (r.status, r.json()["errorCode"].as_str()),
        (400, Some("PostBodyInvalid"))
    );
    let r = put_raw(&client, &[("x-log-compresstype", "gzip")], b"x").await;
    assert_eq!(r.json()["errorCode"], "InvalidCompressType");
}

fn keyed() -> Config {
    Config::new([LogstoreSpec::new(PROJECT, LOGSTORE, 2)]).with_access_key("ak-test", "sk-test")
}

#[tokio::test]
async fn signatures_are_verified_when_keys_are_configured() {
    let (server, unsigned) = support::start_with(keyed()).await;
    let err = unsigned.list_shards(LOGSTORE).await.unwrap_err();
    assert_eq!(
        (err.status(), err.code()),
        (Some(401), Some("Unauthorized"))
    );

    let good = Client::new(server.addr(), PROJECT).with_access_key("ak-test", "sk-test");
    assert_eq!(good.list_shards(LOGSTORE).await.unwrap().len(), 2);
    let sts = good.clone().with_security_token("sts-token");
    let c = sts.get_cursor(LOGSTORE, 1, "begin").await.unwrap();
    sts.pull_logs(LOGSTORE, 1, &c, 10, None, Compression::Lz4)
        .await
        .unwrap();
    sts.put_log_group(LOGSTORE, &Default::default(), Compression::Lz4)
        .await
        .unwrap();

    let wrong = Client::new(server.addr(), PROJECT).with_access_key("ak-test", "nope");
    let err = wrong.list_shards(LOGSTORE).await.unwrap_err();
    assert_eq!(
        (err.status(), err.code()),
        (Some(401), Some("SignatureNotMatch"))
    );
    let ClientError::Service { message, .. } = &err else {
        unreachable!()
    };
    assert!(
        !message.contains("sk-test"),
        "no secret in errors: {message}"
    );

    let unknown = Client::new(server.addr(), PROJECT).with_access_key("ak-other", "sk-test");
    let err = unknown.list_shards(LOGSTORE).await.unwrap_err();
    assert_eq!(err.code(), Some("Unauthorized"));
}

use sls_lite::testing::ClientError;

/// Signs by hand: a request signed an hour ago is refused, one signed now passes, and a
/// query changed after signing does not.
#[tokio::test]
async fn stale_date_and_tampered_query_are_refused() {
    let (server, _) = support::start_with(keyed()).await;
    let raw = Client::new(server.addr(), PROJECT);
    let send = |date: SystemTime, signed_from: &'static str, sent_from: &'static str| {
        let raw = raw.clone();
        async move {
            let date = httpdate::fmt_http_date(date);
            let path = "/logstores/orders/shards/0";
            let headers = [
                ("x-log-apiversion", "0.6.0"),
                ("x-log-bodyrawsize", "0"),
                ("x-log-signaturemethod", "hmac-sha1"),
            ];
            let text = sign::string_to_sign(
                &SignParts {
                    method: "GET",
                    content_md5: "",
                    content_type: "",
                    date: &date,
                    path,
                },
                &sign::canonical_headers(headers, DateHeader::Exclude),
                &[
                    ("type".into(), "cursor".into()),
                    ("from".into(), signed_from.into()),
                ],
            );
            let auth = sign::authorization("ak-test", "sk-test", &text);
            let mut all = headers.to_vec();
            all.push(("date", &date));
            all.push(("authorization", &auth));
            let r = raw
                .request(
                    Method::GET,
                    path,
                    &[("type", "cursor"), ("from", sent_from)],
                    &all,
                    Bytes::new(),
                )
                .await
                .unwrap();
            (
                r.status,
                r.json()["errorCode"].as_str().unwrap_or("").to_owned(),
            )
        }
    };
    let now = SystemTime::now();
    assert_eq!(send(now, "begin", "begin").await, (200, String::new()));
    assert_eq!(
        send(now - Duration::from_secs(3600), "begin", "begin").await,
        (400, "RequestTimeExpired".to_owned())
    );
    assert_eq!(
        send(now, "begin", "end").await,
        (401, "SignatureNotMatch".to_owned())
    );
}

async fn raw_http(addr: std::net::SocketAddr, request: String) -> String {
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut out = String::new();
    stream.read_to_string(&mut out).await.unwrap();
    out
}

#[tokio::test]
async fn absolute_urls_and_ip_hosts_resolve_the_project() {
    let (server, _) = support::start(2).await;
    let addr = server.addr();
    let proxy_style = format!(
        "GET http://demo.sls.local:{port}/logstores/orders/shards HTTP/1.1\r\nHost: demo.sls.local:{port}\r\nConnection: close\r\n\r\n",
        port = addr.port()
    );
    let response = raw_http(addr, proxy_style).await;
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(response.contains("\"shardID\":1"), "{response}");

    // An IP host names no project: with a single project, that one is meant.
    let ip_host = format!(
        "GET /logstores/orders/shards HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    );
    let response = raw_http(addr, ip_host.clone()).await;
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");

    // With two projects it is ambiguous.
    let two = Config::new([
        LogstoreSpec::new(PROJECT, LOGSTORE, 1),
        LogstoreSpec::new("second", LOGSTORE, 1),
    ])
    .anonymous();
    let (server2, _) = support::start_with(two).await;
    let ip_host = format!(
        "GET /logstores/orders/shards HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
        server2.addr()
    );
    let response = raw_http(server2.addr(), ip_host).await;
    assert!(response.starts_with("HTTP/1.1 404"), "{response}");
    assert!(response.contains("ProjectNotExist"), "{response}");
    let second = Client::new(server2.addr(), "second");
    assert_eq!(second.list_shards(LOGSTORE).await.unwrap().len(), 1);
}
