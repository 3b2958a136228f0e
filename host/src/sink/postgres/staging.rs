//! The rows of one batch, staged between `push_row` and `commit`: each row encoded once in
//! the binary COPY form (the same bytes serve as the elements of the array parameters of
//! a keyed write), rows of the same key merged as the write mode says, deletes kept apart.

use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasher, BuildHasherDefault, DefaultHasher};
use std::ops::Range;

use bytes::{BufMut, BytesMut};
use holo_batch::RowRef;

use super::encode;
use super::error::RowError;
use super::partition::{self, PartValue};
use super::types::{ColumnCodec, PgType, Scratch};

/// Hashes of the keys a batch writes or deletes. Sets of them tell whether two batches may
/// share a key: a collision only makes a batch wait for another it need not wait for.
pub type KeyHashes = HashSet<u64, foldhash::fast::FixedState>;

/// How rows of the same key inside one batch combine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Merge {
    /// Rows are written as they come (plain inserts: a duplicate is the server's to refuse).
    None,
    /// The first row of a key stays (insert-or-ignore).
    KeepFirst,
    /// The last row of a key wins (insert-or-replace, insert-or-update: every row sets
    /// every output column, so the newer values win them all).
    KeepLast,
}

/// What the stage needs to know about the output columns.
#[derive(Debug, Clone)]
pub struct RowSpec {
    pub targets: Vec<ColumnCodec>,
    /// Output indexes of the primary key columns, in key order; empty without a key.
    pub key: Vec<usize>,
    /// Output index and type of the LIST partition column.
    pub partition: Option<(usize, PgType)>,
    pub merge: Merge,
    /// `schema.table`, for errors.
    pub table: String,
}

/// One staged row.
#[derive(Debug, Clone)]
pub struct StagedRow {
    /// Index of the input record in its batch.
    pub input: u32,
    /// Bytes in [`Staged::data`]: the field count, then the fields.
    pub data: Range<usize>,
    /// The key fields in [`Staged::keys`].
    pub key: Range<usize>,
    /// Index in [`Staged::parts`]; 0 when the table is not partitioned.
    pub part: u32,
    /// False once a later row or a delete replaced it.
    pub live: bool,
}

/// One staged delete.
#[derive(Debug, Clone)]
pub struct StagedDelete {
    pub input: u32,
    pub key: Range<usize>,
    pub part: u32,
}

/// The staged rows and deletes of a batch.
#[derive(Debug, Default)]
pub struct Staged {
    /// Rows in the binary COPY form, without header and trailer.
    pub data: BytesMut,
    pub rows: Vec<StagedRow>,
    /// Key fields of rows and deletes, concatenated.
    pub keys: Vec<u8>,
    pub deletes: Vec<StagedDelete>,
    /// Partition values met, by index.
    pub parts: Vec<PartValue>,
    part_index: HashMap<PartValue, u32>,
    /// Key → live row, when rows merge.
    live: HashMap<Box<[u8]>, u32, foldhash::fast::RandomState>,
    /// Key → staged delete.
    deleted: HashMap<Box<[u8]>, u32, foldhash::fast::RandomState>,
    live_rows: usize,
    /// Byte ranges of the current row's fields in `data`.
    fields: Vec<Range<usize>>,
}

impl Staged {
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty() && self.deletes.is_empty()
    }

    /// Rows that will be written (merged rows counted once).
    pub fn live_rows(&self) -> usize {
        self.live_rows
    }

    pub fn bytes(&self) -> usize {
        self.data.len()
    }

    /// The keys of the staged rows and deletes (none when the table has no key).
    pub fn touched_keys(&self) -> impl Iterator<Item = &[u8]> {
        let rows = (self.rows.iter()).filter(|r| r.live).map(|r| &r.key);
        (rows.chain(self.deletes.iter().map(|d| &d.key)))
            .filter(|k| !k.is_empty())
            .map(|k| &self.keys[k.clone()])
    }

    /// The hashes of [`Self::touched_keys`], one hash function for every batch.
    pub fn key_hashes(&self) -> impl Iterator<Item = u64> + '_ {
        let state = foldhash::fast::FixedState::default();
        self.touched_keys().map(move |k| state.hash_one(k))
    }

    pub fn clear(&mut self) {
        self.data.clear();
        self.rows.clear();
        self.keys.clear();
        self.deletes.clear();
        self.parts.clear();
        self.part_index.clear();
        self.live.clear();
        self.deleted.clear();
        self.live_rows = 0;
    }

    /// Whether nothing but plain rows in arrival order is staged: the COPY data is then
    /// `data` as it is.
    pub fn is_contiguous(&self) -> bool {
        self.deletes.is_empty() && self.live_rows == self.rows.len()
    }

    fn part_of(&mut self, value: PartValue) -> u32 {
        if let Some(&i) = self.part_index.get(&value) {
            return i;
        }
        let i = self.parts.len() as u32;
        self.parts.push(value.clone());
        self.part_index.insert(value, i);
        i
    }

    /// Stages a row; on error nothing of it stays.
    pub fn push_row(
        &mut self,
        plan: &RowSpec,
        input: u32,
        row: RowRef<'_>,
        scratch: &mut Scratch,
    ) -> Result<(), RowError> {
        let targets = &plan.targets;
        if row.len() != targets.len() {
            return Err(RowError::Width {
                expected: targets.len(),
                got: row.len(),
            });
        }
        let mark = self.data.len();
        // A table has at most 1600 columns, so the count fits.
        self.data.put_i16(targets.len() as i16);
        self.fields.clear();
        let mut part = 0;
        for (i, (t, v)) in targets.iter().zip(row.values()).enumerate() {
            let start = self.data.len();
            if let Err(problem) = encode::encode_field(&mut self.data, t, v, scratch) {
                self.data.truncate(mark);
                return Err(RowError::value(t, v, problem));
            }
            self.fields.push(start..self.data.len());
            if let Some((pi, ty)) = plan.partition
                && pi == i
            {
                match partition::canonical(ty, v) {
                    Ok(value) => part = self.part_of(value),
                    Err(problem) => {
                        self.data.truncate(mark);
                        return Err(RowError::value(t, v, problem));
                    }
                }
            }
        }
        let key_start = self.keys.len();
        for &k in &plan.key {
            let f = self.fields[k].clone();
            push_key_field(&mut self.keys, targets[k].ty, &self.data[f]);
        }
        let key = key_start..self.keys.len();
        let index = self.rows.len() as u32;
        if plan.merge != Merge::None && !plan.key.is_empty() {
            if let Some(&prev) = self.live.get(&self.keys[key.clone()]) {
                if plan.merge == Merge::KeepFirst {
                    self.data.truncate(mark);
                    self.keys.truncate(key_start);
                    return Ok(());
                }
                self.rows[prev as usize].live = false;
                self.live_rows -= 1;
            }
            self.live
                .insert(self.keys[key.clone()].to_vec().into_boxed_slice(), index);
        }
        self.rows.push(StagedRow {
            input,
            data: mark..self.data.len(),
            key,
            part,
            live: true,
        });
        self.live_rows += 1;
        Ok(())
    }

    /// Stages the delete of the row whose key the output row `row` holds; rows of that key
    /// staged before it are dropped.
    pub fn push_delete(
        &mut self,
        plan: &RowSpec,
        input: u32,
        row: RowRef<'_>,
        scratch: &mut Scratch,
    ) -> Result<(), RowError> {
        let targets = &plan.targets;
        if row.len() != targets.len() {
            return Err(RowError::Width {
                expected: targets.len(),
                got: row.len(),
            });
        }
        if plan.key.is_empty() {
            return Err(RowError::NoKey {
                table: plan.table.clone(),
            });
        }
        let mut values = Vec::with_capacity(targets.len());
        row.decode_into(&mut values);
        let mark = self.keys.len();
        let mut buf = BytesMut::new();
        for &k in &plan.key {
            buf.clear();
            let (t, v) = (&targets[k], values[k]);
            if let Err(problem) = encode::encode_field(&mut buf, t, v, scratch) {
                self.keys.truncate(mark);
                return Err(RowError::value(t, v, problem));
            }
            push_key_field(&mut self.keys, t.ty, &buf);
        }
        let part = match plan.partition {
            Some((pi, ty)) => match partition::canonical(ty, values[pi]) {
                Ok(value) => self.part_of(value),
                Err(problem) => {
                    self.keys.truncate(mark);
                    return Err(RowError::value(&targets[pi], values[pi], problem));
                }
            },
            None => 0,
        };
        let key = mark..self.keys.len();
        // Rows of this key staged before the delete never reach the table.
        if plan.merge != Merge::None {
            if let Some(prev) = self.live.remove(&self.keys[key.clone()]) {
                self.rows[prev as usize].live = false;
                self.live_rows -= 1;
            }
        } else {
            for r in &mut self.rows {
                if r.live && self.keys[r.key.clone()] == self.keys[key.clone()] {
                    r.live = false;
                    self.live_rows -= 1;
                }
            }
        }
        if self.deleted.contains_key(&self.keys[key.clone()]) {
            self.keys.truncate(mark);
            return Ok(());
        }
        self.deleted.insert(
            self.keys[key.clone()].to_vec().into_boxed_slice(),
            self.deletes.len() as u32,
        );
        self.deletes.push(StagedDelete { input, key, part });
        Ok(())
    }

    /// Which of `writers` connections a key goes to: one key always to the same one.
    pub fn writer_of(&self, key: &Range<usize>, fallback: usize, writers: usize) -> usize {
        if writers <= 1 {
            return 0;
        }
        if key.is_empty() {
            return fallback % writers;
        }
        let h = BuildHasherDefault::<DefaultHasher>::default().hash_one(&self.keys[key.clone()]);
        (h % writers as u64) as usize
    }

    /// Puts `rows` (indexes of staged rows) in the order of their keys, each key field
    /// compared by its wire bytes: the index's own order for a `text` key under a C
    /// collation or a non-negative integer key, and near it otherwise. A batch sent so
    /// walks the index page by page instead of at random, which spares the server much of
    /// its work on a random key (`scripts/bench.sh`). Rows of one key keep their order, so
    /// a plain insert still keeps the first of two.
    pub fn sort_by_key(&self, rows: &mut [u32]) {
        let key = |i: u32| &self.keys[self.rows[i as usize].key.clone()];
        let mut order: Vec<(u64, u32)> = rows.iter().map(|&i| (key_prefix(key(i)), i)).collect();
        order.sort_unstable_by(|a, b| {
            (a.0.cmp(&b.0))
                .then_with(|| key_order(key(a.1), key(b.1)))
                .then(a.1.cmp(&b.1))
        });
        for (slot, (_, i)) in rows.iter_mut().zip(order) {
            *slot = i;
        }
    }

    /// The fields of a staged row (its bytes after the field count).
    pub fn row_fields(&self, row: &StagedRow) -> &[u8] {
        &self.data[row.data.start + 2..row.data.end]
    }
}

/// The first 8 bytes of a key's first field, zero-padded, big-endian: ordered as
/// [`key_order`] orders the keys whenever the two differ.
fn key_prefix(mut key: &[u8]) -> u64 {
    let body = next_field(&mut key).unwrap_or_default();
    let mut prefix = [0u8; 8];
    let n = body.len().min(8);
    prefix[..n].copy_from_slice(&body[..n]);
    u64::from_be_bytes(prefix)
}

/// Orders two keys (concatenated fields: `i32` length, then bytes) field by field, by the
/// fields' bytes; a null field (length -1) as an empty one.
fn key_order(mut a: &[u8], mut b: &[u8]) -> std::cmp::Ordering {
    loop {
        match (next_field(&mut a), next_field(&mut b)) {
            (Some(x), Some(y)) => match x.cmp(y) {
                std::cmp::Ordering::Equal => continue,
                other => return other,
            },
            (x, y) => return x.is_some().cmp(&y.is_some()),
        }
    }
}

/// The bytes of the first of `fields` (`i32` length, then bytes; a null, -1, as none),
/// which then start after it; `None` at their end.
fn next_field<'a>(fields: &mut &'a [u8]) -> Option<&'a [u8]> {
    let len = i32::from_be_bytes(fields.get(..4)?.try_into().expect("4 bytes"));
    let (body, rest) = fields[4..].split_at(len.max(0) as usize);
    *fields = rest;
    Some(body)
}

/// Appends a key field (`i32` length, then bytes) in a form equal for equal values, so
/// keys merge and route as the server compares them: `numeric` with the least display
/// scale and no trailing zero digits (`1.0` = `1.00`), `char(n)` without trailing spaces.
/// The form is still the value's wire form: deletes send it as it is.
fn push_key_field(keys: &mut Vec<u8>, ty: PgType, field: &[u8]) {
    let len = i32::from_be_bytes(field[..4].try_into().expect("a length"));
    let body = &field[4..];
    match ty {
        _ if len < 0 => keys.extend_from_slice(field),
        PgType::Bpchar => {
            let end = body.iter().rposition(|&c| c != b' ').map_or(0, |i| i + 1);
            keys.extend_from_slice(&(end as i32).to_be_bytes());
            keys.extend_from_slice(&body[..end]);
        }
        // ndigits, weight, sign, display scale, then base-10000 digits.
        PgType::Numeric if body.len() >= 8 => {
            let word = |i: usize| u16::from_be_bytes([body[i], body[i + 1]]);
            let (mut ndigits, mut weight, mut sign) = (word(0) as usize, word(2), word(4));
            while ndigits > 0 && word(8 + 2 * (ndigits - 1)) == 0 {
                ndigits -= 1;
            }
            // Zero has one form whatever its sign or weight (NaN keeps its own).
            if ndigits == 0 && sign != NUMERIC_NAN {
                (weight, sign) = (0, 0);
            }
            // The least display scale that shows every digit: the server truncates a
            // value to the scale it is sent with, and deletes send this form.
            let frac_groups = (ndigits as i32 - (weight as i16 as i32 + 1)).max(0) as u16;
            let mut dscale = 4 * frac_groups;
            if frac_groups > 0 {
                let mut last = word(8 + 2 * (ndigits - 1));
                while last % 10 == 0 {
                    last /= 10;
                    dscale -= 1;
                }
            }
            keys.extend_from_slice(&((8 + 2 * ndigits) as i32).to_be_bytes());
            for w in [ndigits as u16, weight, sign, dscale] {
                keys.extend_from_slice(&w.to_be_bytes());
            }
            keys.extend_from_slice(&body[8..8 + 2 * ndigits]);
        }
        _ => keys.extend_from_slice(field),
    }
}

/// The sign word of a numeric NaN.
const NUMERIC_NAN: u16 = 0xC000;

#[cfg(test)]
mod tests {
    use super::*;
    use holo_batch::ValueRef;

    fn plan(merge: Merge) -> RowSpec {
        RowSpec {
            targets: vec![
                ColumnCodec::new("id".into(), PgType::Int8, -1, true),
                ColumnCodec::new("v".into(), PgType::Text, -1, false),
            ],
            key: vec![0],
            partition: None,
            merge,
            table: "s.t".into(),
        }
    }

    fn encoded(values: &[ValueRef<'_>]) -> Vec<u8> {
        let mut buf = Vec::new();
        for v in values {
            v.encode(&mut buf);
        }
        buf
    }

    /// Applies `ops` (`Some(v)`: row (id, v); `None`: delete of id) and returns the live
    /// rows as (input, id, v) and the deleted ids.
    #[allow(clippy::type_complexity)]
    fn run(merge: Merge, ops: &[(i64, Option<&str>)]) -> (Vec<(u32, i64, String)>, Vec<i64>) {
        let p = plan(merge);
        let mut s = Staged::default();
        let mut scratch = Scratch::default();
        for (i, (id, v)) in ops.iter().enumerate() {
            let buf = match v {
                Some(v) => encoded(&[ValueRef::Int(*id), ValueRef::Text(v)]),
                None => encoded(&[ValueRef::Int(*id), ValueRef::Null]),
            };
            let row = holo_batch::row_at(&buf, 0, 2).unwrap();
            match v {
                Some(_) => s.push_row(&p, i as u32, row, &mut scratch).unwrap(),
                None => s.push_delete(&p, i as u32, row, &mut scratch).unwrap(),
            }
        }
        let rows: Vec<_> = s
            .rows
            .iter()
            .filter(|r| r.live)
            .map(|r| {
                let f = s.row_fields(r);
                let id = i64::from_be_bytes(f[4..12].try_into().unwrap());
                let v = String::from_utf8(f[16..].to_vec()).unwrap();
                (r.input, id, v)
            })
            .collect();
        assert_eq!(rows.len(), s.live_rows());
        let deletes = s
            .deletes
            .iter()
            .map(|d| i64::from_be_bytes(s.keys[d.key.start + 4..d.key.end].try_into().unwrap()))
            .collect();
        (rows, deletes)
    }

    /// Equal keys written differently (`1.0` and `1.00`, `char(4)` with and without
    /// trailing spaces) merge as the server would find them equal.
    #[test]
    fn keys_merge_by_value_not_by_spelling() {
        for (ty, a, b, other) in [
            (PgType::Numeric, "1.0", "1.00", "1.01"),
            (PgType::Numeric, "0", "-0.000", "0.5"),
            (PgType::Numeric, "1e4", "10000.0", "10001"),
            (PgType::Bpchar, "ab", "ab  ", "abc"),
        ] {
            let p = RowSpec {
                targets: vec![
                    ColumnCodec::new("k".into(), ty, -1, true),
                    ColumnCodec::new("v".into(), PgType::Text, -1, false),
                ],
                ..plan(Merge::KeepLast)
            };
            let mut s = Staged::default();
            let mut scratch = Scratch::default();
            for (i, k) in [a, b, other].iter().enumerate() {
                let buf = encoded(&[ValueRef::Text(k), ValueRef::Text("x")]);
                let row = holo_batch::row_at(&buf, 0, 2).unwrap();
                s.push_row(&p, i as u32, row, &mut scratch).unwrap();
            }
            assert_eq!(s.live_rows(), 2, "{ty}: {a} and {b} are one key");
            let k0 = &s.keys[s.rows[0].key.clone()];
            assert_eq!(k0, &s.keys[s.rows[1].key.clone()], "{ty}");
            assert_eq!(
                s.writer_of(&s.rows[0].key, 0, 4),
                s.writer_of(&s.rows[1].key, 1, 4)
            );
        }
    }

    #[test]
    fn same_key_rows_merge_as_the_mode_says() {
        let ops = [(1, Some("a")), (2, Some("b")), (1, Some("c"))];
        let (rows, _) = run(Merge::KeepLast, &ops);
        assert_eq!(rows, [(1, 2, "b".into()), (2, 1, "c".into())]);
        let (rows, _) = run(Merge::KeepFirst, &ops);
        assert_eq!(rows, [(0, 1, "a".into()), (1, 2, "b".into())]);
        let (rows, _) = run(Merge::None, &ops);
        assert_eq!(rows.len(), 3);
    }

    #[test]
    fn a_delete_drops_the_rows_before_it() {
        for merge in [Merge::None, Merge::KeepFirst, Merge::KeepLast] {
            let (rows, deletes) = run(
                merge,
                &[
                    (1, Some("a")),
                    (2, Some("b")),
                    (1, None),
                    (1, None),
                    (3, None),
                ],
            );
            assert_eq!(rows, [(1, 2, "b".into())], "{merge:?}");
            assert_eq!(deletes, [1, 3], "{merge:?}");
            // A row after the delete is written after it (deletes go first).
            let (rows, deletes) = run(merge, &[(1, Some("a")), (1, None), (1, Some("z"))]);
            assert_eq!(rows, [(2, 1, "z".into())], "{merge:?}");
            assert_eq!(deletes, [1]);
        }
    }

    #[test]
    fn bad_rows_leave_nothing_staged() {
        let p = plan(Merge::KeepLast);
        let mut s = Staged::default();
        let buf = encoded(&[ValueRef::Text("x"), ValueRef::Text("v")]);
        let row = holo_batch::row_at(&buf, 0, 2).unwrap();
        let err = s.push_row(&p, 0, row, &mut Scratch::default()).unwrap_err();
        assert!(err.to_string().contains("is not an integer"), "{err}");
        let err = s
            .push_delete(&p, 0, row, &mut Scratch::default())
            .unwrap_err();
        assert!(err.to_string().contains("is not an integer"), "{err}");
        assert!(s.is_empty() && s.data.is_empty() && s.keys.is_empty());
        let mut no_key = plan(Merge::None);
        no_key.key.clear();
        let buf = encoded(&[ValueRef::Int(1), ValueRef::Null]);
        let row = holo_batch::row_at(&buf, 0, 2).unwrap();
        let err = s
            .push_delete(&no_key, 0, row, &mut Scratch::default())
            .unwrap_err();
        assert!(err.to_string().contains("primary key"), "{err}");
    }

    /// Key fields as they are staged: `i32` length, then bytes.
    fn key(fields: &[&[u8]]) -> Vec<u8> {
        let mut k = Vec::new();
        for f in fields {
            k.extend_from_slice(&(f.len() as i32).to_be_bytes());
            k.extend_from_slice(f);
        }
        k
    }

    #[test]
    fn keys_order_field_by_field_by_their_bytes() {
        use std::cmp::Ordering::{Equal, Greater, Less};
        type Fields<'a> = &'a [&'a [u8]];
        let cases: [(Fields, Fields, _); 5] = [
            // Not by the length in front of the bytes.
            (&[b"b"], &[b"ab"], Greater),
            (&[b"ab"], &[b"abc"], Less),
            (&[b"abcdefghia"], &[b"abcdefghij"], Less),
            // The second field decides a tie of the first.
            (&[b"a", b"2"], &[b"a", b"10"], Greater),
            (&[b"a", b"1"], &[b"a", b"1"], Equal),
        ];
        for (a, b, want) in cases {
            let (a, b) = (key(a), key(b));
            assert_eq!(key_order(&a, &b), want, "{a:?} {b:?}");
            assert_eq!(key_order(&b, &a), want.reverse());
            // The prefix never contradicts the whole key.
            let by_prefix = key_prefix(&a).cmp(&key_prefix(&b));
            assert!(by_prefix == Equal || by_prefix == want, "{a:?} {b:?}");
        }
    }

    #[test]
    fn a_batch_goes_in_key_order_and_rows_of_one_key_keep_theirs() {
        let p = RowSpec {
            targets: vec![
                ColumnCodec::new("id".into(), PgType::Text, -1, true),
                ColumnCodec::new("n".into(), PgType::Int8, -1, false),
            ],
            key: vec![0],
            partition: None,
            merge: Merge::None,
            table: "s.t".into(),
        };
        let mut s = Staged::default();
        let mut scratch = Scratch::default();
        let ids = ["b", "abcdefghij", "a", "b", "abcdefghia"];
        for (i, id) in ids.iter().enumerate() {
            let buf = encoded(&[ValueRef::Text(id), ValueRef::Int(i as i64)]);
            let row = holo_batch::row_at(&buf, 0, 2).unwrap();
            s.push_row(&p, i as u32, row, &mut scratch).unwrap();
        }
        let mut items: Vec<u32> = (0..ids.len() as u32).collect();
        s.sort_by_key(&mut items);
        assert_eq!(items, [2, 4, 1, 0, 3]);
    }

    #[test]
    fn one_key_one_writer() {
        let mut s = Staged::default();
        s.keys.extend_from_slice(b"abcabc");
        let (a, b) = (0..3, 3..6);
        for n in 1..5 {
            assert_eq!(s.writer_of(&a, 0, n), s.writer_of(&b, 7, n));
            assert!(s.writer_of(&a, 0, n) < n);
        }
        assert_eq!(s.writer_of(&(0..0), 5, 3), 2);
    }
}
