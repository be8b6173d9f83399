//! The generator tiers: which pinned model (and GGUF file, and architecture)
//! answers at each level of cost.

use crate::AssistantError;
use crate::generate::model::Architecture;

/// A level of local generation, from always-cheap to woken on demand.
///
/// ```
/// use hearth_assistant::Tier;
/// let tier: Tier = "local".parse()?;
/// assert_eq!(tier, Tier::Local);
/// assert_eq!(tier.model_name(), "qwen2.5-coder-0.5b-instruct");
/// assert_eq!(Tier::Micro.to_string(), "micro");
/// # Ok::<(), hearth_assistant::AssistantError>(())
/// ```
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Tier {
    /// SmolLM2-135M-Instruct (Q4_1, llama architecture): always cheap.
    Micro,
    /// Qwen2.5-Coder-0.5B-Instruct (Q4_K_M, qwen2 architecture).
    Local,
    /// Qwen2.5-Coder-1.5B-Instruct (Q4_K_M, qwen2 architecture): optional, 1.1 GB.
    Larger,
}

impl Tier {
    /// Every tier, cheapest first.
    pub const ALL: [Tier; 3] = [Tier::Micro, Tier::Local, Tier::Larger];

    /// The model's name in the pinned catalog (`embed/models.toml`).
    pub fn model_name(self) -> &'static str {
        match self {
            Tier::Micro => "smollm2-135m-instruct",
            Tier::Local => "qwen2.5-coder-0.5b-instruct",
            Tier::Larger => "qwen2.5-coder-1.5b-instruct",
        }
    }

    /// The GGUF file inside the model's directory.
    pub fn gguf_file(self) -> &'static str {
        match self {
            Tier::Micro => "SmolLM2-135M-Instruct.Q4_1.gguf",
            Tier::Local => "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
            Tier::Larger => "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
        }
    }

    /// The architecture the file declares (`general.architecture`).
    pub fn architecture(self) -> Architecture {
        match self {
            Tier::Micro => Architecture::Llama,
            Tier::Local | Tier::Larger => Architecture::Qwen2,
        }
    }

    /// The tier's name: `micro`, `local` or `larger`.
    pub fn as_str(self) -> &'static str {
        match self {
            Tier::Micro => "micro",
            Tier::Local => "local",
            Tier::Larger => "larger",
        }
    }
}

impl std::fmt::Display for Tier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Tier {
    type Err = AssistantError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Tier::ALL
            .into_iter()
            .find(|t| t.as_str().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| AssistantError::UnknownTier(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_match_the_catalog() {
        let catalog = hearth_embed::ModelCatalog::pinned().unwrap();
        for tier in Tier::ALL {
            assert_eq!(tier.to_string().parse::<Tier>().unwrap(), tier);
            let spec = catalog.get(tier.model_name()).unwrap();
            assert!(
                spec.files.iter().any(|f| f.name == tier.gguf_file()),
                "{tier}"
            );
        }
        assert_eq!(" LOCAL ".parse::<Tier>().unwrap(), Tier::Local);
        assert_eq!(serde_json::to_string(&Tier::Larger).unwrap(), "\"larger\"");
        let tier: Tier = serde_json::from_str("\"micro\"").unwrap();
        assert_eq!(tier, Tier::Micro);
        let err = "huge".parse::<Tier>().unwrap_err().to_string();
        assert!(err.contains("huge") && err.contains("micro"), "{err}");
    }
}
