#!/usr/bin/env python3
"""Outside baseline for `hearth bench embed`: all-MiniLM-L6-v2 on ONNX Runtime.

The ONNX graph is built here, with the `onnx` package, straight from the same
model.safetensors Hearth loads (no torch, no export tool, no hub), so both sides
run identical weights. The tokenizer is the same tokenizer.json through the
`tokenizers` package, truncated at 256 tokens, padded per batch. Batches are
length-sorted like Hearth's. Two runs are measured:

  * "onnxruntime f32": the graph with all ORT graph optimisations (fusions) on;
  * "onnxruntime int8": the same graph after ORT's dynamic int8 quantization of
    the MatMul weights (onnxruntime.quantization.quantize_dynamic).

Each run warms up on 32 texts, then embeds every text; it prints one JSON line
{name, load_secs, secs, chunks, vectors} and writes the unit vectors (f32
little-endian, row-major, input order) to the file named by `vectors`.

    python scripts/embed_baseline.py --model-dir DIR --texts texts.json \
        --out-dir OUT [--threads 2] [--batch-size 32]
"""
import argparse
import json
import math
import os
import struct
import time

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper
from tokenizers import Tokenizer

MAX_TOKENS = 256


def read_safetensors(path):
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(n))
        base = 8 + n
        tensors = {}
        for name, meta in header.items():
            if name == "__metadata__" or name.endswith("position_ids"):
                continue
            assert meta["dtype"] == "F32", (name, meta["dtype"])
            start, end = meta["data_offsets"]
            f.seek(base + start)
            tensors[name.removeprefix("bert.")] = np.frombuffer(
                f.read(end - start), dtype="<f4"
            ).reshape(meta["shape"])
    return tensors


def build_graph(weights, cfg):
    """A BERT encoder + masked mean pooling + L2 norm, as plain ONNX ops."""
    h = cfg["hidden_size"]
    heads = cfg["num_attention_heads"]
    hd = h // heads
    eps = cfg["layer_norm_eps"]
    inits, nodes = [], []

    def init(name, array):
        inits.append(numpy_helper.from_array(np.ascontiguousarray(array), name))
        return name

    def node(op, inputs, name, **attrs):
        nodes.append(helper.make_node(op, inputs, [name], name=name, **attrs))
        return name

    def linear(x, prefix, out):
        w = init(prefix + ".weight_t", weights[prefix + ".weight"].T)
        b = init(prefix + ".bias", weights[prefix + ".bias"])
        return node("Add", [node("MatMul", [x, w], out + "_mm"), b], out)

    def layer_norm(x, prefix, out):
        g = init(prefix + ".weight", weights[prefix + ".weight"])
        b = init(prefix + ".bias", weights[prefix + ".bias"])
        return node("LayerNormalization", [x, g, b], out, axis=-1, epsilon=eps)

    e = "embeddings."
    word = node("Gather", [init("word", weights[e + "word_embeddings.weight"]), "input_ids"], "word_emb")
    init("zero1", np.array([0], dtype=np.int64))
    init("one1", np.array([1], dtype=np.int64))
    init("two1", np.array([2], dtype=np.int64))
    shape = node("Shape", ["input_ids"], "ids_shape")
    seq = node("Slice", [shape, "one1", "two1"], "seq_len")
    pos_table = init("pos", weights[e + "position_embeddings.weight"])
    pos = node("Slice", [pos_table, "zero1", seq, "zero1"], "pos_emb")
    tok = init("tok", weights[e + "token_type_embeddings.weight"][0])
    x = node("Add", [node("Add", [word, pos], "wp"), tok], "emb_sum")
    x = layer_norm(x, e + "LayerNorm", "emb")

    mask_f = node("Cast", ["attention_mask"], "mask_f", to=TensorProto.FLOAT)
    init("axes12", np.array([1, 2], dtype=np.int64))
    init("minus_one", np.array(-1.0, dtype=np.float32))
    init("big", np.array(1e9, dtype=np.float32))
    add_mask = node("Mul", [node("Add", [mask_f, "minus_one"], "mask_m1"), "big"], "mask_add")
    add_mask = node("Unsqueeze", [add_mask, "axes12"], "mask_4d")
    init("split_shape", np.array([0, 0, heads, hd], dtype=np.int64))
    init("merge_shape", np.array([0, 0, h], dtype=np.int64))
    init("scale", np.array(1.0 / math.sqrt(hd), dtype=np.float32))
    init("half", np.array(0.5, dtype=np.float32))
    init("one_f", np.array(1.0, dtype=np.float32))
    init("sqrt2", np.array(math.sqrt(2.0), dtype=np.float32))

    for i in range(cfg["num_hidden_layers"]):
        p = f"encoder.layer.{i}."
        t = f"l{i}_"

        def heads_of(name, perm):
            r = node("Reshape", [linear(x, p + "attention.self." + name, t + name), "split_shape"], t + name + "_r")
            return node("Transpose", [r], t + name + "_t", perm=perm)

        q = heads_of("query", [0, 2, 1, 3])
        k = heads_of("key", [0, 2, 3, 1])
        v = heads_of("value", [0, 2, 1, 3])
        scores = node("Mul", [node("MatMul", [q, k], t + "qk"), "scale"], t + "scaled")
        probs = node("Softmax", [node("Add", [scores, add_mask], t + "masked")], t + "probs", axis=-1)
        ctx = node("Transpose", [node("MatMul", [probs, v], t + "ctx")], t + "ctx_t", perm=[0, 2, 1, 3])
        ctx = node("Reshape", [ctx, "merge_shape"], t + "ctx_m")
        attn = linear(ctx, p + "attention.output.dense", t + "attn_dense")
        attn = layer_norm(node("Add", [attn, x], t + "attn_res"), p + "attention.output.LayerNorm", t + "attn")
        inter = linear(attn, p + "intermediate.dense", t + "inter")
        erf = node("Erf", [node("Div", [inter, "sqrt2"], t + "gelu_div")], t + "gelu_erf")
        gelu = node("Mul", [inter, node("Add", [erf, "one_f"], t + "gelu_add")], t + "gelu_mul")
        gelu = node("Mul", [gelu, "half"], t + "gelu")
        out = linear(gelu, p + "output.dense", t + "out_dense")
        x = layer_norm(node("Add", [out, attn], t + "out_res"), p + "output.LayerNorm", t + "out")

    # Masked mean pooling and L2 normalisation.
    init("axis1", np.array([1], dtype=np.int64))
    init("axis_last", np.array([-1], dtype=np.int64))
    init("tiny", np.array(1e-12, dtype=np.float32))
    init("tiny_count", np.array(1e-9, dtype=np.float32))
    m3 = node("Unsqueeze", [mask_f, "axis_last"], "mask_3d")
    summed = node("ReduceSum", [node("Mul", [x, m3], "masked_hidden"), "axis1"], "summed", keepdims=0)
    counts = node("Max", [node("ReduceSum", [m3, "axis1"], "counts", keepdims=0), "tiny_count"], "counts_c")
    mean = node("Div", [summed, counts], "mean")
    norm = node("Sqrt", [node("ReduceSum", [node("Mul", [mean, mean], "sq"), "axis_last"], "sumsq", keepdims=1)], "norm")
    node("Div", [mean, node("Max", [norm, "tiny"], "norm_c")], "embedding")

    graph = helper.make_graph(
        nodes,
        "all-minilm-l6-v2",
        [
            helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["batch", "seq"]),
            helper.make_tensor_value_info("attention_mask", TensorProto.INT64, ["batch", "seq"]),
        ],
        [helper.make_tensor_value_info("embedding", TensorProto.FLOAT, ["batch", h])],
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


def batches(encodings, batch_size):
    order = sorted(range(len(encodings)), key=lambda i: len(encodings[i]))
    for start in range(0, len(order), batch_size):
        rows = order[start : start + batch_size]
        width = max(len(encodings[i]) for i in rows)
        ids = np.zeros((len(rows), width), dtype=np.int64)
        mask = np.zeros((len(rows), width), dtype=np.int64)
        for r, i in enumerate(rows):
            ids[r, : len(encodings[i])] = encodings[i]
            mask[r, : len(encodings[i])] = 1
        yield rows, ids, mask


def embed(session, tokenizer, texts, batch_size):
    encodings = [e.ids for e in tokenizer.encode_batch(texts)]
    out = np.zeros((len(texts), 384), dtype=np.float32)
    for rows, ids, mask in batches(encodings, batch_size):
        (vec,) = session.run(["embedding"], {"input_ids": ids, "attention_mask": mask})
        out[rows] = vec
    return out


def measure(name, model_path, tokenizer, texts, args):
    opts = ort.SessionOptions()
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    opts.intra_op_num_threads = args.threads
    opts.inter_op_num_threads = 1
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    t = time.perf_counter()
    session = ort.InferenceSession(model_path, opts, providers=["CPUExecutionProvider"])
    load = time.perf_counter() - t
    embed(session, tokenizer, texts[:32], args.batch_size)
    t = time.perf_counter()
    vectors = embed(session, tokenizer, texts, args.batch_size)
    secs = time.perf_counter() - t
    path = os.path.join(args.out_dir, name.replace(" ", "_") + ".f32")
    vectors.astype("<f4").tofile(path)
    print(json.dumps({"name": name, "load_secs": load, "secs": secs, "chunks": len(texts), "vectors": path}), flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model-dir", required=True)
    ap.add_argument("--texts", required=True)
    ap.add_argument("--out-dir", required=True)
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--batch-size", type=int, default=32)
    args = ap.parse_args()
    with open(os.path.join(args.model_dir, "config.json")) as f:
        cfg = json.load(f)
    with open(args.texts) as f:
        texts = json.load(f)
    tokenizer = Tokenizer.from_file(os.path.join(args.model_dir, "tokenizer.json"))
    tokenizer.no_padding()
    tokenizer.enable_truncation(MAX_TOKENS)

    weights = read_safetensors(os.path.join(args.model_dir, "model.safetensors"))
    f32_path = os.path.join(args.out_dir, "minilm-f32.onnx")
    onnx.save(build_graph(weights, cfg), f32_path)
    measure("onnxruntime f32", f32_path, tokenizer, texts, args)

    from onnxruntime.quantization import QuantType, quantize_dynamic

    int8_path = os.path.join(args.out_dir, "minilm-int8.onnx")
    quantize_dynamic(f32_path, int8_path, weight_type=QuantType.QInt8)
    measure("onnxruntime int8", int8_path, tokenizer, texts, args)


if __name__ == "__main__":
    main()
