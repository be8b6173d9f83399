//! Speed and quality reports, `#[ignore]`d unit tests to run by hand in
//! release mode (no timing assertions):
//!
//! ```text
//! cargo test --release -p hearth-store --lib -- --ignored scan_speed --nocapture
//! cargo test --release -p hearth-store --lib -- --ignored rotation_report --nocapture
//! ```
//!
//! Their output is summarised in the docs of the `codec` module and of
//! `hearth_quant::rotation`.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;

use super::{CodeTable, CodecSpec, RandomRotation, Rotation, RowMask, VectorCodec};

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
    codec
        .encode_into(vectors, &mut table)
        .expect("valid test vectors");
    table
}

/// Mean squared reconstruction error per vector.
fn measured_mse(codec: &VectorCodec, vectors: &[f32]) -> f64 {
    let dim = codec.dim();
    let table = encode(codec, vectors);
    (0..table.len())
        .map(|r| {
            let back = codec.decode(&table, r);
            vectors[r * dim..(r + 1) * dim]
                .iter()
                .zip(&back)
                .map(|(a, b)| f64::from(a - b).powi(2))
                .sum::<f64>()
        })
        .sum::<f64>()
        / table.len() as f64
}

/// Cheap pseudo-random unit-ish vectors for the speed report.
fn fast_vectors(n: usize, dim: usize) -> Vec<f32> {
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let scale = (3.0 / dim as f32).sqrt();
    (0..n * dim)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            ((state >> 40) as f32 / (1u64 << 24) as f32 * 2.0 - 1.0) * scale
        })
        .collect()
}

#[test]
#[ignore = "speed report: run in release with --nocapture"]
fn scan_speed() {
    let (dim, n) = (384, 1_000_000);
    let vectors = fast_vectors(n, dim);
    let queries = fast_vectors(20, dim);
    println!("threads: {}", rayon::current_num_threads());
    for name in [
        "tq1", "tq2", "tq3", "tq4", "tq2-qjl", "tq3-qjl", "tq4-qjl", "int8", "f32",
    ] {
        let codec = VectorCodec::new(&CodecSpec::parse(name).unwrap(), dim).unwrap();
        let t = std::time::Instant::now();
        let table = encode(&codec, &vectors);
        let encode_s = t.elapsed().as_secs_f64();
        let prepared: Vec<_> = queries
            .chunks(dim)
            .map(|q| codec.prepare(q).unwrap())
            .collect();
        let mut times = Vec::new();
        for q in &prepared {
            let t = std::time::Instant::now();
            let hits = codec.scan(&table, q, 100, None);
            times.push(t.elapsed().as_secs_f64() * 1e3);
            assert_eq!(hits.len(), 100);
        }
        times.sort_by(f64::total_cmp);
        let half = RowMask::all(n);
        let mut sparse = RowMask::new(n);
        for r in (0..n).step_by(1000) {
            sparse.set(r, true);
        }
        let t = std::time::Instant::now();
        codec.scan(&table, &prepared[0], 100, Some(&half));
        let masked_all = t.elapsed().as_secs_f64() * 1e3;
        let t = std::time::Instant::now();
        codec.scan(&table, &prepared[0], 100, Some(&sparse));
        let masked_sparse = t.elapsed().as_secs_f64() * 1e3;
        println!(
            "{name:8} {:5} B/vec  encode {encode_s:6.2} s  scan median {:6.2} ms  min {:6.2} ms  \
             (mask all {masked_all:.2} ms, 0.1% {masked_sparse:.2} ms)",
            codec.bytes_per_vector(),
            times[times.len() / 2],
            times[0],
        );
    }
}

#[test]
#[ignore = "rotation report: run in release with --nocapture"]
fn rotation_report() {
    let (dim, n) = (384, 2000);
    let random = unit_vectors(n, dim, 1);
    // Embedding-like: a shared direction plus a few strong components plus noise.
    let mut rng = ChaCha8Rng::seed_from_u64(2);
    let basis = unit_vectors(8, dim, 3);
    let mean = unit_vectors(1, dim, 4);
    let mut aniso = Vec::with_capacity(n * dim);
    for _ in 0..n {
        let w: Vec<f32> = (0..8)
            .map(|_| rng.sample::<f32, _>(StandardNormal) * 0.5)
            .collect();
        let mut v: Vec<f32> = (0..dim)
            .map(|j| 0.8 * mean[j] + 0.05 * rng.sample::<f32, _>(StandardNormal))
            .collect();
        for (k, wk) in w.iter().enumerate() {
            for (j, x) in v.iter_mut().enumerate() {
                *x += wk * basis[k * dim + j];
            }
        }
        let norm = dot(&v, &v).sqrt();
        aniso.extend(v.iter().map(|x| x / norm));
    }
    // Sparse: 4 non-zero coordinates.
    let mut sparse = vec![0.0f32; n * dim];
    for r in 0..n {
        for k in 0..4 {
            sparse[r * dim + (r * 31 + k * 97) % dim] = if k % 2 == 0 { 0.5 } else { -0.5 };
        }
    }
    for bits in [2, 4] {
        for rotation in [Rotation::Dense, Rotation::Hadamard] {
            let spec = CodecSpec::turboquant(bits).with_rotation(rotation);
            let codec = VectorCodec::new(&spec, dim).unwrap();
            let theory = codec.codebook().unwrap().unit_mse();
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(1)
                .build()
                .unwrap();
            // Best of 5 (after a warm-up), one thread.
            let mut encode_us = f64::MAX;
            for _ in 0..6 {
                let t = std::time::Instant::now();
                pool.install(|| encode(&codec, &random));
                encode_us = encode_us.min(t.elapsed().as_secs_f64() * 1e6 / n as f64);
            }
            let rot = RandomRotation::new(rotation, dim, 1);
            let mut out = vec![0.0; dim];
            let mut rotate_us = f64::MAX;
            for _ in 0..5 {
                let t = std::time::Instant::now();
                for x in random.chunks(dim) {
                    rot.forward(x, &mut out);
                }
                rotate_us = rotate_us.min(t.elapsed().as_secs_f64() * 1e6 / n as f64);
            }
            println!(
                "b={bits} {rotation:?}: theory {theory:.5}  random {:.5}  embedding-like {:.5}  \
                 sparse {:.5}  encode {encode_us:.1} µs/vector, rotation alone {rotate_us:.1} µs \
                 (1 thread)",
                measured_mse(&codec, &random),
                measured_mse(&codec, &aniso),
                measured_mse(&codec, &sparse),
            );
        }
    }
}
