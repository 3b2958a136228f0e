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
        partition: None,
        max_record_bytes: CsvSourceConfig::default_max_record_bytes(),
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
    let mut source = CsvSource::open(&config(&[&path], 100), &Ledger::new()).unwrap();
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
    let mut source = CsvSource::open(&config(&[&path], 100), &Ledger::new()).unwrap();
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
    let mut source = CsvSource::open(&config(&[&pattern], 100), &Ledger::new()).unwrap();
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
    // Each file is a job of its own.
    let streams = vec![
        format!("csv:{}", ca.display()),
        format!("csv:{}", cb.display()),
    ];
    assert_eq!(
        CsvSource::streams_of(&config(&[&pattern], 1)).unwrap(),
        streams
    );
    assert_eq!(
        batches
            .iter()
            .map(|b| b.stream.to_string())
            .collect::<Vec<_>>(),
        streams
    );
    assert_eq!(source.total_bytes(), Some(9 + 14));
    assert_eq!(source.bytes_done(), 9 + 14);
    assert_eq!(batches[0].position["file"], json!(ca.to_string_lossy()));
    assert_eq!(batches[0].position["head_bytes"], json!(9));
    assert_eq!(batches[1].position["head_bytes"], json!(14));
}

#[test]
fn input_list_errors_name_the_input() {
    let dir = tempfile::tempdir().unwrap();
    let a = write(dir.path(), "a.csv", b"x\n1\n");
    let pattern = format!("{}/*.tsv", dir.path().display());
    let err = CsvSource::open(&config(&[&pattern], 10), &Ledger::new()).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("no file matches `{pattern}`: check the pattern and the current directory")
    );

    let missing = format!("{}/missing.csv", dir.path().display());
    let err = CsvSource::open(&config(&[&missing], 10), &Ledger::new()).unwrap_err();
    assert!(matches!(&err, CsvError::Open { path, .. } if *path == missing));

    let err = CsvSource::open(&config(&[&a, "-"], 10), &Ledger::new()).unwrap_err();
    assert!(matches!(err, CsvError::StdinNotAlone));
    let err = CsvSource::open(&config(&[], 10), &Ledger::new()).unwrap_err();
    assert!(matches!(err, CsvError::NoInputs));

    let err = CsvSource::open(&config(&[&a, &a], 10), &Ledger::new()).unwrap_err();
    assert!(matches!(err, CsvError::Duplicate { .. }), "{err}");

    let empty = write(dir.path(), "empty.csv", b"");
    let err = CsvSource::open(&config(&[&empty], 10), &Ledger::new()).unwrap_err();
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
    let err = CsvSource::open(&config(&[&a, &b], 10), &Ledger::new()).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "CSV file `{b}` has the header `id,title` but `{a}` has `id,name`: all inputs must have the same columns in the same order"
        )
    );

    let dup = write(dir.path(), "dup.csv", b"id,name,id\n");
    let err = CsvSource::open(&config(&[&dup], 10), &Ledger::new()).unwrap_err();
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
    let err = CsvSource::open(&config(&[&blank], 10), &Ledger::new()).unwrap_err();
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

    let mut source = CsvSource::open(&config(&[&path], 3), &Ledger::new()).unwrap();
    let sizes: Vec<usize> = drain(&mut source).iter().map(|b| b.rows()).collect();
    assert_eq!(sizes, vec![3, 3, 3, 1]);

    // A batch starts with a 4-byte row count; each row here encodes to 23 bytes
    // (two texts of 5 + 1 and 5 + 12 bytes): a 50-byte cap is reached after two rows.
    let cfg = CsvSourceConfig {
        batch_bytes: 50,
        ..config(&[&path], 100)
    };
    let mut source = CsvSource::open(&cfg, &Ledger::new()).unwrap();
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
        let mut source = CsvSource::open(&cfg, &Ledger::new()).unwrap();
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

        for k in 0..batches.len() {
            let mut resumed = CsvSource::open(&cfg, &ledger(&batches[..=k])).unwrap();
            assert_eq!(resumed.schema(), schema);
            let rest = drain(&mut resumed);
            let want = rows(&schema, &batches[k + 1..]);
            assert_eq!(
                rows(&schema, &rest),
                want,
                "batch_rows {batch_rows}, after batch {k} ({})",
                batches[k].position
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
        // The last positions say the load is complete.
        let mut done = CsvSource::open(&cfg, &ledger(&batches)).unwrap();
        assert!(done.next_batch().unwrap().is_none());
        assert_eq!(done.bytes_done(), done.total_bytes().unwrap());
    }
}

/// The last position of each file in `batches`, as the progress table would hold them.
fn ledger(batches: &[Batch]) -> Ledger {
    batches
        .iter()
        .map(|b| (b.stream.to_string(), b.position.clone()))
        .collect()
}

#[test]
fn a_ledger_skips_loaded_files_wherever_they_sort_and_reads_new_ones() {
    let dir = tempfile::tempdir().unwrap();
    let b = write(dir.path(), "2024-01-02.csv", b"x\n3\n4\n");
    let pattern = format!("{}/*.csv", dir.path().display());
    let cfg = config(&[&pattern], 100);
    let first = drain(&mut CsvSource::open(&cfg, &Ledger::new()).unwrap());
    assert_eq!(first.len(), 1);

    // Yesterday's export appears, sorting before the one already loaded, and tomorrow's.
    let a = write(dir.path(), "2024-01-01.csv", b"x\n1\n2\n");
    let c = write(dir.path(), "2024-01-03.csv", b"x\n5\n");
    let mut source = CsvSource::open(&cfg, &ledger(&first)).unwrap();
    let schema = source.schema();
    let second = drain(&mut source);
    let got: Vec<(String, u64)> = rows(&schema, &second)
        .into_iter()
        .map(|(f, l, _)| (f, l))
        .collect();
    assert_eq!(got, vec![(a.clone(), 2), (a.clone(), 3), (c.clone(), 2)]);
    assert_eq!(source.bytes_done(), source.total_bytes().unwrap());

    // Everything loaded: nothing more to read.
    let all = ledger(&[first, second].concat());
    assert!(drain(&mut CsvSource::open(&cfg, &all).unwrap()).is_empty());

    // A file that grew resumes after what was loaded.
    std::fs::write(&b, b"x\n3\n4\n6\n").unwrap();
    let mut source = CsvSource::open(&cfg, &all).unwrap();
    let grown = drain(&mut source);
    assert_eq!(rows(&schema, &grown), vec![(b.clone(), 4, strings(&["6"]))]);
}

#[test]
fn a_file_replaced_under_the_same_name_is_read_as_new() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "daily.csv", b"id,v\n1,a\n2,b\n");
    let cfg = config(&[&path], 100);
    let first = drain(&mut CsvSource::open(&cfg, &Ledger::new()).unwrap());
    let saved = ledger(&first);
    assert!(drain(&mut CsvSource::open(&cfg, &saved).unwrap()).is_empty());

    // Same name, same size, other rows: a new file, read from its start.
    std::fs::write(&path, b"id,v\n3,c\n4,d\n").unwrap();
    let mut source = CsvSource::open(&cfg, &saved).unwrap();
    let schema = source.schema();
    let again = drain(&mut source);
    assert_eq!(
        rows(&schema, &again),
        vec![
            (path.clone(), 2, strings(&["3", "c"])),
            (path.clone(), 3, strings(&["4", "d"])),
        ]
    );
    // Same first bytes, changed before the position (the span checksum sees it).
    std::fs::write(&path, b"id,v\n1,a\n2,X\n").unwrap();
    assert_eq!(drain(&mut CsvSource::open(&cfg, &saved).unwrap()).len(), 1);
    // Shorter than the position: new as well.
    std::fs::write(&path, b"id,v\n").unwrap();
    assert!(drain(&mut CsvSource::open(&cfg, &saved).unwrap()).is_empty());

    // A position from a release without checksums is trusted.
    std::fs::write(&path, b"id,v\n1,a\n2,b\n7,z\n").unwrap();
    let mut old = first[0].position.clone();
    for k in ["head_bytes", "head_sha256", "before_sha256"] {
        old.as_object_mut().unwrap().remove(k);
    }
    old["index"] = json!(0);
    let stream = first[0].stream.to_string();
    let legacy: Ledger = [(stream, old)].into_iter().collect();
    let rest = drain(&mut CsvSource::open(&cfg, &legacy).unwrap());
    assert_eq!(
        rows(&schema, &rest),
        vec![(path.clone(), 4, strings(&["7", "z"]))]
    );
}

#[test]
fn bad_positions_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let a = write(dir.path(), "a.csv", b"x\n1\n2\n3\n");
    let cfg = config(&[&a], 1);
    let mut source = CsvSource::open(&cfg, &Ledger::new()).unwrap();
    let first = source.next_batch().unwrap().unwrap();
    let stream = first.stream.to_string();
    let with = |p: serde_json::Value| -> Ledger { [(stream.clone(), p)].into_iter().collect() };

    // Not a position at all.
    let err = CsvSource::open(&cfg, &with(json!({"file": a}))).unwrap_err();
    assert!(matches!(err, CsvError::BadPosition { .. }), "{err}");
    assert!(err.to_string().contains(&a), "{err}");

    // A position inside the header (checksums of the first bytes still match).
    let mut early = first.position.clone();
    early["offset"] = json!(1);
    early.as_object_mut().unwrap().remove("before_sha256");
    let err = CsvSource::open(&cfg, &with(early)).unwrap_err();
    assert!(matches!(err, CsvError::PositionInHeader { .. }), "{err}");

    // Stdin cannot resume.
    let stdin: Ledger = [("csv:-".to_string(), first.position.clone())]
        .into_iter()
        .collect();
    let err = CsvSource::open(&config(&["-"], 1), &stdin).unwrap_err();
    assert!(matches!(err, CsvError::ResumeStdin));
}

#[test]
fn stdin_job_key_needs_no_reading() {
    assert_eq!(
        CsvSource::streams_of(&config(&["-"], 1)).unwrap(),
        vec!["csv:-".to_string()]
    );
}

/// `.csv.gz` (several gzip members, as `cat a.gz b.gz` makes) and `.csv.zst` read as the
/// plain file does, and resume at every batch boundary: offsets count decompressed bytes.
#[test]
fn compressed_files_read_and_resume_like_plain_ones() {
    use std::io::Write as _;
    let dir = tempfile::tempdir().unwrap();
    let text = "id,name\n1,海辺のカフカ\n2,\"multi\nline\"\n3,x\n4,y,extra\n5,z\n";
    let plain = write(dir.path(), "plain.csv", text.as_bytes());
    let gz = {
        // Two members, split inside a multi-byte character.
        let (a, b) = text.as_bytes().split_at(20);
        let mut out = Vec::new();
        for part in [a, b] {
            let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            e.write_all(part).unwrap();
            out.extend(e.finish().unwrap());
        }
        write(dir.path(), "orders.csv.gz", &out)
    };
    let zst = write(
        dir.path(),
        "orders.csv.zst",
        &zstd::encode_all(text.as_bytes(), 3).unwrap(),
    );
    let want = {
        let mut s = CsvSource::open(&config(&[&plain], 2), &Ledger::new()).unwrap();
        let schema = s.schema();
        let b = drain(&mut s);
        rows(&schema, &b)
            .into_iter()
            .map(|(_, line, v)| (line, v))
            .collect::<Vec<_>>()
    };
    assert_eq!(want.len(), 4);
    for path in [&gz, &zst] {
        let cfg = config(&[path], 2);
        let mut source = CsvSource::open(&cfg, &Ledger::new()).unwrap();
        let schema = source.schema();
        let batches = drain(&mut source);
        let got: Vec<_> = rows(&schema, &batches)
            .into_iter()
            .map(|(_, line, v)| (line, v))
            .collect();
        assert_eq!(got, want, "{path}");
        // Progress is measured in the file's own (compressed) bytes: all of them at the end.
        assert_eq!(source.bytes_done(), source.total_bytes().unwrap(), "{path}");
        let rejected: Vec<u64> = (batches.iter())
            .flat_map(|b| b.rejected.iter().map(|d| d.origin.line))
            .collect();
        assert_eq!(rejected, [6], "{path}");
        for k in 0..batches.len() {
            let mut resumed = CsvSource::open(&cfg, &ledger(&batches[..=k])).unwrap();
            let rest = drain(&mut resumed);
            assert_eq!(
                rows(&schema, &rest),
                rows(&schema, &batches[k + 1..]),
                "{path} after batch {k}"
            );
        }
    }
    // A corrupt compressed file is a read error naming the file.
    let bad = write(dir.path(), "bad.csv.gz", b"\x1f\x8b\x08\x00garbage");
    let err = match CsvSource::open(&config(&[&bad], 2), &Ledger::new()) {
        Err(e) => e.to_string(),
        Ok(mut s) => s.next_batch().unwrap_err().to_string(),
    };
    assert!(err.contains("bad.csv.gz"), "{err}");
}

/// The whole-record UTF-8 check still finds a field that starts inside a character split
/// across two fields, and which field it is.
#[test]
fn a_character_split_across_fields_is_invalid() {
    let encode = |fields: &[&[u8]]| {
        let record = ByteRecord::from(fields.to_vec());
        let mut buf = Vec::new();
        let mut writer = BatchWriter::new(&mut buf);
        encode_row(&mut writer, &record)
    };
    assert_eq!(encode(&[b"a", "é".as_bytes(), b""]), Ok(()));
    // "é" is C3 A9: valid end to end, invalid as the fields "\xC3" and "\xA9".
    assert_eq!(encode(&[b"a\xC3", b"\xA9b"]), Err((0, 1)));
    assert_eq!(encode(&[b"ok", b"\xA9"]), Err((1, 0)));
}
