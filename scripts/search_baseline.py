#!/usr/bin/env python3
r"""Outside baseline for `hearth bench search`: faiss (CPU, PyPI `faiss-cpu`).

Reads the same vectors and exact ground truth the bench uses, builds each faiss
index configuration (inner-product metric throughout), and answers the queries
one at a time (batch size 1, as an interactive search does). Per configuration
it prints one JSON line on stdout:

  {"library", "config", "n", "recall_at_k", "k", "p50_ms", "p95_ms",
   "bytes_per_vector", "build_s", "note", ...}

with recall@k = |returned top-k & exact top-k| / k averaged over the queries,
latency percentiles of the single-query calls, build_s the wall time of training
(on a sample of at most 50k base vectors, included) plus adding all n vectors,
and bytes_per_vector the size of the serialized index (faiss.write_index,
counted without writing it anywhere) divided by n: everything the index keeps in
memory, ids, graph links and trained tables included. The bare code size
(index.sa_code_size()) is also given, as code_bytes_per_vector. Progress goes to
stderr. Extra fields: code_bytes_per_vector, label, queries (how many were
searched: see --search-budget-s), threads, simd (the SIMD level faiss
dispatched to), loadavg (1-minute load average when the config's search began;
above the core count, other processes competed and timings are inflated).

Each configuration searches the queries in order until all are done or
--search-budget-s seconds (default 20) of searching have passed, whichever
comes first, but at least 100 queries; recall and latency are over that prefix.
This keeps the exhaustive configurations (flat, sq8: 0.1-0.4 s per query at 1M
x 384) from dominating the run. Use --search-budget-s 0 for every query.

Configurations (--configs, comma-separated):
  flat                IndexFlatIP, exact.
  sq8                 IndexScalarQuantizer QT_8bit (1 byte per dimension).
  pq-fastscan         IndexPQFastScan, M = dim/2 sub-quantizers of 4 bits
                      (2 dimensions per 4-bit code: dim/4 bytes, 1/16 of f32).
  pq-fastscan+refine  the same, wrapped in IndexRefineFlat (k_factor 10: 10k
                      fast-scan candidates re-ranked with the f32 vectors, which
                      the index keeps in memory).
  ivfpq               IndexIVFPQ, nlist = the power of two nearest sqrt(n) (at
                      most sample/39), PQ with dim/4 sub-quantizers of 8 bits
                      (same code size as pq-fastscan); nprobe 16 and 64, one line
                      each (ivfpq-nprobe16, ivfpq-nprobe64), one build. Not in
                      the default: training and encoding took 162 s at 1M on 2
                      cores (with other work on the machine).
  hnsw                IndexHNSWFlat M=32, efConstruction 40; efSearch 64 and 128,
                      one line each (hnsw-ef64, hnsw-ef128), one build.
Default: flat,sq8,pq-fastscan,pq-fastscan+refine, plus hnsw when
n <= 200,000. The HNSW build is left out above that because it dominates the
run on a small machine (measured on 2 cores, d = 384: 11.5 s at 100k, 471 s at
1M with other work on the machine, ~350 CPU-seconds); ask for it explicitly
with --configs to include it.

Threads: faiss.omp_set_num_threads(--threads). faiss parallelises the
exhaustive indexes (flat, sq8, pq-fastscan) and HNSW over queries, so a single
query runs on one thread; ivfpq is set to parallel_mode 1 (over the probed
lists) so that a single query uses the threads. Training and adding use all
threads. Latency is taken around the index's search_c call (no numpy allocation
per query), after 10 untimed warm-up queries.

    python scripts/search_baseline.py --base BASE.f32 --queries QUERIES.f32 \
        --dim 384 --gt GT.i32 --k 10 --threads 2 [--configs flat,ivfpq,...] \
        [--label 100k] [--max-queries N] [--search-budget-s 20]

BASE.f32, QUERIES.f32: little-endian float32, rows of dim (unit vectors).
GT.i32: little-endian int32, queries x k, exact top-k base row ids per query.
"""
import argparse
import json
import math
import os
import sys
import time

import faiss
import numpy as np

TRAIN_SAMPLE = 50_000
HNSW_DEFAULT_MAX_N = 200_000
ALL_CONFIGS = ["flat", "sq8", "pq-fastscan", "pq-fastscan+refine", "ivfpq", "hnsw"]
DEFAULT_CONFIGS = ["flat", "sq8", "pq-fastscan", "pq-fastscan+refine", "hnsw"]
WARMUP = 10
MIN_QUERIES = 100


def fail(msg):
    sys.exit(f"search_baseline.py: error: {msg}")


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def read_matrix(path, dtype, cols, what):
    try:
        size = os.path.getsize(path)
    except OSError as e:
        fail(f"cannot read {what} {path}: {e.strerror}")
    row = cols * np.dtype(dtype).itemsize
    if size == 0 or size % row:
        fail(
            f"{what} {path} is {size} bytes, not a positive multiple of "
            f"{cols} x {np.dtype(dtype).itemsize} = {row} bytes per row"
        )
    return np.fromfile(path, dtype=dtype).reshape(-1, cols)


def load(args):
    if args.dim <= 0 or args.k <= 0 or args.threads <= 0:
        fail("--dim, --k and --threads must be positive")
    base = np.ascontiguousarray(read_matrix(args.base, "<f4", args.dim, "base"), dtype=np.float32)
    queries = np.ascontiguousarray(read_matrix(args.queries, "<f4", args.dim, "queries"), dtype=np.float32)
    n, q = len(base), len(queries)
    if args.k > n:
        fail(f"--k {args.k} exceeds the {n} base vectors")
    try:
        size = os.path.getsize(args.gt)
    except OSError as e:
        fail(f"cannot read gt {args.gt}: {e.strerror}")
    if size != q * args.k * 4:
        hint = ""
        if size % (4 * q) == 0 and size > 0:
            hint = f" (it looks like {q} x {size // (4 * q)}: is --k right?)"
        fail(
            f"gt {args.gt} is {size} bytes = {size / 4:g} int32, expected queries x k = "
            f"{q} x {args.k} = {q * args.k} int32 ({q * args.k * 4} bytes){hint}"
        )
    gt = np.fromfile(args.gt, dtype="<i4").reshape(q, args.k)
    if gt.min() < 0 or gt.max() >= n:
        fail(f"gt {args.gt} holds row ids outside [0, {n}) (min {gt.min()}, max {gt.max()})")
    if not (np.isfinite(base).all() and np.isfinite(queries).all()):
        fail("base or queries hold NaN or infinite values")
    norms = np.linalg.norm(base[:: max(1, n // 10_000)], axis=1)
    if abs(norms.mean() - 1) > 1e-2:
        log(f"warning: base vectors are not unit length (mean norm {norms.mean():.4f}); inner product is used as is")
    if args.max_queries and args.max_queries < q:
        queries, gt = queries[: args.max_queries], gt[: args.max_queries]
    return base, np.ascontiguousarray(queries), gt


def train_sample(base):
    n = len(base)
    if n <= TRAIN_SAMPLE:
        return base
    rows = np.sort(np.random.default_rng(0).choice(n, TRAIN_SAMPLE, replace=False))
    return np.ascontiguousarray(base[rows])


def serialized_bytes(index):
    total = 0

    def count(buf):
        nonlocal total
        total += len(buf)

    writer = faiss.PyCallbackIOWriter(count, 1 << 24)
    faiss.write_index(index, writer)
    del writer
    return total


def code_bytes(index):
    try:
        return index.sa_code_size()
    except RuntimeError:
        return None


def measure(index, queries, gt, k, budget_s, params=None):
    """Batch-1 search of the queries in order, until all are done or budget_s
    seconds of searching have passed (but at least MIN_QUERIES); returns
    (queries used, recall, p50_ms, p95_ms)."""
    q = len(queries)
    dist = np.empty((1, k), dtype=np.float32)
    ids = np.empty((1, k), dtype=np.int64)
    dptr, iptr = faiss.swig_ptr(dist), faiss.swig_ptr(ids)
    for i in range(min(WARMUP, q)):
        index.search_c(1, faiss.swig_ptr(queries[i]), k, dptr, iptr, params)
    times = []
    hits = 0
    spent = 0.0
    for i in range(q):
        x = faiss.swig_ptr(queries[i])
        t = time.perf_counter()
        index.search_c(1, x, k, dptr, iptr, params)
        times.append(time.perf_counter() - t)
        spent += times[-1]
        hits += len(set(ids[0].tolist()) & set(gt[i].tolist()))
        if budget_s and spent > budget_s and i + 1 >= MIN_QUERIES:
            break
    m = len(times)
    return m, hits / (m * k), 1e3 * np.percentile(times, 50), 1e3 * np.percentile(times, 95)


class Runner:
    def __init__(self, args, base, queries, gt):
        self.args, self.base, self.queries, self.gt = args, base, queries, gt
        self.n, self.d = base.shape
        self.simd = faiss.SIMDConfig.get_level_name() if hasattr(faiss, "SIMDConfig") else "?"
        self._sample = None
        self._pq = None  # (index, build_s) kept for pq-fastscan+refine
        self.done = set()

    def sample(self):
        if self._sample is None:
            self._sample = train_sample(self.base)
        return self._sample

    def emit(self, config, index, build_s, note, params=None):
        a = self.args
        log(f"[{a.label or self.n}] {config}: searching {len(self.queries)} queries one at a time…")
        t = time.perf_counter()
        busy = os.getloadavg()[0]
        used, recall, p50, p95 = measure(index, self.queries, self.gt, a.k, a.search_budget_s, params)
        log(
            f"[{a.label or self.n}] {config}: recall@{a.k} {recall:.4f}, p50 {p50:.3f} ms, p95 {p95:.3f} ms "
            f"over {used} queries, {time.perf_counter() - t:.1f} s"
        )
        code = code_bytes(index)
        line = {
            "library": f"faiss {faiss.__version__}",
            "config": config,
            "n": self.n,
            "recall_at_k": round(recall, 5),
            "k": a.k,
            "p50_ms": round(p50, 4),
            "p95_ms": round(p95, 4),
            "bytes_per_vector": round(self.index_bytes / self.n, 2),
            "build_s": round(build_s, 3),
            "note": note
            + "; bytes_per_vector = faiss.write_index size / n"
            + (f", sa_code_size() = {code} B" if code is not None else ""),
            "code_bytes_per_vector": code,
            "label": a.label,
            "queries": used,
            "threads": a.threads,
            "simd": self.simd,
            "loadavg": round(busy, 2),
        }
        print(json.dumps(line), flush=True)

    def build(self, config, make, train=True):
        log(f"[{self.args.label or self.n}] {config}: building…")
        t = time.perf_counter()
        index = make()
        if train and not index.is_trained:
            index.train(self.sample())
        index.add(self.base)
        build_s = time.perf_counter() - t
        log(f"[{self.args.label or self.n}] {config}: built in {build_s:.1f} s")
        t = time.perf_counter()
        self.index_bytes = serialized_bytes(index)
        log(f"[{self.args.label or self.n}] {config}: {self.index_bytes / 1e6:.1f} MB serialized ({time.perf_counter() - t:.1f} s)")
        return index, build_s

    def sample_note(self):
        return f"trained on {len(self.sample())} sampled base vectors (in build_s)"

    def run_flat(self):
        index, b = self.build("flat", lambda: faiss.IndexFlatIP(self.d))
        self.emit("flat", index, b, "IndexFlatIP, exact; a single query runs on one thread")

    def run_sq8(self):
        make = lambda: faiss.IndexScalarQuantizer(self.d, faiss.ScalarQuantizer.QT_8bit, faiss.METRIC_INNER_PRODUCT)
        index, b = self.build("sq8", make)
        self.emit("sq8", index, b, f"IndexScalarQuantizer QT_8bit IP, {self.sample_note()}; a single query runs on one thread")

    def pq_m(self):
        m = self.d // 2
        while self.d % m:
            m -= 1
        return m

    def pq_index(self):
        if self._pq is None:
            m = self.pq_m()
            make = lambda: faiss.IndexPQFastScan(self.d, m, 4, faiss.METRIC_INNER_PRODUCT)
            self._pq = self.build("pq-fastscan", make)
        return self._pq

    def pq_note(self):
        m = self.pq_m()
        return f"IndexPQFastScan M={m} x 4 bit ({self.d // m} dims per code, {m // 2} B code), IP, {self.sample_note()}"

    def run_pq_fastscan(self):
        index, b = self.pq_index()
        self.emit("pq-fastscan", index, b, self.pq_note() + "; a single query runs on one thread")

    def run_pq_fastscan_refine(self):
        base_index, pq_s = self.pq_index()
        self.index_bytes = None
        log(f"[{self.args.label or self.n}] pq-fastscan+refine: building…")
        t = time.perf_counter()
        index = faiss.IndexRefineFlat(base_index, faiss.swig_ptr(self.base))
        index.k_factor = 10
        build_s = pq_s + time.perf_counter() - t
        self.index_bytes = serialized_bytes(index)
        note = (
            self.pq_note()
            + "; IndexRefineFlat k_factor=10 re-ranks 10k candidates with the f32 vectors it keeps in memory"
            + "; build_s = pq-fastscan build + copying the f32 vectors"
        )
        self.emit("pq-fastscan+refine", index, build_s, note)

    def run_ivfpq(self):
        ntrain = len(self.sample())
        nlist = 2 ** round(math.log2(math.sqrt(self.n)))
        while nlist > 1 and nlist * 39 > ntrain:
            nlist //= 2
        m = self.d // 4
        while self.d % m:
            m -= 1
        quantizer = faiss.IndexFlatIP(self.d)
        index, b = self.build(
            "ivfpq", lambda: faiss.IndexIVFPQ(quantizer, self.d, nlist, m, 8, faiss.METRIC_INNER_PRODUCT)
        )
        index.parallel_mode = 1
        for nprobe in (16, 64):
            if nprobe > nlist:
                continue
            index.nprobe = nprobe
            note = (
                f"IndexIVFPQ nlist={nlist} (flat IP coarse quantizer), PQ M={m} x 8 bit ({m} B code), "
                f"nprobe={nprobe}, parallel_mode=1 (probed lists spread over the threads), {self.sample_note()}"
            )
            self.emit(f"ivfpq-nprobe{nprobe}", index, b, note)

    def run_hnsw(self):
        def make():
            index = faiss.IndexHNSWFlat(self.d, 32, faiss.METRIC_INNER_PRODUCT)
            index.hnsw.efConstruction = 40
            return index

        index, b = self.build("hnsw", make, train=False)
        for ef in (64, 128):
            index.hnsw.efSearch = ef
            note = f"IndexHNSWFlat M=32 efConstruction=40 efSearch={ef}, IP; a single query runs on one thread"
            self.emit(f"hnsw-ef{ef}", index, b, note)

    def run(self, config):
        getattr(self, "run_" + config.replace("-", "_").replace("+", "_"))()
        self.done.add(config)
        pq_pair = {"pq-fastscan", "pq-fastscan+refine"} & set(self.args.configs)
        if pq_pair <= self.done:
            self._pq = None  # no longer needed: free it


def main():
    ap = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        epilog=__doc__.split("\n\n", 1)[1],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    ap.add_argument("--base", required=True, help="n x dim little-endian f32")
    ap.add_argument("--queries", required=True, help="q x dim little-endian f32")
    ap.add_argument("--gt", required=True, help="q x k little-endian i32, exact top-k ids")
    ap.add_argument("--dim", type=int, required=True)
    ap.add_argument("--k", type=int, default=10)
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--configs", help="comma-separated, from: " + ",".join(ALL_CONFIGS))
    ap.add_argument("--label", default="", help="a name for this data set, copied to the output")
    ap.add_argument("--max-queries", type=int, default=0, help="use only the first N queries (default: all)")
    ap.add_argument(
        "--search-budget-s",
        type=float,
        default=20.0,
        help=f"per config, stop after this many seconds of searching, once at least {MIN_QUERIES} "
        "queries are done (0: no limit; default 20)",
    )
    args = ap.parse_args()

    base, queries, gt = load(args)
    n = len(base)
    if args.configs:
        configs = [c.strip() for c in args.configs.split(",") if c.strip()]
        unknown = [c for c in configs if c not in ALL_CONFIGS]
        if unknown or not configs:
            fail(f"unknown config(s) {', '.join(unknown) or '(none given)'}; choose from {', '.join(ALL_CONFIGS)}")
    else:
        configs = [c for c in DEFAULT_CONFIGS if c != "hnsw" or n <= HNSW_DEFAULT_MAX_N]
    args.configs = configs
    faiss.omp_set_num_threads(args.threads)
    log(
        f"faiss {faiss.__version__} ({faiss.SIMDConfig.get_level_name() if hasattr(faiss, 'SIMDConfig') else '?'}), "
        f"n={n} dim={args.dim} queries={len(queries)} k={args.k} threads={args.threads}: {', '.join(configs)}"
    )
    busy = os.getloadavg()[0]
    if busy > 0.5:
        log(f"warning: load average {busy:.2f} before starting (on {os.cpu_count()} CPUs): timings may be inflated")
    runner = Runner(args, base, queries, gt)
    t = time.perf_counter()
    for config in configs:
        runner.run(config)
    log(f"done in {time.perf_counter() - t:.1f} s")


if __name__ == "__main__":
    main()
