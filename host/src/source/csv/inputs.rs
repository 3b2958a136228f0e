//! Which files a CSV source's inputs name, in order: paths, globs, object listings, or
//! stdin alone; each with the identity its position is saved under.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::{CsvError, STDIN};
use crate::input::csv::Location;
use crate::input::objects::{self, Bucket, ObjectUrl};

/// One input file.
#[derive(Debug)]
pub(super) struct InputFile {
    /// As the user gave it (or as the glob produced it): origins name it so.
    pub given: Arc<str>,
    pub location: Location,
    /// Absolute and free of links (`oss://BUCKET/KEY` for an object): the file's identity
    /// in positions and the job key.
    pub canonical: String,
    pub len: u64,
    /// An object's version: a position taken from another version does not apply.
    pub etag: Option<String>,
}

impl InputFile {
    /// The job stream of this file: each file keeps its own position.
    pub fn stream(&self) -> String {
        format!("csv:{}", self.canonical)
    }
}

#[derive(Debug)]
pub(super) enum Inputs {
    Stdin,
    Files(Vec<InputFile>),
}

impl Inputs {
    pub fn count(&self) -> usize {
        match self {
            Inputs::Stdin => 1,
            Inputs::Files(files) => files.len(),
        }
    }

    /// The job stream of each input, in order.
    pub fn streams(&self) -> Vec<String> {
        match self {
            Inputs::Stdin => vec![format!("csv:{STDIN}")],
            Inputs::Files(files) => files.iter().map(InputFile::stream).collect(),
        }
    }

    /// The stream releases before the per-file ledger saved one position under, for all
    /// the inputs together; `None` where it is the same as today's (a single input).
    pub fn shared_stream(&self) -> Option<String> {
        match self {
            Inputs::Files(files) if files.len() > 1 => {
                let paths: Vec<&str> = files.iter().map(|f| f.canonical.as_str()).collect();
                Some(format!("csv:{}", paths.join(",")))
            }
            _ => None,
        }
    }
}

/// The files the inputs name, in order: globs expanded and sorted.
pub(super) fn expand(inputs: &[String]) -> Result<Inputs, CsvError> {
    if inputs.is_empty() {
        return Err(CsvError::NoInputs);
    }
    if inputs.iter().any(|i| i == STDIN) {
        return if inputs.len() == 1 {
            Ok(Inputs::Stdin)
        } else {
            Err(CsvError::StdinNotAlone)
        };
    }
    let mut files = Vec::new();
    let mut seen: HashMap<String, Arc<str>> = HashMap::new();
    for input in inputs {
        if objects::is_remote(input) {
            for file in objects(input)? {
                if let Some(first) = seen.insert(file.canonical.clone(), file.given.clone()) {
                    return Err(CsvError::Duplicate {
                        path: file.canonical,
                        first: first.to_string(),
                        second: input.clone(),
                    });
                }
                files.push(file);
            }
            continue;
        }
        // A name with glob characters that exists as is is taken literally.
        let paths = if is_glob(input) && !Path::new(input).exists() {
            glob_files(input)?
        } else {
            vec![PathBuf::from(input)]
        };
        for path in paths {
            let given: Arc<str> = path.to_string_lossy().into();
            let open_error = |source| CsvError::Open {
                path: given.to_string(),
                source,
            };
            let canonical = std::fs::canonicalize(&path).map_err(open_error)?;
            let meta = std::fs::metadata(&canonical).map_err(open_error)?;
            if !meta.is_file() {
                return Err(CsvError::NotAFile {
                    path: given.to_string(),
                });
            }
            let canonical = canonical.to_string_lossy().into_owned();
            if let Some(first) = seen.insert(canonical.clone(), given.clone()) {
                return Err(CsvError::Duplicate {
                    path: canonical,
                    first: first.to_string(),
                    second: given.to_string(),
                });
            }
            files.push(InputFile {
                given,
                location: Location::File(path),
                canonical,
                len: meta.len(),
                etag: None,
            });
        }
    }
    Ok(Inputs::Files(files))
}

/// The objects an `oss://` or `s3://` input names (a glob over keys lists them, sorted).
fn objects(input: &str) -> Result<Vec<InputFile>, CsvError> {
    let remote = |message| CsvError::Remote { message };
    let url = ObjectUrl::parse(input).map_err(remote)?;
    let bucket = Bucket::connect(&url).map_err(remote)?;
    let listed = bucket.list(&url.key).map_err(remote)?;
    Ok(listed
        .into_iter()
        .map(|object| {
            let name: Arc<str> = url.name(&object.key).into();
            InputFile {
                given: name.clone(),
                canonical: name.to_string(),
                len: object.size,
                etag: object.etag.clone(),
                location: Location::Object(bucket.clone(), object),
            }
        })
        .collect())
}

fn is_glob(s: &str) -> bool {
    s.contains(['*', '?', '['])
}

/// The files matching `pattern`, sorted; directories are left out.
fn glob_files(pattern: &str) -> Result<Vec<PathBuf>, CsvError> {
    let matches = glob::glob(pattern).map_err(|source| CsvError::GlobPattern {
        pattern: pattern.to_owned(),
        source,
    })?;
    let mut paths = Vec::new();
    for m in matches {
        let path = m.map_err(|source| CsvError::Glob {
            pattern: pattern.to_owned(),
            source,
        })?;
        if path.is_file() {
            paths.push(path);
        }
    }
    if paths.is_empty() {
        return Err(CsvError::GlobNoMatch {
            pattern: pattern.to_owned(),
        });
    }
    paths.sort();
    Ok(paths)
}
