//! The one error type of the connectors crate.

use std::path::PathBuf;

/// Why one source item could not be read. Each variant names the file (and item).
#[derive(Debug, thiserror::Error)]
pub enum ConnectorError {
    /// The file could not be opened or read.
    #[error("cannot read {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The item is malformed in a way the reader cannot recover from.
    #[error("malformed {what} in {path}{}: {reason}", item.as_ref().map(|i| format!(" (item {i})")).unwrap_or_default())]
    Malformed {
        what: &'static str,
        path: PathBuf,
        item: Option<String>,
        reason: String,
    },
    /// The item is larger than the reader accepts.
    #[error("{path}: {size} bytes exceeds the limit of {limit} bytes for one item")]
    TooLarge {
        path: PathBuf,
        size: u64,
        limit: u64,
    },
    /// A screenshot or scanned PDF page was indexed without its text: the OCR
    /// programs are not installed. The item is retried on a later run.
    #[error("{path}: text not read — OCR needs {needs}; read again on a later run")]
    OcrUnavailable {
        path: PathBuf,
        /// The programs and the packages that provide them.
        needs: &'static str,
    },
    /// A path given to discovery does not exist.
    #[error("no such file or directory: {0}")]
    NotFound(PathBuf),
}

impl ConnectorError {
    /// Where in its file the error is (`message 12`, `page 3`), or `file` when it
    /// concerns the whole file.
    pub fn position(&self) -> String {
        match self {
            Self::Malformed {
                item: Some(item), ..
            } => item.clone(),
            Self::OcrUnavailable { .. } => "ocr".to_owned(),
            _ => "file".to_owned(),
        }
    }
}
