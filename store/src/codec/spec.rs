//! Codec specifications: which vector codec an index uses, with its parameters,
//! as recorded in the index manifest, plus the short names (`tq4`, `tq3-qjl`,
//! `int8`, `f32`) used on command lines and in benchmark reports.

use hearth_quant::rotation::Rotation;
use serde::{Deserialize, Serialize};

use crate::StoreError;

/// The seed of [`CodecSpec`]'s constructors: codes are a pure function of the
/// vectors and the seed, so two indexes built with it agree bit for bit.
pub const DEFAULT_SEED: u64 = 0x6865_6172_7468_7471; // "hearthtq"

/// Which codec, recorded in the index manifest (serde: `f32`, `int8`,
/// `turbo-quant`, `turbo-quant-qjl`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CodecKind {
    /// Exact f32 vectors, no compression (4·d bytes per vector).
    F32,
    /// Symmetric int8 scalar quantization with one f32 scale per vector
    /// (d + 4 bytes per vector).
    Int8,
    /// TurboQuant: norm + random rotation + a Lloyd–Max scalar quantizer of
    /// `bits` bits per coordinate (b·d/8 + 4 bytes per vector).
    TurboQuant,
    /// TurboQuant with a QJL residual: `bits − 1` bits of the MSE quantizer plus
    /// one sign bit per coordinate of a Gaussian projection of the residual, for
    /// an unbiased inner-product estimate (b·d/8 + 8 bytes per vector).
    TurboQuantQjl,
}

/// A codec and its parameters: everything needed to rebuild the same
/// [`VectorCodec`](super::VectorCodec) for a dimension.
///
/// ```
/// use hearth_store::codec::{CodecKind, CodecSpec};
///
/// let spec = CodecSpec::parse("tq3-qjl").unwrap();
/// assert_eq!(spec.kind, CodecKind::TurboQuantQjl);
/// assert_eq!(spec.bits, 3);
/// assert_eq!(spec.name(), "tq3-qjl");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct CodecSpec {
    /// The codec.
    pub kind: CodecKind,
    /// Bits per coordinate: 1–4 for the TurboQuant kinds (including the QJL
    /// sign bit), 8 for `Int8`, 32 for `F32`.
    pub bits: u8,
    /// The rotation (ignored by `F32` and `Int8`).
    pub rotation: Rotation,
    /// Seed of the rotation and the QJL projection (ignored by `F32` and `Int8`).
    pub seed: u64,
}

impl Default for CodecSpec {
    /// `tq3`: 3-bit TurboQuant, Hadamard rotation, [`DEFAULT_SEED`]. Chosen by
    /// `hearth bench search` at 1M × 384: with the ×10 exact rerank it keeps
    /// recall@10 ≈ 0.98 at 148 bytes per vector (1/10 of f32, under the 1/8
    /// budget), where `tq4` (0.997) needs 196 bytes (1/7.8) and `tq2` drops
    /// to ≈ 0.96.
    fn default() -> Self {
        Self::turboquant(3)
    }
}

impl CodecSpec {
    /// TurboQuant with `bits` bits per coordinate, default rotation and seed.
    /// (Validity of `bits` is checked by [`VectorCodec::new`](super::VectorCodec::new).)
    pub fn turboquant(bits: u8) -> Self {
        Self {
            kind: CodecKind::TurboQuant,
            bits,
            rotation: Rotation::default(),
            seed: DEFAULT_SEED,
        }
    }

    /// TurboQuant + QJL with `bits` bits per coordinate in all (`bits − 1` MSE
    /// bits and one sign bit), default rotation and seed.
    pub fn qjl(bits: u8) -> Self {
        Self {
            kind: CodecKind::TurboQuantQjl,
            ..Self::turboquant(bits)
        }
    }

    /// Exact f32 vectors.
    pub fn f32() -> Self {
        Self {
            kind: CodecKind::F32,
            bits: 32,
            ..Self::turboquant(4)
        }
    }

    /// Int8 scalar quantization.
    pub fn int8() -> Self {
        Self {
            kind: CodecKind::Int8,
            bits: 8,
            ..Self::turboquant(4)
        }
    }

    /// The same spec with another rotation.
    pub fn with_rotation(mut self, rotation: Rotation) -> Self {
        self.rotation = rotation;
        self
    }

    /// The same spec with another seed.
    pub fn with_seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// Whether this is one of the TurboQuant kinds (rotation and codebook).
    pub fn is_quantized(&self) -> bool {
        matches!(self.kind, CodecKind::TurboQuant | CodecKind::TurboQuantQjl)
    }

    /// The short name: `f32`, `int8`, `tq1`…`tq4`, `tq1-qjl`…`tq4-qjl`, with
    /// `-dense` appended for the non-default rotation. The seed is not part of
    /// the name.
    pub fn name(&self) -> String {
        let mut name = match self.kind {
            CodecKind::F32 => return "f32".to_owned(),
            CodecKind::Int8 => return "int8".to_owned(),
            CodecKind::TurboQuant => format!("tq{}", self.bits),
            CodecKind::TurboQuantQjl => format!("tq{}-qjl", self.bits),
        };
        if self.rotation != Rotation::default() {
            name.push_str(match self.rotation {
                Rotation::Hadamard => "-hadamard",
                Rotation::Dense => "-dense",
            });
        }
        name
    }

    /// Parses a short name (the inverse of [`name`](Self::name)); the seed is
    /// [`DEFAULT_SEED`]. A rotation suffix `-hadamard` or `-dense` is accepted
    /// on the TurboQuant names.
    pub fn parse(name: &str) -> Result<Self, StoreError> {
        let lower = name.trim().to_ascii_lowercase();
        match lower.as_str() {
            "f32" => return Ok(Self::f32()),
            "int8" => return Ok(Self::int8()),
            _ => {}
        }
        let invalid = || {
            StoreError::Codec(format!(
                "unknown codec name `{name}`: expected one of f32, int8, tq1, tq2, tq3, tq4, \
                 tq1-qjl, tq2-qjl, tq3-qjl, tq4-qjl (the tq names optionally followed by \
                 -hadamard or -dense)"
            ))
        };
        let rest = lower.strip_prefix("tq").ok_or_else(invalid)?;
        let mut chars = rest.chars();
        let bits = match chars.next() {
            Some(c @ '1'..='4') => c as u8 - b'0',
            _ => return Err(invalid()),
        };
        let mut suffix = chars.as_str();
        let mut spec = Self::turboquant(bits);
        if let Some(after) = suffix.strip_prefix("-qjl") {
            spec.kind = CodecKind::TurboQuantQjl;
            suffix = after;
        }
        spec.rotation = match suffix {
            "" => Rotation::default(),
            "-hadamard" => Rotation::Hadamard,
            "-dense" => Rotation::Dense,
            _ => return Err(invalid()),
        };
        Ok(spec)
    }

    /// Checks that `bits` fits the kind.
    pub fn validate(&self) -> Result<(), StoreError> {
        let ok = match self.kind {
            CodecKind::F32 => self.bits == 32,
            CodecKind::Int8 => self.bits == 8,
            CodecKind::TurboQuant | CodecKind::TurboQuantQjl => (1..=4).contains(&self.bits),
        };
        if ok {
            return Ok(());
        }
        let expected = match self.kind {
            CodecKind::F32 => "32",
            CodecKind::Int8 => "8",
            CodecKind::TurboQuant | CodecKind::TurboQuantQjl => "1, 2, 3 or 4",
        };
        Err(StoreError::Codec(format!(
            "{:?} codec with {} bits per coordinate: bits must be {expected}",
            self.kind, self.bits
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        let mut specs = vec![CodecSpec::f32(), CodecSpec::int8()];
        for bits in 1..=4 {
            for rotation in [Rotation::Hadamard, Rotation::Dense] {
                specs.push(CodecSpec::turboquant(bits).with_rotation(rotation));
                specs.push(CodecSpec::qjl(bits).with_rotation(rotation));
            }
        }
        for spec in specs {
            assert_eq!(
                CodecSpec::parse(&spec.name()).unwrap(),
                spec,
                "{}",
                spec.name()
            );
        }
        assert_eq!(CodecSpec::turboquant(3).name(), "tq3");
        assert_eq!(CodecSpec::qjl(3).name(), "tq3-qjl");
        assert_eq!(
            CodecSpec::qjl(2).with_rotation(Rotation::Dense).name(),
            "tq2-qjl-dense"
        );
        assert_eq!(
            CodecSpec::parse(" TQ4-Hadamard ").unwrap(),
            CodecSpec::turboquant(4)
        );
    }

    #[test]
    fn bad_names_list_the_valid_ones() {
        for bad in [
            "",
            "tq",
            "tq0",
            "tq5",
            "tq4-foo",
            "tq4-dense-qjl",
            "int4",
            "pq",
        ] {
            let err = CodecSpec::parse(bad).unwrap_err().to_string();
            assert!(
                err.contains("tq3-qjl") && err.contains("int8"),
                "{bad}: {err}"
            );
        }
    }

    #[test]
    fn serde_strings() {
        let json = serde_json::to_string(&CodecKind::TurboQuantQjl).unwrap();
        assert_eq!(json, "\"turbo-quant-qjl\"");
        assert_eq!(serde_json::to_string(&CodecKind::F32).unwrap(), "\"f32\"");
        assert_eq!(serde_json::to_string(&CodecKind::Int8).unwrap(), "\"int8\"");
        assert_eq!(
            serde_json::to_string(&Rotation::Dense).unwrap(),
            "\"dense\""
        );
        let spec = CodecSpec::qjl(3);
        let back: CodecSpec = serde_json::from_str(&serde_json::to_string(&spec).unwrap()).unwrap();
        assert_eq!(back, spec);
    }

    #[test]
    fn validation() {
        assert!(CodecSpec::turboquant(0).validate().is_err());
        assert!(CodecSpec::turboquant(5).validate().is_err());
        assert!(CodecSpec::qjl(1).validate().is_ok());
        let mut f = CodecSpec::f32();
        f.bits = 8;
        assert!(f.validate().unwrap_err().to_string().contains("must be 32"));
    }
}
