//! Unit tests of the CSV source: reading, resuming, and the errors that name file and line.

use std::path::Path;

use serde_json::json;

use super::*;
use crate::record::ColumnType;

fn write(dir: &Path, name: &str, content: &[u8]) -> String {
    let path = dir.join(name);
    std::fs::write(&path, content).unwrap();
    path.to_string_lossy().into_owned()
}

fn config(inputs: &[&str], batch_rows: usize) -> CsvSourceConfig {
    CsvSourceConfig {
        inputs: inputs.iter().map(|s| s.to_string()).collect(),
        batch_rows,
        batch_bytes: CsvSourceConfig::default_batch_bytes(),
    }
}

fn drain(source: &mut CsvSource) -> Vec<Batch> {
    let mut batches = Vec::new();
    while let Some(b) = source.next_batch().unwrap() {
        batches.push(b);
    }
    batches
}

/// Every row of the batches as (file, line, values).
fn rows(schema: &[Column], batches: &[Batch]) -> Vec<(String, u64, Vec<String>)> {
    let mut out = Vec::new();
    for b in batches {
        assert_eq!(b.row_offsets.len(), b.origins.len());
        assert_eq!(
            holo_batch::BatchReader::row_count(&b.data),
            Some(b.rows() as u32)
        );
        for (i, origin) in b.origins.iter().enumerate() {
            let values = match b.record_json(schema, i) {
                serde_json::Value::Object(map) => schema
                    .iter()
                    .map(|c| map[&c.name].as_str().expect("text").to_owned())
                    .collect(),
                other => panic!("row {i} of batch {}: {other}", b.seq),
            };
            out.push((origin.source.to_string(), origin.line, values));
        }
    }
    out
}

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

#[test]
fn reads_bom_crlf_quotes_and_japanese() {
    let dir = tempfile::tempdir().unwrap();
    let content = "\u{feff}id,title,note\r\n\
                   1,嫌われる勇気,\"a, b\"\r\n\
                   \r\n\
                   2,\"He said \"\"hi\"\"\",\"two\r\nlines\"\r\n\
                   3,,\r\n\
                   4,幸せになる勇気,end";
    let path = write(dir.path(), "books.csv", content.as_bytes());
    let mut source = CsvSource::open(&config(&[&path], 100), None).unwrap();
    let schema = source.schema();
    assert_eq!(
        schema
            .iter()
            .map(|c| (c.name.as_str(), c.ty))
            .collect::<Vec<_>>(),
        vec![
            ("id", ColumnType::Text),
            ("title", ColumnType::Text),
            ("note", ColumnType::Text)
        ]
    );
    let batches = drain(&mut source);
    assert_eq!(batches.len(), 1);
    assert_eq!(batches[0].seq, 0);
    assert_eq!(batches[0].records_read, 4);
    assert!(batches[0].rejected.is_empty());
    assert_eq!(
        rows(&schema, &batches),
        vec![
            (path.clone(), 2, strings(&["1", "嫌われる勇気", "a, b"])),
            (
                path.clone(),
                4,
                strings(&["2", "He said \"hi\"", "two\r\nlines"])
            ),
            (path.clone(), 6, strings(&["3", "", ""])),
            (path.clone(), 7, strings(&["4", "幸せになる勇気", "end"])),
        ]
    );
    // Origins of one file share one allocation.
    assert!(Arc::ptr_eq(
        &batches[0].origins[0].source,
        &batches[0].origins[3].source
    ));
    assert_eq!(source.total_bytes(), Some(content.len() as u64));
    assert_eq!(source.bytes_done(), content.len() as u64);
}

#[test]
fn rejects_wrong_field_counts_and_invalid_utf8_without_stopping() {
    let dir = tempfile::tempdir().unwrap();
    let mut content = b"id,name,qty\n1,a,1\n2,b\n3,c,3,extra\n".to_vec();
    content.extend_from_slice(b"4,\"caf\xc3\xa9 \xff\",4\n5,\"multi\nline\",5\n6,f,6\n");
    let path = write(dir.path(), "orders.csv", &content);
    let mut source = CsvSource::open(&config(&[&path], 100), None).unwrap();
    let schema = source.schema();
    let batches = drain(&mut source);
    assert_eq!(batches.len(), 1);
    let b = &batches[0];
    assert_eq!(b.records_read, 6);
    assert_eq!(
        rows(&schema, &batches)
            .into_iter()
            .map(|r| (r.1, r.2[0].clone()))
            .collect::<Vec<_>>(),
        vec![(2, "1".into()), (6, "5".into()), (8, "6".into())]
    );
    let got: Vec<_> = b
        .rejected
        .iter()
        .map(|d| {
            assert_eq!(d.stage, PipelineStage::Source);
            assert_eq!(&*d.origin.source, path);
            assert!(d.transform.is_none());
            (d.origin.line, d.record.clone(), d.reason.clone())
        })
        .collect();
    assert_eq!(
        got,
        vec![
            (
                3,
                json!("2,b"),
                format!("expected 3 fields (header of `{path}`), found 2")
            ),
            (
                4,
                json!("3,c,3,extra"),
                format!("expected 3 fields (header of `{path}`), found 4")
            ),
            (
                5,
                json!("4,\"café \u{fffd}\",4"),
                "invalid UTF-8 in column `name` (field 2) at byte 6 of the field".to_owned()
            ),
        ]
    );
}

#[test]
fn glob_reads_matching_files_in_order_one_file_per_batch() {
    let dir = tempfile::tempdir().unwrap();
    let b = write(dir.path(), "b.csv", b"k,v\nb1,1\nb2,2\n");
    let a = write(dir.path(), "a.csv", b"k,v\na1,1\n");
    write(dir.path(), "notes.txt", b"not csv");
    std::fs::create_dir(dir.path().join("sub.csv")).unwrap();
    let pattern = format!("{}/*.csv", dir.path().display());
    let mut source = CsvSource::open(&config(&[&pattern], 100), None).unwrap();
    let schema = source.schema();
    let batches = drain(&mut source);
    assert_eq!(batches.len(), 2, "a batch never spans two files");
    assert_eq!(
        batches.iter().map(|b| b.seq).collect::<Vec<_>>(),
        vec![0, 1]
    );
    assert_eq!(
        rows(&schema, &batches),
        vec![
            (a.clone(), 2, strings(&["a1", "1"])),
            (b.clone(), 2, strings(&["b1", "1"])),
            (b.clone(), 3, strings(&["b2", "2"])),
        ]
    );
    let ca = std::fs::canonicalize(&a).unwrap();
    let cb = std::fs::canonicalize(&b).unwrap();
    assert_eq!(
        source.job_key(),
        format!("csv:{},{}", ca.display(), cb.display())
    );
    assert_eq!(
        CsvSource::job_key_of(&config(&[&pattern], 1)).unwrap(),
        source.job_key()
    );
    assert_eq!(source.total_bytes(), Some(9 + 14));
    assert_eq!(source.bytes_done(), 9 + 14);
    assert_eq!(batches[0].position["file"], json!(ca.to_string_lossy()));
    assert_eq!(batches[0].position["index"], json!(0));
    assert_eq!(batches[1].position["index"], json!(1));
}

#[test]
fn input_list_errors_name_the_input() {
    let dir = tempfile::tempdir().unwrap();
    let a = write(dir.path(), "a.csv", b"x\n1\n");
    let pattern = format!("{}/*.tsv", dir.path().display());
    let err = CsvSource::open(&config(&[&pattern], 10), None).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("no file matches `{pattern}`: check the pattern and the current directory")
    );

    let missing = format!("{}/missing.csv", dir.path().display());
    let err = CsvSource::open(&config(&[&missing], 10), None).unwrap_err();
    assert!(matches!(&err, CsvError::Open { path, .. } if *path == missing));

    let err = CsvSource::open(&config(&[&a, "-"], 10), None).unwrap_err();
    assert!(matches!(err, CsvError::StdinNotAlone));
    let err = CsvSource::open(&config(&[], 10), None).unwrap_err();
    assert!(matches!(err, CsvError::NoInputs));

    let err = CsvSource::open(&config(&[&a, &a], 10), None).unwrap_err();
    assert!(matches!(err, CsvError::Duplicate { .. }), "{err}");

    let empty = write(dir.path(), "empty.csv", b"");
    let err = CsvSource::open(&config(&[&empty], 10), None).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("CSV file `{empty}` is empty: every file needs a header row naming its columns")
    );
}

#[test]
fn header_problems_name_file_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let a = write(dir.path(), "a.csv", b"id,name\n1,x\n");
    let b = write(dir.path(), "b.csv", b"id,title\n2,y\n");
    let err = CsvSource::open(&config(&[&a, &b], 10), None).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "CSV file `{b}` has the header `id,title` but `{a}` has `id,name`: all inputs must have the same columns in the same order"
        )
    );

    let dup = write(dir.path(), "dup.csv", b"id,name,id\n");
    let err = CsvSource::open(&config(&[&dup], 10), None).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("invalid header row in CSV file `{dup}`")
    );
    let cause = std::error::Error::source(&err).unwrap().to_string();
    assert_eq!(
        cause,
        "column `id` appears twice: column names must be unique"
    );

    let blank = write(dir.path(), "blank.csv", b"id,,x\n");
    let err = CsvSource::open(&config(&[&blank], 10), None).unwrap_err();
    assert!(matches!(
        &err,
        CsvError::Header { path, source: HeaderError::Empty { column: 2 } } if *path == blank
    ));
}

#[test]
fn batches_respect_row_and_byte_limits() {
    let dir = tempfile::tempdir().unwrap();
    let mut content = String::from("n,text\n");
    for i in 0..10 {
        content.push_str(&format!("{i},row number {i}\n"));
    }
    let path = write(dir.path(), "n.csv", content.as_bytes());

    let mut source = CsvSource::open(&config(&[&path], 3), None).unwrap();
    let sizes: Vec<usize> = drain(&mut source).iter().map(|b| b.rows()).collect();
    assert_eq!(sizes, vec![3, 3, 3, 1]);

    // A batch starts with a 4-byte row count; each row here encodes to 23 bytes
    // (two texts of 5 + 1 and 5 + 12 bytes): a 50-byte cap is reached after two rows.
    let cfg = CsvSourceConfig {
        batch_bytes: 50,
        ..config(&[&path], 100)
    };
    let mut source = CsvSource::open(&cfg, None).unwrap();
    let schema = source.schema();
    let batches = drain(&mut source);
    assert_eq!(
        batches
            .iter()
            .map(|b| (b.rows(), b.data.len()))
            .collect::<Vec<_>>(),
        vec![(2, 50); 5]
    );
    assert_eq!(rows(&schema, &batches).len(), 10);
}

/// Reads everything in small batches, then resumes at every batch boundary and checks
/// that exactly the remaining rows follow, with the same lines and values.
#[test]
fn resumes_exactly_at_every_batch_boundary() {
    let dir = tempfile::tempdir().unwrap();
    let one = write(
        dir.path(),
        "1.csv",
        "\u{feff}id,text\r\n1,a\r\n\r\n2,\"b\r\nb\"\r\n3,\"c,\"\"c\"\"\"\r\n4,d,extra\r\n5,e\r\n"
            .as_bytes(),
    );
    let two = write(
        dir.path(),
        "2.csv",
        "id,text\n\n6,日本\n7,\"g\ng\"\n8,h".as_bytes(),
    );
    let three = write(dir.path(), "3.csv", b"id,text\n");
    let four = write(dir.path(), "4.csv", b"id,text\n9,i\n");
    let inputs = [one.as_str(), two.as_str(), three.as_str(), four.as_str()];

    for batch_rows in [1, 2, 3] {
        let cfg = config(&inputs, batch_rows);
        let mut source = CsvSource::open(&cfg, None).unwrap();
        let schema = source.schema();
        let batches = drain(&mut source);
        let all = rows(&schema, &batches);
        assert_eq!(all.len(), 8);
        assert_eq!(
            all.iter().map(|r| r.1).collect::<Vec<_>>(),
            vec![2, 4, 6, 8, 3, 4, 6, 2]
        );
        let rejected: Vec<u64> = batches
            .iter()
            .flat_map(|b| b.rejected.iter().map(|d| d.origin.line))
            .collect();
        assert_eq!(rejected, vec![7]);

        for (k, b) in batches.iter().enumerate() {
            let mut resumed = CsvSource::open(&cfg, Some(&b.position)).unwrap();
            assert_eq!(resumed.schema(), schema);
            let rest = drain(&mut resumed);
            let want = rows(&schema, &batches[k + 1..]);
            assert_eq!(
                rows(&schema, &rest),
                want,
                "batch_rows {batch_rows}, after batch {k} ({})",
                b.position
            );
            let rest_rejected: Vec<u64> = rest
                .iter()
                .flat_map(|b| b.rejected.iter().map(|d| d.origin.line))
                .collect();
            let want_rejected: Vec<u64> = batches[k + 1..]
                .iter()
                .flat_map(|b| b.rejected.iter().map(|d| d.origin.line))
                .collect();
            assert_eq!(rest_rejected, want_rejected);
        }
        // The last position says the load is complete.
        let last = &batches.last().unwrap().position;
        let mut done = CsvSource::open(&cfg, Some(last)).unwrap();
        assert!(done.next_batch().unwrap().is_none());
        assert_eq!(done.bytes_done(), done.total_bytes().unwrap());
    }
}

#[test]
fn resume_refuses_a_changed_input() {
    let dir = tempfile::tempdir().unwrap();
    let a = write(dir.path(), "a.csv", b"x\n1\n2\n3\n");
    let b = write(dir.path(), "b.csv", b"x\n4\n");
    let cfg = config(&[&a, &b], 1);
    let mut source = CsvSource::open(&cfg, None).unwrap();
    let first = source.next_batch().unwrap().unwrap().position;

    // Another file list.
    let err = CsvSource::open(&config(&[&b, &a], 1), Some(&first)).unwrap_err();
    assert!(matches!(err, CsvError::InputsChanged { index: 0, .. }));
    assert!(err.to_string().contains("--from-scratch"), "{err}");
    let mut beyond = first.clone();
    beyond["index"] = json!(5);
    let err = CsvSource::open(&cfg, Some(&beyond)).unwrap_err();
    assert!(
        matches!(err, CsvError::InputsChanged { index: 5, .. }),
        "{err}"
    );

    // Not a position at all.
    let err = CsvSource::open(&cfg, Some(&json!({"file": a}))).unwrap_err();
    assert!(matches!(err, CsvError::BadPosition { .. }), "{err}");

    // A position inside the header.
    let mut early = first.clone();
    early["offset"] = json!(1);
    let err = CsvSource::open(&cfg, Some(&early)).unwrap_err();
    assert!(matches!(err, CsvError::PositionInHeader { .. }), "{err}");

    // The file got shorter.
    std::fs::write(&a, b"x\n").unwrap();
    let err = CsvSource::open(&cfg, Some(&first)).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "CSV file `{a}` has 2 bytes, fewer than the saved position (byte 4): it changed since the last run; start over with --from-scratch"
        )
    );

    // Stdin cannot resume.
    let err = CsvSource::open(&config(&["-"], 1), Some(&first)).unwrap_err();
    assert!(matches!(err, CsvError::ResumeStdin));
}

#[test]
fn stdin_job_key_needs_no_reading() {
    assert_eq!(CsvSource::job_key_of(&config(&["-"], 1)).unwrap(), "csv:-");
}
