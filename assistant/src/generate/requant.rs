//! Load-time conversion of weight types that candle 0.11 only has scalar CPU
//! kernels for (Q4_1, Q5_0, Q5_1) to Q8_0, which has AVX2 / NEON kernels.
//!
//! The pinned models need it: SmolLM2's file is Q4_1 throughout, and Qwen2.5's
//! "Q4_K_M" stores every matrix whose rows are not a multiple of 256 (hidden size
//! 896) as Q5_0. Measured on the 2-core x86 machine, the scalar dot products
//! were 84% of Qwen's decode time. Q8_0 keeps 8 bits per weight where the
//! source has 4–5, so the conversion is close to lossless (its rounding error is
//! ~16× below the source's), at the cost of more memory for those tensors.
//!
//! The converted tensors live in memory behind an `Overlay` reader: offsets
//! past the end of the file read from the buffer, so candle's `from_gguf` loads
//! the untouched tensors from the file and the converted ones from memory.

use crate::AssistantError;
use candle_core::Device;
use candle_core::quantized::{GgmlDType, QTensor, gguf_file};
use rayon::prelude::*;
use std::io::{Read, Seek, SeekFrom};

/// Whether tensors of `dtype` are converted.
pub(crate) fn needs_conversion(dtype: GgmlDType) -> bool {
    matches!(dtype, GgmlDType::Q4_1 | GgmlDType::Q5_0 | GgmlDType::Q5_1)
}

/// A GGUF file plus converted tensor data appended (virtually) after its end.
pub(crate) struct Overlay<R> {
    file: R,
    file_len: u64,
    /// Where `file` is positioned, when known (saves a seek per read).
    file_pos: Option<u64>,
    extra: Vec<u8>,
    pos: u64,
}

impl<R: Read + Seek> Overlay<R> {
    fn total_len(&self) -> u64 {
        self.file_len + self.extra.len() as u64
    }
}

impl<R: Read + Seek> Read for Overlay<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.pos < self.file_len {
            let room = usize::try_from(self.file_len - self.pos).unwrap_or(usize::MAX);
            let len = buf.len().min(room);
            if self.file_pos != Some(self.pos) {
                self.file.seek(SeekFrom::Start(self.pos))?;
            }
            let n = self.file.read(&mut buf[..len])?;
            self.pos += n as u64;
            self.file_pos = Some(self.pos);
            return Ok(n);
        }
        let start = usize::try_from(self.pos - self.file_len).unwrap_or(usize::MAX);
        let Some(rest) = self.extra.get(start..) else {
            return Ok(0);
        };
        let n = buf.len().min(rest.len());
        buf[..n].copy_from_slice(&rest[..n]);
        self.pos += n as u64;
        Ok(n)
    }
}

impl<R: Read + Seek> Seek for Overlay<R> {
    fn seek(&mut self, to: SeekFrom) -> std::io::Result<u64> {
        let target = match to {
            SeekFrom::Start(p) => Some(p),
            SeekFrom::End(d) => self.total_len().checked_add_signed(d),
            SeekFrom::Current(d) => self.pos.checked_add_signed(d),
        };
        let target = target.ok_or_else(|| {
            std::io::Error::new(std::io::ErrorKind::InvalidInput, "seek out of range")
        })?;
        self.pos = target;
        Ok(target)
    }
}

/// Converts the slow-typed matrices of `content` to Q8_0. Returns the content
/// with their tensor infos pointing into the overlay, and the overlay reader.
/// `skip` names tensors to leave as they are (e.g. an embedding table candle
/// dequantizes to f32 anyway).
pub(crate) fn convert<R: Read + Seek>(
    mut content: gguf_file::Content,
    mut file: R,
    skip: &dyn Fn(&str) -> bool,
) -> Result<(gguf_file::Content, Overlay<R>, usize), AssistantError> {
    let file_len = file
        .seek(SeekFrom::End(0))
        .map_err(|e| AssistantError::Generation(format!("seeking in the model file: {e}")))?;
    let mut names: Vec<String> = content
        .tensor_infos
        .iter()
        .filter(|(name, info)| needs_conversion(info.ggml_dtype) && !skip(name))
        .map(|(name, _)| name.clone())
        .collect();
    names.sort();
    let mut extra = Vec::new();
    let base = file_len
        .checked_sub(content.tensor_data_offset)
        .ok_or_else(|| AssistantError::Generation("tensor data starts past the end".into()))?;
    // Read sequentially (one file handle), convert in parallel.
    let raw = names
        .iter()
        .map(|name| content.tensor(&mut file, name, &Device::Cpu))
        .collect::<Result<Vec<_>, _>>()?;
    let converted = raw
        .par_iter()
        .map(requantize)
        .collect::<Result<Vec<_>, _>>()?;
    drop(raw);
    extra.reserve_exact(converted.iter().map(QTensor::storage_size_in_bytes).sum());
    for (name, converted) in names.iter().zip(&converted) {
        let data = converted.data()?;
        let info = content
            .tensor_infos
            .get_mut(name)
            .ok_or_else(|| AssistantError::Generation(format!("tensor {name} vanished")))?;
        info.ggml_dtype = GgmlDType::Q8_0;
        info.offset = base + extra.len() as u64;
        extra.extend_from_slice(&data);
    }
    let overlay = Overlay {
        file,
        file_len,
        file_pos: None,
        extra,
        pos: 0,
    };
    Ok((content, overlay, names.len()))
}

/// `q` as Q8_0 (its last dimension is a multiple of 32 in every source type).
fn requantize(q: &QTensor) -> Result<QTensor, AssistantError> {
    let dense = q.dequantize(&Device::Cpu)?;
    Ok(QTensor::quantize(&dense, GgmlDType::Q8_0)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Tensor;
    use std::io::Cursor;

    #[test]
    fn overlay_reads_across_the_seam() {
        let mut o = Overlay {
            file: Cursor::new(vec![1u8, 2, 3]),
            file_len: 3,
            file_pos: None,
            extra: vec![4, 5],
            pos: 0,
        };
        assert_eq!(o.seek(SeekFrom::End(0)).unwrap(), 5);
        o.seek(SeekFrom::Start(1)).unwrap();
        let mut buf = [0u8; 4];
        o.read_exact(&mut buf).unwrap();
        assert_eq!(buf, [2, 3, 4, 5]);
        assert_eq!(o.read(&mut buf).unwrap(), 0);
        assert!(o.seek(SeekFrom::Current(-10)).is_err());
    }

    #[test]
    fn a_gguf_tensor_is_converted_and_read_back() {
        // Write a small GGUF with one Q4_1 and one F32 tensor, convert, reload.
        let values: Vec<f32> = (0..64 * 8)
            .map(|i| ((i * 37) % 101) as f32 / 50.0 - 1.0)
            .collect();
        let dense = Tensor::from_vec(values, (8, 64), &Device::Cpu).unwrap();
        let q41 = QTensor::quantize(&dense, GgmlDType::Q4_1).unwrap();
        let f32t = QTensor::quantize(&dense, GgmlDType::F32).unwrap();
        let mut file = Cursor::new(Vec::new());
        gguf_file::write(&mut file, &[], &[("w", &q41), ("n", &f32t)]).unwrap();
        file.set_position(0);
        let content = gguf_file::Content::read(&mut file).unwrap();
        let (content, mut overlay, n) = convert(content, file, &|_| false).unwrap();
        assert_eq!(n, 1);
        let w = content.tensor(&mut overlay, "w", &Device::Cpu).unwrap();
        assert_eq!(w.dtype(), GgmlDType::Q8_0);
        let nn = content.tensor(&mut overlay, "n", &Device::Cpu).unwrap();
        assert_eq!(nn.dtype(), GgmlDType::F32);
        let before: Vec<f32> = q41
            .dequantize(&Device::Cpu)
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1()
            .unwrap();
        let after: Vec<f32> = w
            .dequantize(&Device::Cpu)
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1()
            .unwrap();
        let worst = before
            .iter()
            .zip(&after)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0f32, f32::max);
        assert!(worst < 0.01, "{worst}");
    }
}
