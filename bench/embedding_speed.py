"""Ingest embedding throughput (chunks/s) of the packaged MiniLM, PyTorch against alternatives

    python -m bench embedding_speed [--passages 256] [--rounds 2] [--threads 1,2] [--paths ...]

Chunks are made as ingest makes them (the loaders, then ``Chunker`` in the embedding
model's tokens with the default chunk settings; the embedded text is the chunk under its
title and heading): the shipped ``corpora/`` (manuals and tickets) and the first
``--passages`` multidoc2dial passages. Each path embeds every chunk set once per round,
paths interleaved and their order alternating by round:

- ``torch``: ``retrieval.embeddings.Embedder.embed`` with ``precision="float32"``
  (sentence-transformers, length-sorted batches of 32): what ingest does on a CPU without
  native bf16;
- ``torch-bf16``: the same with ``precision="bfloat16"`` (the model under bf16
  ``torch.autocast``): what ingest does by default on a CPU with AMX or AVX512_BF16
  (``bf16_native`` in the output);
- ``torch-b16`` / ``torch-b64`` (``torch-bf16-b16``...): the same with batches of 16 / 64;
- ``onnx-fp32``: the same model exported here with ``torch.onnx.export`` and run on
  onnxruntime (mean pooling and normalisation in numpy, the same length-sorted batches);
  only where the ``onnx`` package is installed.

Every path's vectors are compared with the ``torch`` (fp32) path's (min cosine). Besides
chunks per wall-clock second, each run gives chunks per CPU-second of this process (all its
threads), which other jobs on a shared machine move less. Prints one JSON
document; progress goes to stderr.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from bench.machine import describe as describe_machine

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_PASSAGES = ROOT.parent / "shared" / "data" / "multidoc2dial" / "passages.jsonl"


def log(message: str) -> None:
    print(f"[bench embedding_speed] {message}", file=sys.stderr, flush=True)


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench embedding_speed", description=__doc__)
    p.add_argument("--passages-file", type=Path, default=DEFAULT_PASSAGES)
    p.add_argument("--passages", type=int, default=256, help="multidoc2dial passages to chunk")
    p.add_argument("--rounds", type=int, default=2, help="runs of each path, interleaved")
    p.add_argument("--threads", default="1,2", help="torch / onnxruntime thread counts")
    p.add_argument("--paths", default="torch,torch-bf16,torch-b16,torch-b64,onnx-fp32")
    return p.parse_args(argv)


def corpus_chunks(chunker, folders: Sequence[Path]) -> list[str]:
    from retrieval.loaders import is_supported, load_file

    texts = []
    for folder in folders:
        for path in sorted(folder.rglob("*")):
            if path.is_file() and is_supported(path):
                document = load_file(path, path.read_bytes())
                texts += [c.embedding_text for c in chunker.chunk(document, "manual", "bench")]
    return texts


def passage_chunks(chunker, path: Path, count: int) -> list[str]:
    from retrieval.loaders import RecordFields, load_file

    if not path.is_file():
        return []
    with path.open("rb") as f:
        data = b"".join(line for _, line in zip(range(count), f, strict=False))
    document = load_file(path, data, RecordFields("pid", "text", "doc_title"))
    return [c.embedding_text for c in chunker.chunk(document, "records", "bench")]


class OnnxEmbedder:
    """The packaged model exported to ONNX here, run on onnxruntime, pooled like ST."""

    def __init__(self, embedder, folder: Path, threads: int) -> None:
        import onnxruntime as ort
        import torch

        model = embedder.model[0].auto_model
        tokenizer = embedder.tokenizer
        self.tokenizer = tokenizer
        self.max_tokens = embedder.max_tokens
        path = folder / "minilm.onnx"
        if not path.is_file():
            sample = tokenizer(
                ["hello world", "a longer one here"], padding=True, return_tensors="pt"
            )
            names = ["input_ids", "attention_mask", "token_type_ids"]

            class Hidden(torch.nn.Module):
                def __init__(self, inner):
                    super().__init__()
                    self.inner = inner

                def forward(self, input_ids, attention_mask, token_type_ids):
                    return self.inner(
                        input_ids=input_ids,
                        attention_mask=attention_mask,
                        token_type_ids=token_type_ids,
                    ).last_hidden_state

            torch.onnx.export(
                Hidden(model).eval(),
                tuple(sample[n] for n in names),
                str(path),
                input_names=names,
                output_names=["hidden"],
                dynamic_axes={n: {0: "batch", 1: "seq"} for n in [*names, "hidden"]},
                opset_version=17,
                dynamo=False,
            )
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])

    def embed(self, texts: Sequence[str], batch_size: int = 32) -> np.ndarray:
        order = sorted(range(len(texts)), key=lambda index: -len(texts[index]))
        out = np.zeros((len(texts), 384), dtype=np.float32)
        for start in range(0, len(order), batch_size):
            positions = order[start : start + batch_size]
            enc = self.tokenizer(
                [texts[p] for p in positions],
                padding=True,
                truncation=True,
                max_length=self.max_tokens,
                return_tensors="np",
            )
            feeds = {k: enc[k].astype(np.int64) for k in ("input_ids", "attention_mask")}
            feeds["token_type_ids"] = np.zeros_like(feeds["input_ids"])
            hidden = self.session.run(None, feeds)[0]
            mask = feeds["attention_mask"][..., None].astype(np.float32)
            pooled = (hidden * mask).sum(1) / np.maximum(mask.sum(1), 1e-9)
            out[positions] = pooled / np.linalg.norm(pooled, axis=1, keepdims=True)
        return out


def torch_path(name: str) -> tuple[bool, int] | None:
    """``torch[-bf16][-bN]``: (bf16 autocast, batch size); None for another path."""
    parts = name.split("-")
    if parts[0] != "torch":
        return None
    bf16 = "bf16" in parts[1:]
    sizes = [int(p[1:]) for p in parts[1:] if p != "bf16" and p[1:].isdigit()]
    if len(parts) - 1 != int(bf16) + len(sizes) or len(sizes) > 1:
        raise SystemExit(f"error: unknown path '{name}'")
    return bf16, sizes[0] if sizes else 32


def run(argv: Sequence[str]) -> dict[str, Any]:
    args = parse_args(argv)
    import torch

    from retrieval.chunking import Chunker
    from retrieval.embeddings import Embedder, cpu_has_native_bf16
    from retrieval.settings import IndexSettings

    embedder = Embedder(precision="float32")
    bf16_embedder = Embedder(precision="bfloat16")  # a second copy of the 90 MB model
    settings = IndexSettings(Path(tempfile.gettempdir()))  # only the chunk defaults are read
    chunker = Chunker(embedder.tokenizer, settings.chunk_tokens, settings.chunk_overlap)
    sets = {
        "corpora": corpus_chunks(
            chunker, [ROOT / "corpora" / "manuals", ROOT / "corpora" / "tickets"]
        ),
        "multidoc2dial": passage_chunks(chunker, args.passages_file, args.passages),
    }
    sets = {name: texts for name, texts in sets.items() if texts}
    tokens = {
        name: [min(chunker.count_tokens(t) + 2, embedder.max_tokens) for t in texts]
        for name, texts in sets.items()
    }
    thread_counts = [int(t) for t in args.threads.split(",") if t.strip()]
    wanted = [p.strip() for p in args.paths.split(",") if p.strip()]
    work = Path(tempfile.mkdtemp(prefix="deskloop-bench-embedding-"))
    try:
        import onnx  # noqa: F401  (torch.onnx.export needs it)

        has_onnx = True
    except ImportError:
        has_onnx = False
    onnx_sessions: dict[int, OnnxEmbedder] = {}

    def path_fn(name: str, threads: int) -> Callable[[list[str]], np.ndarray] | None:
        if (spec := torch_path(name)) is not None:
            bf16, size = spec
            chosen = bf16_embedder if bf16 else embedder
            return lambda texts: chosen.embed(texts, batch_size=size)
        if name == "onnx-fp32" and has_onnx:
            if threads not in onnx_sessions:
                onnx_sessions[threads] = OnnxEmbedder(embedder, work, threads)
            return onnx_sessions[threads].embed
        return None

    reference = {name: embedder.embed(texts) for name, texts in sets.items()}  # also warms up
    if any((torch_path(name) or (False,))[0] for name in wanted):
        for texts in sets.values():
            bf16_embedder.embed(texts)  # warm-up (oneDNN builds its bf16 kernels)
    load_start = describe_machine()["load_average"]
    results: dict[str, dict[str, Any]] = {}
    for round_index in range(args.rounds):
        for threads in thread_counts if round_index % 2 == 0 else thread_counts[::-1]:
            torch.set_num_threads(threads)
            for name in wanted if round_index % 2 == 0 else wanted[::-1]:
                fn = path_fn(name, threads)
                if fn is None:
                    continue
                key = f"{name}/{threads}t"
                entry = results.setdefault(
                    key, {"chunks_per_s": {}, "chunks_per_cpu_s": {}, "min_cosine": {}}
                )
                for set_name, texts in sets.items():
                    started, cpu_started = time.perf_counter(), time.process_time()
                    vectors = fn(texts)
                    elapsed = time.perf_counter() - started
                    cpu = time.process_time() - cpu_started
                    entry["chunks_per_s"].setdefault(set_name, []).append(
                        round(len(texts) / elapsed, 1)
                    )
                    entry["chunks_per_cpu_s"].setdefault(set_name, []).append(
                        round(len(texts) / cpu, 1)
                    )
                    cosine = float(np.min(np.sum(vectors * reference[set_name], axis=1)))
                    previous = entry["min_cosine"].get(set_name, 1.0)
                    entry["min_cosine"][set_name] = round(min(previous, cosine), 7)
                log(f"round {round_index + 1}: {key} {json.dumps(entry['chunks_per_s'])}")
    return {
        "benchmark": "embedding_speed",
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": {**describe_machine(), "load_average_at_start": load_start},
        "model": embedder.label,
        "bf16_native": cpu_has_native_bf16(),  # Embedder's default ("auto") is bf16 if so
        "chunk_sets": {
            name: {
                "chunks": len(texts),
                "tokens_mean": round(sum(tokens[name]) / len(texts), 1),
                "tokens_max": max(tokens[name]),
            }
            for name, texts in sets.items()
        },
        "onnx_available": has_onnx,
        "paths": results,
    }


def main(argv: Sequence[str]) -> int:
    print(json.dumps(run(argv), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
