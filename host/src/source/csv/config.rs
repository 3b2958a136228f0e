//! Settings of the CSV source: which inputs, and how large a batch may grow.

/// What the CSV source reads and how it cuts the input into batches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CsvSourceConfig {
    /// Files, globs (`data/*.csv`, expanded and sorted) or `-` for stdin (only alone),
    /// read in the order given.
    pub inputs: Vec<String>,
    /// Most records in one batch.
    pub batch_rows: usize,
    /// A batch ends once its encoded rows reach this many bytes.
    pub batch_bytes: usize,
    /// Only the files of this share: `(index, count)` (see [`Partition`]).
    pub partition: Option<Partition>,
    /// A record larger than this is dead-lettered by its size and line, not held whole.
    pub max_record_bytes: u64,
}

/// One share of a load split across processes (`--partition INDEX/COUNT`, a Kubernetes
/// Indexed Job): a file belongs to the share its path's stable hash falls to, so N
/// processes given the same inputs load N disjoint sets of files, each with its own saved
/// positions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Partition {
    pub index: u32,
    pub count: u32,
}

impl Partition {
    /// `INDEX/COUNT`, or `COUNT` (or `/COUNT`) with the index from `job_index`
    /// (`JOB_COMPLETION_INDEX`, which Kubernetes sets in each pod of an Indexed Job).
    pub fn parse(s: &str, job_index: Option<&str>) -> Result<Partition, String> {
        let from_job = || {
            job_index.map(|i| i.trim().to_owned()).ok_or_else(|| {
                format!(
                    "--partition `{s}` gives no index, and JOB_COMPLETION_INDEX is not set: \
                     use INDEX/COUNT"
                )
            })
        };
        let (index, count) = match s.split_once('/') {
            Some((i, c)) if !i.trim().is_empty() => (i.trim().to_owned(), c),
            Some((_, c)) => (from_job()?, c),
            None => (from_job()?, s),
        };
        let bad = || format!("--partition `{s}` is not INDEX/COUNT with 0 <= INDEX < COUNT");
        let count: u32 = count.trim().parse().map_err(|_| bad())?;
        let index: u32 = index.parse().map_err(|_| bad())?;
        if count == 0 || index >= count {
            return Err(bad());
        }
        Ok(Partition { index, count })
    }

    /// Whether the file at `path` (as the inputs name it) is in this share.
    pub fn takes(&self, path: &str) -> bool {
        use sha2::{Digest, Sha256};
        let digest = Sha256::digest(path.as_bytes());
        let h = u64::from_le_bytes(digest[..8].try_into().expect("8 bytes"));
        h % u64::from(self.count) == u64::from(self.index)
    }
}

impl CsvSourceConfig {
    /// Large enough that a batch, sent in key order, writes a random key's index page by
    /// page (the server's work on `scripts/bench.sh`'s load falls by a third from 4096 rows
    /// to this), small enough to keep the rows redone after a crash few.
    pub fn default_batch_rows() -> usize {
        32768
    }

    /// 16 MiB: bounds memory when rows are wide.
    pub fn default_batch_bytes() -> usize {
        16 << 20
    }

    /// 16 MiB: far above any sane row, far below what one record may cost in memory.
    pub fn default_max_record_bytes() -> u64 {
        crate::input::csv::DEFAULT_RECORD_LIMIT
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partitions_parse_and_split_files_disjointly() {
        assert_eq!(
            Partition::parse("2/5", None),
            Ok(Partition { index: 2, count: 5 })
        );
        assert_eq!(
            Partition::parse("5", Some("4")),
            Ok(Partition { index: 4, count: 5 })
        );
        assert_eq!(
            Partition::parse("/3", Some("0")),
            Ok(Partition { index: 0, count: 3 })
        );
        assert!(
            Partition::parse("3", None)
                .unwrap_err()
                .contains("JOB_COMPLETION_INDEX")
        );
        for bad in ["5/5", "1/0", "a/2", "-1/2"] {
            assert!(Partition::parse(bad, None).is_err(), "{bad}");
        }
        let files: Vec<String> = (0..200).map(|i| format!("exports/{i}.csv")).collect();
        let shares: Vec<Partition> = (0..4).map(|index| Partition { index, count: 4 }).collect();
        for f in &files {
            assert_eq!(shares.iter().filter(|p| p.takes(f)).count(), 1, "{f}");
        }
        // Every share gets some of 200 files.
        for p in &shares {
            assert!(files.iter().filter(|f| p.takes(f)).count() > 20, "{p:?}");
        }
    }
}
