//! Weight formats for the encoder's linear layers ([`WeightFormat`]), and the
//! candle linear layer of the reference model: f32, or weights quantized at load
//! time into candle's GGML block formats and multiplied with `QMatMul`
//! (activations quantized on the fly to 8-bit blocks, dot products in integer
//! SIMD picked at run time from the CPU's features).
//!
//! Block sizes decide which formats fit which layer: Q8_0 and Q4_0 use blocks of
//! 32 along the input dimension (384 and 1536 both divide), the k-quant Q4_K uses
//! super-blocks of 256, which only the 1536-wide feed-forward down-projection
//! allows; [`WeightFormat::CandleQ4K`] therefore stores that layer as Q4_K and the
//! 384-wide ones as Q4_0.

use candle_core::quantized::{GgmlDType, QMatMul, QTensor};
use candle_core::{Module, Result, Tensor};
use candle_nn::{Linear, VarBuilder};
use std::fmt;
use std::str::FromStr;

/// How the encoder's linear-layer weights are held, and which runtime runs them.
///
/// `f32` and `int8` run on Hearth's own encoder ([`crate::encoder::Encoder`]);
/// the `candle-*` formats run the reference BERT on candle, with weights in
/// candle's GGML block formats — kept as the reference and for comparison.
///
/// ```
/// use hearth_embed::WeightFormat;
/// let f: WeightFormat = "int8".parse().unwrap();
/// assert_eq!(f, WeightFormat::Int8);
/// assert_eq!(WeightFormat::CandleQ8_0.to_string(), "candle-q8_0");
/// assert!("q3".parse::<WeightFormat>().is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum WeightFormat {
    /// Own encoder, f32 weights: the fast full-precision path.
    F32,
    /// Own encoder, int8 weights per output channel and int8 activations per token.
    #[default]
    Int8,
    /// Reference: candle BERT in f32, the model as published.
    CandleF32,
    /// candle BERT, 8-bit blocks of 32 with one f16 scale (8.5 bits per weight).
    CandleQ8_0,
    /// candle BERT, 4-bit blocks of 32 with one f16 scale (4.5 bits per weight).
    CandleQ4_0,
    /// candle BERT, 4-bit k-quant (super-blocks of 256) where the input width
    /// allows, Q4_0 elsewhere.
    CandleQ4K,
}

impl WeightFormat {
    /// Every format.
    pub const ALL: [WeightFormat; 6] = [
        Self::F32,
        Self::Int8,
        Self::CandleF32,
        Self::CandleQ8_0,
        Self::CandleQ4_0,
        Self::CandleQ4K,
    ];

    /// The config spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::F32 => "f32",
            Self::Int8 => "int8",
            Self::CandleF32 => "candle-f32",
            Self::CandleQ8_0 => "candle-q8_0",
            Self::CandleQ4_0 => "candle-q4_0",
            Self::CandleQ4K => "candle-q4k",
        }
    }

    /// True when the weights are stored in full precision.
    pub fn is_full_precision(self) -> bool {
        matches!(self, Self::F32 | Self::CandleF32)
    }

    /// The GGML block type of a candle layer whose input width is `in_features`,
    /// or `None` for f32 (and for the own-encoder formats).
    pub fn ggml_type(self, in_features: usize) -> Option<GgmlDType> {
        match self {
            Self::F32 | Self::Int8 | Self::CandleF32 => None,
            Self::CandleQ8_0 => Some(GgmlDType::Q8_0),
            Self::CandleQ4_0 => Some(GgmlDType::Q4_0),
            Self::CandleQ4K if in_features.is_multiple_of(GgmlDType::Q4K.block_size()) => {
                Some(GgmlDType::Q4K)
            }
            Self::CandleQ4K => Some(GgmlDType::Q4_0),
        }
    }
}

impl fmt::Display for WeightFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A weight format name that is not one of [`WeightFormat::ALL`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownWeightFormat(pub String);

impl fmt::Display for UnknownWeightFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = WeightFormat::ALL.iter().map(|w| w.as_str()).collect();
        write!(
            f,
            "unknown weight format `{}` (expected one of {})",
            self.0,
            names.join(", ")
        )
    }
}

impl std::error::Error for UnknownWeightFormat {}

impl FromStr for WeightFormat {
    type Err = UnknownWeightFormat;

    fn from_str(s: &str) -> std::result::Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "f32" => Ok(Self::F32),
            "int8" | "i8" => Ok(Self::Int8),
            "candle-f32" => Ok(Self::CandleF32),
            "candle-q8_0" => Ok(Self::CandleQ8_0),
            "candle-q4_0" => Ok(Self::CandleQ4_0),
            "candle-q4k" | "candle-q4_k" => Ok(Self::CandleQ4K),
            _ => Err(UnknownWeightFormat(s.to_owned())),
        }
    }
}

/// A linear layer `y = x·Wᵀ + b` in one of the [`WeightFormat`]s.
pub(crate) enum QLinear {
    F32(Linear),
    Quantized { weight: QMatMul, bias: Tensor },
}

impl QLinear {
    /// Loads `weight` (`out × in`) and `bias` under `vb` and converts them to `format`.
    pub(crate) fn load(
        in_features: usize,
        out_features: usize,
        format: WeightFormat,
        vb: VarBuilder<'_>,
    ) -> Result<Self> {
        let linear = candle_nn::linear(in_features, out_features, vb)?;
        let Some(dtype) = format.ggml_type(in_features) else {
            return Ok(Self::F32(linear));
        };
        let bias = linear
            .bias()
            .cloned()
            .ok_or_else(|| candle_core::Error::Msg("linear layer without bias".into()))?;
        let q = QTensor::quantize(linear.weight(), dtype)?;
        Ok(Self::Quantized {
            weight: QMatMul::from_qtensor(q)?,
            bias,
        })
    }
}

impl QLinear {
    /// Bytes the weight and bias occupy in memory.
    pub(crate) fn bytes(&self) -> usize {
        match self {
            Self::F32(linear) => {
                let bias = linear.bias().map_or(0, |b| b.elem_count());
                4 * (linear.weight().elem_count() + bias)
            }
            Self::Quantized { weight, bias } => {
                let w = match weight {
                    QMatMul::QTensor(q) => q.storage_size_in_bytes(),
                    QMatMul::Tensor(t) | QMatMul::TensorF16(t) => {
                        t.elem_count() * t.dtype().size_in_bytes()
                    }
                };
                w + 4 * bias.elem_count()
            }
        }
    }
}

impl Module for QLinear {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        match self {
            Self::F32(linear) => linear.forward(x),
            Self::Quantized { weight, bias } => weight.forward(x)?.broadcast_add(bias),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::{DType, Device};
    use candle_nn::VarMap;

    fn layer(format: WeightFormat, inp: usize, out: usize) -> (QLinear, Linear) {
        let map = VarMap::new();
        let vb = VarBuilder::from_varmap(&map, DType::F32, &Device::Cpu);
        let reference = candle_nn::linear(inp, out, vb.clone()).unwrap();
        (QLinear::load(inp, out, format, vb).unwrap(), reference)
    }

    /// Relative error of a quantized layer against the f32 one on random input.
    fn relative_error(format: WeightFormat, inp: usize, out: usize) -> f32 {
        let (q, reference) = layer(format, inp, out);
        let x = Tensor::randn(0f32, 1.0, (2, 7, inp), &Device::Cpu).unwrap();
        let want = reference.forward(&x).unwrap();
        let got = q.forward(&x).unwrap();
        assert_eq!(got.dims(), &[2, 7, out]);
        let err = (got - &want).unwrap().sqr().unwrap().sum_all().unwrap();
        let norm = want.sqr().unwrap().sum_all().unwrap();
        (err.to_scalar::<f32>().unwrap() / norm.to_scalar::<f32>().unwrap()).sqrt()
    }

    #[test]
    fn f32_layer_is_exact() {
        assert_eq!(relative_error(WeightFormat::CandleF32, 64, 32), 0.0);
    }

    #[test]
    fn quantized_layers_stay_close_to_f32() {
        // 8-bit blocks lose well under 1%; 4-bit ones a few percent.
        assert!(relative_error(WeightFormat::CandleQ8_0, 384, 96) < 0.01);
        assert!(relative_error(WeightFormat::CandleQ4_0, 384, 96) < 0.15);
        assert!(relative_error(WeightFormat::CandleQ4K, 1536, 64) < 0.15);
        assert!(relative_error(WeightFormat::CandleQ4K, 384, 64) < 0.15);
    }

    #[test]
    fn q4k_falls_back_where_the_width_does_not_divide() {
        assert_eq!(
            WeightFormat::CandleQ4K.ggml_type(1536),
            Some(GgmlDType::Q4K)
        );
        assert_eq!(
            WeightFormat::CandleQ4K.ggml_type(384),
            Some(GgmlDType::Q4_0)
        );
        assert_eq!(WeightFormat::CandleF32.ggml_type(384), None);
    }
}
