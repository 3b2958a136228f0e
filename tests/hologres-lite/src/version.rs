//! A Hologres version, `X.Y.Z`, and the thresholds where its behaviour changes.

use std::fmt;

/// `major.minor.patch`, ordered as numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Version(pub u32, pub u32, pub u32);

impl Version {
    /// Fixed Copy (`STREAM_MODE`): Flink's `HologresUtils.chooseBestWriteMode` takes it
    /// when the version is above 1.3.24.
    pub const FIXED_COPY: Version = Version(1, 3, 25);
    /// Mixed DML transactions (beta, behind `hg_experimental_enable_transaction`):
    /// "SQL transaction capabilities".
    pub const DML_TRANSACTIONS: Version = Version(2, 0, 0);
    /// Fixed Copy into a partition parent: holo-client README.
    pub const COPY_INTO_PARENT: Version = Version(3, 1, 0);

    /// Reads `X.Y.Z` (a missing part is 0).
    pub fn parse(s: &str) -> Option<Version> {
        let mut parts = s.trim().split('.').map(|p| p.parse::<u32>());
        let major = parts.next()?.ok()?;
        let minor = parts.next().unwrap_or(Ok(0)).ok()?;
        let patch = parts.next().unwrap_or(Ok(0)).ok()?;
        if parts.next().is_some() {
            return None;
        }
        Some(Version(major, minor, patch))
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.0, self.1, self.2)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn orders_numerically() {
        assert!(Version::parse("1.3.30").unwrap() > Version::parse("1.3.4").unwrap());
        assert!(Version::parse("1.3.24").unwrap() < Version::FIXED_COPY);
        assert_eq!(Version::parse("2.1").unwrap(), Version(2, 1, 0));
        assert!(Version::parse("x").is_none());
    }
}
