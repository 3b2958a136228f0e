//! Timestamps without an offset land as the server's own input reads them: in the
//! session's TimeZone (Hologres defaults to Asia/Shanghai), compared value by value with
//! the server parsing the same text, under several zones and across DST transitions.

use holo_batch::ValueRef;
use holo_host::record::{Column, ColumnType};
use holo_host::sink::{PostgresSink, PostgresSinkConfig, WriteOptions, zone_named};

use crate::support::pg::{TestPg, chain};

/// Zones with DST (two hemispheres, a 30-minute shift) and without.
const ZONES: [&str; 5] = [
    "UTC",
    "Asia/Shanghai",
    "America/New_York",
    "Europe/Berlin",
    "Australia/Lord_Howe",
];

/// Ordinary times, times a spring-forward transition skips and a fall-back one repeats in
/// the zones above, a date alone, fractions, explicit offsets and infinities.
const TIMES: [&str; 16] = [
    "2024-01-01 10:00:00",
    "2024-07-01 23:59:59.999999",
    "2024-03-10 02:30:00",
    "2024-11-03 01:30:00",
    "2024-03-31 02:30:00",
    "2024-10-27 02:30:00",
    "2024-10-06 02:15:00",
    "2024-04-07 01:45:00",
    "2024-03-10 03:00:00",
    "2024-11-03 02:00:00",
    "2024-02-29",
    "1999-12-31 23:59:59.5",
    "2024-01-01T10:00:00+09:00",
    "2024-01-01 10:00:00Z",
    "infinity",
    "-infinity",
];

/// The sink's session takes `zone` as its TimeZone (as a Hologres session has its own), or
/// the sink is told the zone with `--timezone` on a session left in UTC.
async fn sink_in(pg: &TestPg, table: &str, zone: &str, flag: bool) -> PostgresSink {
    let (dsn, timezone) = if flag {
        (pg.dsn(), zone_named(zone))
    } else {
        let zone = zone.replace('/', "%2F");
        (format!("{}?options=-c%20TimeZone%3D{zone}", pg.dsn()), None)
    };
    let cfg = PostgresSinkConfig {
        dsn,
        table: table.into(),
        write: WriteOptions {
            timezone,
            ..Default::default()
        },
    };
    PostgresSink::connect(&cfg)
        .await
        .unwrap_or_else(|e| panic!("{}", chain(&e)))
}

#[tokio::test]
async fn naive_timestamps_are_read_in_the_session_zone_as_the_server_reads_them() {
    let pg = TestPg::shared();
    let schema = "tz_compare";
    let client = pg
        .schema_with(
            schema,
            "CREATE TABLE {s}.ours (i int8, ts timestamp, tstz timestamptz, zone text, flag bool);
             CREATE TABLE {s}.theirs (i int8, ts timestamp, tstz timestamptz, zone text);",
        )
        .await;
    for zone in ZONES {
        // The server's own reading of the text, in that zone.
        client
            .batch_execute(&format!("SET TimeZone = '{zone}'"))
            .await
            .unwrap();
        for (i, t) in TIMES.iter().enumerate() {
            client
                .execute(
                    &format!(
                        "INSERT INTO {schema}.theirs VALUES ($1, $2::text::timestamp, \
                         $2::text::timestamptz, $3)"
                    ),
                    &[&(i as i64), t, &zone],
                )
                .await
                .unwrap();
        }
        for flag in [false, true] {
            let mut sink = sink_in(pg, &format!("{schema}.ours"), zone, flag).await;
            sink.bind(&[
                Column::new("i", ColumnType::Int),
                Column::text("ts"),
                Column::text("tstz"),
                Column::text("zone"),
                Column::new("flag", ColumnType::Boolean),
            ])
            .unwrap();
            for (i, t) in TIMES.iter().enumerate() {
                let row = [
                    ValueRef::Int(i as i64),
                    ValueRef::Text(t),
                    ValueRef::Text(t),
                    ValueRef::Text(zone),
                    ValueRef::Bool(flag),
                ];
                let mut buf = Vec::new();
                for v in row {
                    v.encode(&mut buf);
                }
                let row = holo_batch::row_at(&buf, 0, 5).unwrap();
                sink.push_row(i as u32, row).unwrap();
            }
            let (written, refused) = sink
                .commit(&crate::support::job("timezones"), &serde_json::json!(1))
                .await
                .unwrap_or_else(|e| panic!("{}", chain(&e)));
            assert_eq!((written, refused), (TIMES.len() as u64, vec![]));
        }
    }
    client.batch_execute("SET TimeZone = 'UTC'").await.unwrap();
    let differ = client
        .query(
            &format!(
                "SELECT o.zone, o.flag, o.i, o.tstz::text, t.tstz::text, o.ts::text, t.ts::text \
                 FROM {schema}.ours o JOIN {schema}.theirs t USING (zone, i) \
                 WHERE o.tstz IS DISTINCT FROM t.tstz OR o.ts IS DISTINCT FROM t.ts"
            ),
            &[],
        )
        .await
        .unwrap();
    let shown: Vec<String> = differ
        .iter()
        .map(|r| {
            format!(
                "{} (--timezone: {}) `{}`: ours {} / {}, the server's {} / {}",
                r.get::<_, String>(0),
                r.get::<_, bool>(1),
                TIMES[r.get::<_, i64>(2) as usize],
                r.get::<_, String>(3),
                r.get::<_, String>(5),
                r.get::<_, String>(4),
                r.get::<_, String>(6)
            )
        })
        .collect();
    assert!(shown.is_empty(), "{}", shown.join("\n"));
    let compared: i64 = client
        .query_one(
            &format!("SELECT count(*) FROM {schema}.ours o JOIN {schema}.theirs t USING (zone, i)"),
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(compared, (ZONES.len() * TIMES.len() * 2) as i64);
}

#[tokio::test]
async fn an_unknown_zone_is_named() {
    let err = zone_named("Mars/Olympus_Mons");
    assert!(err.is_none());
    let out = crate::support::Args::csv("x.csv")
        .sink(&TestPg::shared().dsn(), "t")
        .with(["--timezone", "Mars/Olympus_Mons"])
        .run();
    let stderr = crate::support::assert_failure(&out);
    assert!(
        stderr.contains("unknown time zone `Mars/Olympus_Mons`"),
        "{stderr}"
    );
}
