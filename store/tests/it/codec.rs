//! The vector codecs through their public API: quantization error against
//! theory, unbiasedness of QJL, SIMD vs scalar scans, recall, filtering,
//! determinism and errors. (The speed reports are `#[ignore]`d unit tests in
//! `src/codec/reports.rs`.)

use hearth_store::StoreError;
use hearth_store::codec::{
    CodeTable, CodecKind, CodecSpec, RandomRotation, Rotation, RowMask, VectorCodec,
};
use proptest::prelude::*;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;

fn unit_vectors(n: usize, dim: usize, seed: u64) -> Vec<f32> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut out = Vec::with_capacity(n * dim);
    for _ in 0..n {
        let v: Vec<f32> = (0..dim).map(|_| rng.sample(StandardNormal)).collect();
        let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
        out.extend(v.iter().map(|x| x / norm));
    }
    out
}

fn dot(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

fn encode(codec: &VectorCodec, vectors: &[f32]) -> CodeTable {
    let mut table = codec.new_table();
    codec.encode_into(vectors, &mut table).unwrap();
    table
}

/// Mean squared reconstruction error per vector.
fn measured_mse(codec: &VectorCodec, vectors: &[f32]) -> f64 {
    let dim = codec.dim();
    let table = encode(codec, vectors);
    let n = table.len();
    (0..n)
        .map(|r| {
            let back = codec.decode(&table, r);
            let x = &vectors[r * dim..(r + 1) * dim];
            x.iter()
                .zip(&back)
                .map(|(a, b)| f64::from(a - b).powi(2))
                .sum::<f64>()
        })
        .sum::<f64>()
        / n as f64
}

fn all_specs() -> Vec<CodecSpec> {
    let mut specs = vec![CodecSpec::f32(), CodecSpec::int8()];
    for bits in 1..=4 {
        specs.push(CodecSpec::turboquant(bits));
        specs.push(CodecSpec::qjl(bits));
    }
    specs
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(6))]

    /// Measured d × MSE on random unit vectors is within 10% of the
    /// codebook's theoretical value, for b = 1…4.
    #[test]
    fn mse_matches_theory(seed in any::<u64>(), bits in 1u8..=4) {
        let dim = 384;
        let codec = VectorCodec::new(&CodecSpec::turboquant(bits).with_seed(seed), dim).unwrap();
        let theory = codec.codebook().unwrap().unit_mse();
        let got = measured_mse(&codec, &unit_vectors(300, dim, seed ^ 1));
        prop_assert!((got / theory - 1.0).abs() < 0.10, "b={}: {} vs {}", bits, got, theory);
    }

    /// Over random vectors and projection seeds, the QJL estimate's mean error
    /// is zero within 4 standard errors.
    #[test]
    fn qjl_is_unbiased(seed in any::<u64>(), bits in 1u8..=3) {
        let (dim, trials) = (64, 600);
        let (mean, se) = mean_error(CodecSpec::qjl(bits), dim, trials, seed);
        prop_assert!(mean.abs() < 4.0 * se, "b={}: mean error {} (se {})", bits, mean, se);
    }

    /// Fast-scan (u8 tables) and the scalar kernel give identical scores, and
    /// every score is within the documented table error of the exact estimate.
    #[test]
    fn simd_scan_matches_scalar_and_estimate(
        spec_index in 0usize..10,
        dim in prop::sample::select(vec![2usize, 7, 64, 100, 384]),
        n in 1usize..150,
        seed in any::<u64>(),
    ) {
        let spec = all_specs()[spec_index].clone().with_seed(seed);
        let mut codec = VectorCodec::new(&spec, dim).unwrap();
        let vectors = unit_vectors(n, dim, seed);
        let table = encode(&codec, &vectors);
        let query = codec.prepare(&unit_vectors(1, dim, !seed)).unwrap();
        let fast = codec.scan(&table, &query, n, None);
        codec.set_simd(false);
        let scalar = codec.scan(&table, &query, n, None);
        prop_assert_eq!(&fast, &scalar);
        prop_assert_eq!(fast.len(), n);
        for &(score, row) in &fast {
            let exact = codec.estimate(&table, &query, row as usize);
            let bound = codec.max_scan_error(&table, &query, row as usize);
            let slack = match spec.kind {
                CodecKind::Int8 => 0.02,
                _ => 1e-4,
            };
            prop_assert!((score - exact).abs() <= bound + slack,
                "{}: row {}: scan {} vs estimate {} (bound {})", spec.name(), row, score, exact, bound);
        }
    }
}

/// Mean and standard error of (estimate − ⟨q, x⟩) over `trials` random
/// pairs with ⟨q, x⟩ ≈ 0.8, each with its own codec seed.
fn mean_error(spec: CodecSpec, dim: usize, trials: usize, seed: u64) -> (f64, f64) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut errors = Vec::with_capacity(trials);
    for t in 0..trials {
        let x = unit_vectors(1, dim, rng.random());
        let noise = unit_vectors(1, dim, rng.random());
        let q: Vec<f32> = x
            .iter()
            .zip(&noise)
            .map(|(a, b)| 0.8 * a + 0.6 * b)
            .collect();
        let codec =
            VectorCodec::new(&spec.clone().with_seed(seed.wrapping_add(t as u64)), dim).unwrap();
        let table = encode(&codec, &x);
        let est = codec.estimate(&table, &codec.prepare(&q).unwrap(), 0);
        errors.push(f64::from(est - dot(&q, &x)));
    }
    let mean = errors.iter().sum::<f64>() / trials as f64;
    let var = errors.iter().map(|e| (e - mean).powi(2)).sum::<f64>() / (trials - 1) as f64;
    (mean, (var / trials as f64).sqrt())
}

#[test]
fn plain_turboquant_is_measurably_biased() {
    // The MSE quantizer shrinks inner products (≈ by 1 − MSE); QJL removes it.
    let (mean, se) = mean_error(CodecSpec::turboquant(2), 64, 600, 5);
    assert!(mean < -10.0 * se, "mean error {mean} (se {se})");
    let (mean, se) = mean_error(CodecSpec::qjl(2), 64, 600, 5);
    assert!(mean.abs() < 4.0 * se, "mean error {mean} (se {se})");
}

#[test]
fn dense_rotation_meets_theory_too() {
    let dim = 384;
    let vectors = unit_vectors(200, dim, 3);
    for bits in [2, 4] {
        let spec = CodecSpec::turboquant(bits).with_rotation(Rotation::Dense);
        let codec = VectorCodec::new(&spec, dim).unwrap();
        let theory = codec.codebook().unwrap().unit_mse();
        let got = measured_mse(&codec, &vectors);
        assert!(
            (got / theory - 1.0).abs() < 0.10,
            "b={bits}: {got} vs {theory}"
        );
    }
}

#[test]
fn odd_dimensions_work_for_every_kind() {
    for dim in [2, 3, 7, 33] {
        for spec in all_specs() {
            let codec = VectorCodec::new(&spec, dim).unwrap();
            let vectors = unit_vectors(40, dim, dim as u64);
            let table = encode(&codec, &vectors);
            assert_eq!(table.len(), 40);
            let mse = measured_mse(&codec, &vectors);
            // Reconstruction is better than nothing (‖x‖² = 1), except that
            // 1-bit QJL's reconstruction is unbiased but noisy.
            let limit = if spec.kind == CodecKind::TurboQuantQjl && spec.bits == 1 {
                3.0
            } else {
                0.7
            };
            assert!(mse < limit, "{} d={dim}: {mse}", spec.name());
            let q = codec.prepare(&vectors[..dim]).unwrap();
            assert_eq!(codec.scan(&table, &q, 100, None).len(), 40);
        }
    }
}

#[test]
fn rotations_are_orthogonal_and_deterministic() {
    for kind in [Rotation::Hadamard, Rotation::Dense] {
        for dim in [7, 64, 384] {
            let rot = RandomRotation::new(kind, dim, 9);
            let x = unit_vectors(1, dim, 4);
            let (mut y, mut back) = (vec![0.0; dim], vec![0.0; dim]);
            rot.forward(&x, &mut y);
            assert!((dot(&y, &y) - 1.0).abs() < 1e-5);
            rot.inverse(&y, &mut back);
            assert!(x.iter().zip(&back).all(|(a, b)| (a - b).abs() < 1e-5));
            let mut again = vec![0.0; dim];
            RandomRotation::new(kind, dim, 9).forward(&x, &mut again);
            assert_eq!(y, again);
        }
    }
}

/// FNV-1a over the bits of every decoded row.
fn fingerprint(codec: &VectorCodec, table: &CodeTable) -> u64 {
    let mut h = 0xcbf2_9ce4_8422_2325u64;
    for r in 0..table.len() {
        for v in codec.decode(table, r) {
            for byte in v.to_bits().to_le_bytes() {
                h = (h ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01b3);
            }
        }
    }
    h
}

#[test]
fn same_seed_same_codes_and_appends_equal_one_batch() {
    let dim = 100;
    let vectors = unit_vectors(75, dim, 8);
    for spec in all_specs() {
        let a = VectorCodec::new(&spec, dim).unwrap();
        let b = VectorCodec::new(&spec, dim).unwrap();
        let one = encode(&a, &vectors);
        // Appending in uneven pieces fills partial blocks the same way.
        let mut pieces = b.new_table();
        for range in [0..5, 5..45, 45..75] {
            b.encode_into(&vectors[range.start * dim..range.end * dim], &mut pieces)
                .unwrap();
        }
        assert_eq!(
            fingerprint(&a, &one),
            fingerprint(&b, &pieces),
            "{}",
            spec.name()
        );
        let q = a.prepare(&vectors[..dim]).unwrap();
        assert_eq!(a.scan(&one, &q, 10, None), b.scan(&pieces, &q, 10, None));
        assert_eq!(one.memory_bytes(), pieces.memory_bytes());
        if spec.is_quantized() {
            let other = VectorCodec::new(&spec.clone().with_seed(1), dim).unwrap();
            assert_ne!(
                fingerprint(&a, &one),
                fingerprint(&other, &encode(&other, &vectors))
            );
        }
    }
}

/// Inputs from a fixed xorshift stream (independent of any crate's
/// sampling algorithm).
fn golden_vectors(n: usize, dim: usize) -> Vec<f32> {
    let mut state = 0x2545_f491_4f6c_dd1du64;
    (0..n * dim)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 40) as f32 / (1u64 << 24) as f32 - 0.5
        })
        .collect()
}

/// Codes are a pure function of (vectors, spec): these fingerprints must
/// hold on every machine. A change here means existing code tables (and
/// anything persisted from them) are no longer compatible.
#[test]
fn codes_are_bit_identical_to_the_reference() {
    let dim = 96;
    let vectors = golden_vectors(40, dim);
    let mut got = Vec::new();
    for name in [
        "tq1",
        "tq2",
        "tq3",
        "tq4",
        "tq2-qjl",
        "tq4-qjl",
        "tq3-dense",
        "int8",
    ] {
        let codec = VectorCodec::new(&CodecSpec::parse(name).unwrap(), dim).unwrap();
        got.push((name, fingerprint(&codec, &encode(&codec, &vectors))));
    }
    let want: [u64; 8] = [
        0x54a8_9d7b_732e_3340,
        0xc13e_53b9_ab1e_fb74,
        0x2e74_5c56_f476_f04e,
        0xd603_d506_77f0_c54b,
        0xf738_fc94_9400_2d37,
        0x0048_bd66_e06b_389a,
        0xd6c4_84c4_64d5_371c,
        0x38fd_d3ce_0c70_3c0b,
    ];
    for ((name, g), w) in got.iter().zip(want) {
        assert_eq!(*g, w, "{name}: codes differ from the reference");
    }
}

#[test]
fn recall_with_planted_neighbours() {
    // 10k random unit vectors plus, per query, 10 planted neighbours at
    // similarities 0.35…0.8; the exact top 10 must be in the scan's top 100.
    let (dim, n) = (384, 10_000);
    let mut vectors = unit_vectors(n, dim, 11);
    let queries = unit_vectors(5, dim, 12);
    let noise = unit_vectors(50, dim, 13);
    for (qi, q) in queries.chunks(dim).enumerate() {
        for j in 0..10 {
            let s = 0.35 + 0.05 * j as f32;
            let e = &noise[(qi * 10 + j) * dim..(qi * 10 + j + 1) * dim];
            let row = (qi * 10 + j) * 97 + 13;
            for (k, v) in vectors[row * dim..(row + 1) * dim].iter_mut().enumerate() {
                *v = s * q[k] + (1.0 - s * s).sqrt() * e[k];
            }
        }
    }
    let codec = VectorCodec::new(&CodecSpec::turboquant(4), dim).unwrap();
    let table = encode(&codec, &vectors);
    for q in queries.chunks(dim) {
        let mut exact: Vec<(f32, usize)> =
            vectors.chunks(dim).map(|v| dot(v, q)).zip(0..).collect();
        exact.sort_by(|a, b| b.0.total_cmp(&a.0));
        let hits = codec.scan(&table, &codec.prepare(q).unwrap(), 100, None);
        assert_eq!(hits.len(), 100);
        assert!(hits.windows(2).all(|w| w[0].0 >= w[1].0));
        for &(_, row) in &exact[..10] {
            assert!(
                hits.iter().any(|&(_, r)| r as usize == row),
                "row {row} missed"
            );
        }
    }
}

#[test]
fn row_mask_filters() {
    let dim = 64;
    let n = 300;
    let vectors = unit_vectors(n, dim, 21);
    for spec in all_specs() {
        let codec = VectorCodec::new(&spec, dim).unwrap();
        let table = encode(&codec, &vectors);
        let q = codec.prepare(&vectors[..dim]).unwrap();
        let all = codec.scan(&table, &q, n, None);
        // Allowed: multiples of 7, and nothing at all in rows 32..96.
        let mut mask = RowMask::new(n);
        for r in (0..n).step_by(7).filter(|r| !(32..96).contains(r)) {
            mask.set(r, true);
        }
        let hits = codec.scan(&table, &q, n, Some(&mask));
        assert_eq!(hits.len(), mask.count());
        assert!(hits.iter().all(|&(_, r)| mask.get(r as usize)));
        let expected: Vec<_> = all
            .iter()
            .copied()
            .filter(|&(_, r)| mask.get(r as usize))
            .collect();
        assert_eq!(hits, expected, "{}", spec.name());
        assert_eq!(
            codec.scan(&table, &q, 5, Some(&mask)),
            expected[..5].to_vec()
        );
        assert!(
            codec
                .scan(&table, &q, 10, Some(&RowMask::new(n)))
                .is_empty()
        );
        // A mask shorter than the table disallows the rows beyond it.
        let short = codec.scan(&table, &q, n, Some(&RowMask::all(40)));
        assert_eq!(short.len(), 40);
        assert!(short.iter().all(|&(_, r)| r < 40));
        assert_eq!(codec.scan(&table, &q, n, Some(&RowMask::all(n))), all);
    }
}

#[test]
fn k_edge_cases_and_exact_baselines() {
    let dim = 48;
    let vectors = unit_vectors(70, dim, 31);
    let q = &unit_vectors(1, dim, 32)[..];
    let mut exact: Vec<(f32, u32)> = vectors.chunks(dim).map(|v| dot(v, q)).zip(0..).collect();
    exact.sort_by(|a, b| b.0.total_cmp(&a.0));
    for spec in all_specs() {
        let codec = VectorCodec::new(&spec, dim).unwrap();
        let empty = codec.new_table();
        assert!(empty.is_empty());
        let pq = codec.prepare(q).unwrap();
        assert!(codec.scan(&empty, &pq, 10, None).is_empty());
        let table = encode(&codec, &vectors);
        assert!(codec.scan(&table, &pq, 0, None).is_empty());
        let hits = codec.scan(&table, &pq, 1000, None);
        assert_eq!(hits.len(), 70);
        if spec.kind != CodecKind::TurboQuant && spec.kind != CodecKind::TurboQuantQjl {
            // f32 is exact, int8 nearly: same order on well-separated scores.
            let rows: Vec<u32> = hits.iter().map(|h| h.1).take(3).collect();
            let want: Vec<u32> = exact.iter().map(|h| h.1).take(3).collect();
            assert_eq!(rows, want, "{}", spec.name());
            let tol = if spec.kind == CodecKind::F32 {
                1e-5
            } else {
                0.02
            };
            for &(s, r) in &hits {
                assert!((s - exact.iter().find(|e| e.1 == r).unwrap().0).abs() < tol);
            }
        }
    }
}

#[test]
fn bytes_per_vector_are_honest() {
    let dim = 384;
    let n = 320;
    let vectors = unit_vectors(n, dim, 41);
    let expect = |spec: &CodecSpec| match spec.kind {
        CodecKind::F32 => 4 * dim,
        CodecKind::Int8 => dim + 4,
        CodecKind::TurboQuant => usize::from(spec.bits) * dim / 8 + 4,
        CodecKind::TurboQuantQjl => usize::from(spec.bits) * dim / 8 + 8,
    };
    for spec in all_specs() {
        let codec = VectorCodec::new(&spec, dim).unwrap();
        assert_eq!(codec.bytes_per_vector(), expect(&spec), "{}", spec.name());
        let table = encode(&codec, &vectors);
        assert_eq!(table.memory_bytes(), n * expect(&spec), "{}", spec.name());
    }
}

fn codec_error(result: Result<impl std::fmt::Debug, StoreError>) -> String {
    match result {
        Err(StoreError::Codec(msg)) => msg,
        other => panic!("expected a codec error, got {other:?}"),
    }
}

#[test]
fn errors_are_clear() {
    for bits in [0, 5] {
        for spec in [CodecSpec::turboquant(bits), CodecSpec::qjl(bits)] {
            let msg = codec_error(VectorCodec::new(&spec, 384));
            assert!(msg.contains("1, 2, 3 or 4"), "{msg}");
        }
    }
    assert!(codec_error(VectorCodec::new(&CodecSpec::turboquant(4), 1)).contains("dimension"));
    assert!(codec_error(VectorCodec::new(&CodecSpec::f32(), 0)).contains("dimension"));
    let codec = VectorCodec::new(&CodecSpec::turboquant(3), 8).unwrap();
    let msg = codec_error(codec.prepare(&[0.0; 7]));
    assert!(
        msg.contains("7 values") && msg.contains("dimension is 8"),
        "{msg}"
    );
    let mut table = codec.new_table();
    let msg = codec_error(codec.encode_into(&[0.5; 12], &mut table));
    assert!(msg.contains("12 values"), "{msg}");
    let mut bad = vec![0.5; 16];
    bad[11] = f32::NAN;
    let msg = codec_error(codec.encode_into(&bad, &mut table));
    assert!(
        msg.contains("vector 1") && msg.contains("coordinate 3"),
        "{msg}"
    );
    assert!(table.is_empty());
    let other = VectorCodec::new(&CodecSpec::turboquant(4), 8).unwrap();
    let msg = codec_error(other.encode_into(&[0.5; 8], &mut table));
    assert!(msg.contains("tq3") && msg.contains("tq4"), "{msg}");
    assert!(codec_error(CodecSpec::parse("tq9")).contains("tq1-qjl"));
}

#[test]
fn zero_and_scaled_vectors() {
    let dim = 32;
    for spec in all_specs() {
        let codec = VectorCodec::new(&spec, dim).unwrap();
        let mut vectors = vec![0.0f32; dim];
        vectors.extend(unit_vectors(1, dim, 5).iter().map(|v| v * 10.0));
        let table = encode(&codec, &vectors);
        assert!(codec.decode(&table, 0).iter().all(|&v| v == 0.0));
        let q = codec.prepare(&vectors[dim..]).unwrap();
        assert_eq!(codec.estimate(&table, &q, 0), 0.0);
        // Norms are kept: the estimate of ⟨10x, 10x⟩ is about 100.
        let est = codec.estimate(&table, &q, 1);
        assert!((est / 100.0 - 1.0).abs() < 0.5, "{}: {est}", spec.name());
    }
}
