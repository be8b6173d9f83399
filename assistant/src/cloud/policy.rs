//! What of a person's data may reach a cloud model: a per-source policy.
//!
//! Each document gets an [`Exposure`]: `never` keeps its text out of cloud
//! prompts entirely, `redacted` (the default) lets it go only through the
//! redactor, `allowed` sends it as written (for sources the user has decided
//! are not private, such as public manuals). The most specific rule wins: a
//! source's folder (longest matching root first), then the source kind
//! (`mail`, `document`, `message`, `screenshot`), then the default.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use hearth_store::DocumentRecord;

/// How much of a document may leave the device.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Exposure {
    /// Never sent to a cloud model.
    Never,
    /// Sent only after redaction (the default).
    #[default]
    Redacted,
    /// Sent as written.
    Allowed,
}

impl Exposure {
    /// The policy's name as configured: `never`, `redacted` or `allowed`.
    pub fn as_str(self) -> &'static str {
        match self {
            Exposure::Never => "never",
            Exposure::Redacted => "redacted",
            Exposure::Allowed => "allowed",
        }
    }
}

impl std::fmt::Display for Exposure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Exposure {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "never" => Ok(Exposure::Never),
            "redacted" => Ok(Exposure::Redacted),
            "allowed" => Ok(Exposure::Allowed),
            other => Err(format!(
                "unknown cloud policy `{other}` (expected never, redacted or allowed)"
            )),
        }
    }
}

/// A rule for the files under one folder (a configured source's root).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathRule {
    /// The source's name, for messages.
    pub name: String,
    /// The folder; documents read from anywhere under it follow this rule.
    pub root: PathBuf,
    /// The exposure of those files.
    pub exposure: Exposure,
}

/// The policy for every document (see the module docs).
///
/// ```
/// use hearth_assistant::cloud::{CloudPolicy, Exposure};
/// let policy = CloudPolicy::default()
///     .with_kind("message", Exposure::Never)
///     .with_root("manuals", "/home/me/manuals", Exposure::Allowed);
/// assert_eq!(policy.exposure_of("message", "/home/me/chat.txt"), Exposure::Never);
/// assert_eq!(policy.exposure_of("document", "/home/me/manuals/boiler.pdf"), Exposure::Allowed);
/// assert_eq!(policy.exposure_of("mail", "/home/me/Mail/inbox.mbox"), Exposure::Redacted);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CloudPolicy {
    /// Exposure of documents no kind or folder rule matches (default: redacted).
    pub default: Exposure,
    /// Per source kind.
    pub kinds: Vec<(String, Exposure)>,
    /// Per source folder; the longest matching root wins.
    pub roots: Vec<PathRule>,
}

impl CloudPolicy {
    /// Every document gets `default` unless a rule says otherwise.
    pub fn new(default: Exposure) -> Self {
        Self {
            default,
            ..Self::default()
        }
    }

    /// Documents of `kind` get `exposure`.
    pub fn with_kind(mut self, kind: &str, exposure: Exposure) -> Self {
        self.kinds.retain(|(k, _)| k != kind);
        self.kinds.push((kind.to_owned(), exposure));
        self
    }

    /// Documents read from under `root` (a source named `name`) get `exposure`.
    pub fn with_root(mut self, name: &str, root: impl Into<PathBuf>, exposure: Exposure) -> Self {
        self.roots.push(PathRule {
            name: name.to_owned(),
            root: root.into(),
            exposure,
        });
        self
    }

    /// Whether nothing at all may be sent.
    pub fn forbids_everything(&self) -> bool {
        self.default == Exposure::Never
            && self.kinds.iter().all(|(_, e)| *e == Exposure::Never)
            && self.roots.iter().all(|r| r.exposure == Exposure::Never)
    }

    /// The exposure of a document of `kind` read from `path`.
    pub fn exposure_of(&self, kind: &str, path: impl AsRef<Path>) -> Exposure {
        let path = path.as_ref();
        self.roots
            .iter()
            .filter(|r| path.starts_with(&r.root))
            .max_by_key(|r| r.root.components().count())
            .map(|r| r.exposure)
            .or_else(|| {
                self.kinds
                    .iter()
                    .find(|(k, _)| k == kind)
                    .map(|(_, exposure)| *exposure)
            })
            .unwrap_or(self.default)
    }

    /// The exposure of a stored document.
    pub fn exposure(&self, document: &DocumentRecord) -> Exposure {
        self.exposure_of(&document.kind, &document.origin_path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_most_specific_rule_wins() {
        let policy = CloudPolicy::new(Exposure::Redacted)
            .with_kind("mail", Exposure::Never)
            .with_root("all", "/data", Exposure::Allowed)
            .with_root("work", "/data/work", Exposure::Never);
        assert_eq!(
            policy.exposure_of("document", "/data/notes/a.md"),
            Exposure::Allowed
        );
        assert_eq!(
            policy.exposure_of("document", "/data/work/plan.md"),
            Exposure::Never
        );
        // A root rule beats the kind rule; outside every root the kind decides.
        assert_eq!(
            policy.exposure_of("mail", "/data/m.mbox"),
            Exposure::Allowed
        );
        assert_eq!(policy.exposure_of("mail", "/home/m.mbox"), Exposure::Never);
        // Whole path components only: /data/workshop is not under /data/work.
        assert_eq!(
            policy.exposure_of("document", "/data/workshop/x.md"),
            Exposure::Allowed
        );
        assert!(!policy.forbids_everything());
        assert!(CloudPolicy::new(Exposure::Never).forbids_everything());
    }

    #[test]
    fn names_parse() {
        for e in [Exposure::Never, Exposure::Redacted, Exposure::Allowed] {
            assert_eq!(e.to_string().parse::<Exposure>().unwrap(), e);
        }
        assert!(" NEVER ".parse::<Exposure>().is_ok());
        assert!(
            "sometimes"
                .parse::<Exposure>()
                .unwrap_err()
                .contains("never")
        );
    }
}
