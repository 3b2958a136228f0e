//! A plain insert into a keyed PostgreSQL table sends a batch's rows in key order, so the
//! server writes the index page by page; not where the server numbers the rows itself.

use crate::support::{Args, assert_success, pg::TestPg, scratch, table, write};

/// `code,n` rows, n = 0..rows, whose codes come in no order (a permutation of k00000…).
fn scrambled_csv(rows: u32) -> String {
    let mut s = String::from("code,n\n");
    for n in 0..rows {
        s.push_str(&format!("k{:05},{n}\n", (n * 7919) % rows));
    }
    s
}

/// The column `column` of `table`, in the order the rows lie in the heap: the order the
/// server received them in.
async fn heap_order(table: &str, column: &str) -> Vec<String> {
    let client = TestPg::shared().client().await;
    let sql = format!("SELECT {column}::text FROM {table} ORDER BY ctid");
    let rows = client.query(&sql, &[]).await.expect("read the heap order");
    rows.iter().map(|r| r.get(0)).collect()
}

/// Loads 1000 scrambled rows into a fresh table `name` with `columns`; returns what `plan`
/// said of the load, and the table.
async fn load(name: &str, columns: &str) -> (String, String) {
    let dir = scratch();
    let input = write(dir.path(), "in.csv", scrambled_csv(1000));
    let t = table(name, columns).await;
    let args = Args::csv(&input).sink(&TestPg::shared().dsn(), &t);
    let plan = args.plan();
    assert_success(&args.run());
    (plan, t)
}

#[tokio::test]
async fn a_batch_reaches_a_keyed_table_in_key_order() {
    let (plan, t) = load(
        "key_order_plain",
        "(code text PRIMARY KEY, n int8 NOT NULL)",
    )
    .await;
    assert!(plan.contains("binary COPY, in key order"), "{plan}");
    let codes = heap_order(&t, "code").await;
    let mut sorted = codes.clone();
    sorted.sort();
    assert_eq!(codes.len(), 1000);
    assert_eq!(codes, sorted);
}

#[tokio::test]
async fn a_table_that_numbers_its_rows_gets_them_in_input_order() {
    let columns = "(seq bigserial, code text PRIMARY KEY, n int8 NOT NULL)";
    let (plan, t) = load("key_order_serial", columns).await;
    assert!(plan.contains("binary COPY\n"), "{plan}");
    let expected: Vec<String> = (0..1000).map(|n| n.to_string()).collect();
    assert_eq!(heap_order(&t, "n").await, expected);
    // The sequence numbers the rows as they come.
    let client = TestPg::shared().client().await;
    let sql = format!("SELECT count(*) FROM {t} WHERE seq <> n + 1");
    let off: i64 = client.query_one(&sql, &[]).await.unwrap().get(0);
    assert_eq!(off, 0);
}
