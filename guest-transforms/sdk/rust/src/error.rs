//! The error a transform returns: a message for the host (a configuration error, or the
//! reason a record goes to the dead-letter output).

use std::fmt;

/// Why a transform could not be configured, or rejects a record: one message.
///
/// Any error type converts with `?` (`s.parse::<i64>()?`), and so do `String` and `&str`
/// (`Err("text")?`); [`Error::msg`] builds one from a message. Like `anyhow::Error`, it is
/// not itself a [`std::error::Error`]: that would make the conversion from every error
/// type overlap with the conversion from itself.
#[derive(Clone, PartialEq, Eq)]
pub struct Error {
    message: String,
}

impl Error {
    /// An error with this message.
    pub fn msg(message: impl Into<String>) -> Self {
        Error {
            message: message.into(),
        }
    }

    /// The message, as the host receives it.
    pub fn message(&self) -> &str {
        &self.message
    }

    pub fn into_message(self) -> String {
        self.message
    }
}

/// Every `std::error::Error`, `String` and `&str`: what `Box<dyn Error>` converts from.
impl<E: Into<Box<dyn std::error::Error>>> From<E> for Error {
    fn from(e: E) -> Self {
        Error::msg(e.into().to_string())
    }
}

impl From<Error> for String {
    fn from(e: Error) -> Self {
        e.message
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// The message, quoted: what `unwrap` prints.
impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.message, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<i64, Error> {
        let n: i64 = s.parse()?;
        if n < 0 {
            Err("negative")?;
        }
        if n > 9 {
            return Err(Error::msg(format!("{n} is more than one digit")));
        }
        Ok(n)
    }

    #[test]
    fn errors_of_every_kind_convert() {
        assert_eq!(parse("7"), Ok(7));
        assert_eq!(
            parse("x").unwrap_err().message(),
            "invalid digit found in string"
        );
        assert_eq!(parse("-1").unwrap_err().to_string(), "negative");
        assert_eq!(
            String::from(parse("10").unwrap_err()),
            "10 is more than one digit"
        );
        let from_string: Error = String::from("owned").into();
        assert_eq!(format!("{from_string:?}"), "\"owned\"");
    }
}
