//! The one error type of the connectors crate.

use std::path::PathBuf;

/// Why one source item could not be read. Each variant names the file (and item).
#[derive(Debug, thiserror::Error)]
pub enum ConnectorError {
    /// The file could not be opened or read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file that could not be read.
        path: PathBuf,
        /// The underlying I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The item is malformed in a way the reader cannot recover from.
    #[error("malformed {what} in {path}{}: {reason}", item.as_ref().map(|i| format!(" (item {i})")).unwrap_or_default())]
    Malformed {
        /// What was being read: `mail`, `image`, `WhatsApp export`, ...
        what: &'static str,
        /// The file holding the malformed item.
        path: PathBuf,
        /// The item inside the file (`message 12`, `page 3`); `None` for the whole file.
        item: Option<String>,
        /// What is wrong with it.
        reason: String,
    },
    /// The item is larger than the reader accepts.
    #[error("{path}: {size} bytes exceeds the limit of {limit} bytes for one item")]
    TooLarge {
        /// The file that is too large.
        path: PathBuf,
        /// Its size, in bytes.
        size: u64,
        /// The largest size the reader accepts, in bytes.
        limit: u64,
    },
    /// A screenshot or scanned PDF page was indexed without its text: the OCR
    /// programs are not installed. The item is retried on a later run.
    #[error("{path}: text not read — OCR needs {needs}; read again on a later run")]
    OcrUnavailable {
        /// The image or PDF whose text could not be read.
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
