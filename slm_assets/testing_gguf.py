"""A tiny GGUF for tests: the tiny transformers Llama of ``slm_assets.testing`` written as llama.cpp reads it.

Same weights and tokenizer (a byte-level BPE, stored as a ``gpt2`` vocabulary with its merges, and
the ChatML chat template in ``tokenizer.chat_template``), float32, so the llama.cpp engine can be
checked against the transformers one on the same model. Built in about a second, no download.
``llama_server`` serves a GGUF with llama-cpp-python's own OpenAI-compatible server.
"""

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from slm_assets.testing import build_tiny_model


def _permute_rope(weights: np.ndarray, n_head: int) -> np.ndarray:
    # transformers rotates halves of each head, llama.cpp's llama architecture rotates pairs:
    # the q/k rows are reordered the way llama.cpp's convert_hf_to_gguf.py does.
    return weights.reshape(n_head, 2, weights.shape[0] // n_head // 2, *weights.shape[1:]).swapaxes(1, 2).reshape(
        weights.shape
    )


def _vocab(model_dir: Path) -> tuple[list[str], list[int], list[str]]:
    data = json.loads((model_dir / "tokenizer.json").read_text(encoding="utf-8"))
    ids = dict(data["model"]["vocab"])
    special = set()
    for added in data.get("added_tokens", []):
        ids[added["content"]] = added["id"]
        if added.get("special"):
            special.add(added["id"])
    tokens = [""] * (max(ids.values()) + 1)
    for text, i in ids.items():
        tokens[i] = text
    types = [3 if i in special else 1 for i in range(len(tokens))]  # 3: control, 1: normal
    merges = [m if isinstance(m, str) else " ".join(m) for m in data["model"]["merges"]]
    return tokens, types, merges


def write_gguf(model_dir: str | Path, out_file: str | Path, *, architecture: str = "llama") -> Path:
    """Write the tiny transformers model in ``model_dir`` as a float32 GGUF at ``out_file``."""
    import gguf
    from safetensors.numpy import load_file

    model_dir, out_file = Path(model_dir), Path(out_file)
    config = json.loads((model_dir / "config.json").read_text(encoding="utf-8"))
    tok_config = json.loads((model_dir / "tokenizer_config.json").read_text(encoding="utf-8"))
    weights = load_file(model_dir / "model.safetensors")
    n_head, n_kv = config["num_attention_heads"], config["num_key_value_heads"]
    n_embd = config["hidden_size"]
    tokens, types, merges = _vocab(model_dir)
    template = tok_config.get("chat_template") or (model_dir / "chat_template.jinja").read_text(encoding="utf-8")

    out_file.parent.mkdir(parents=True, exist_ok=True)
    writer = gguf.GGUFWriter(str(out_file), architecture)
    writer.add_name("tiny-test-llama")
    writer.add_file_type(gguf.LlamaFileType.ALL_F32)
    writer.add_context_length(config["max_position_embeddings"])
    writer.add_embedding_length(n_embd)
    writer.add_block_count(config["num_hidden_layers"])
    writer.add_feed_forward_length(config["intermediate_size"])
    writer.add_head_count(n_head)
    writer.add_head_count_kv(n_kv)
    writer.add_layer_norm_rms_eps(config["rms_norm_eps"])
    writer.add_rope_dimension_count(n_embd // n_head)
    rope = config.get("rope_parameters") or {}
    writer.add_rope_freq_base(float(rope.get("rope_theta", config.get("rope_theta", 10000.0))))
    writer.add_vocab_size(len(tokens))
    writer.add_tokenizer_model("gpt2")
    writer.add_tokenizer_pre("default")
    writer.add_token_list(tokens)
    writer.add_token_types(types)
    writer.add_token_merges(merges)
    writer.add_bos_token_id(config["bos_token_id"])
    writer.add_eos_token_id(config["eos_token_id"])
    writer.add_pad_token_id(config["pad_token_id"])
    writer.add_add_bos_token(False)
    writer.add_chat_template(template)

    writer.add_tensor("token_embd.weight", weights["model.embed_tokens.weight"])
    writer.add_tensor("output_norm.weight", weights["model.norm.weight"])
    for i in range(config["num_hidden_layers"]):
        hf = f"model.layers.{i}."
        names = {
            "attn_norm": "input_layernorm", "ffn_norm": "post_attention_layernorm",
            "attn_v": "self_attn.v_proj", "attn_output": "self_attn.o_proj",
            "ffn_gate": "mlp.gate_proj", "ffn_up": "mlp.up_proj", "ffn_down": "mlp.down_proj",
        }
        for ours, theirs in names.items():
            writer.add_tensor(f"blk.{i}.{ours}.weight", weights[hf + theirs + ".weight"])
        writer.add_tensor(f"blk.{i}.attn_q.weight", _permute_rope(weights[hf + "self_attn.q_proj.weight"], n_head))
        writer.add_tensor(f"blk.{i}.attn_k.weight", _permute_rope(weights[hf + "self_attn.k_proj.weight"], n_kv))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return out_file


def build_tiny_gguf(out_dir: str | Path, *, seed: int = 0, initializer_range: float = 0.25,
                    architecture: str = "llama") -> tuple[Path, Path]:
    """``(gguf_file, transformers_folder)``: a tiny model in both formats, same weights."""
    out_dir = Path(out_dir)
    hf_dir = build_tiny_model(out_dir / "hf", seed=seed, initializer_range=initializer_range)
    return write_gguf(hf_dir, out_dir / "gguf" / "tiny.gguf", architecture=architecture), hf_dir


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def llama_server(gguf_file: str | Path, *, alias: str, threads: int = 1, n_ctx: int = 2048,
                 api_key: str | None = None, startup_s: float = 120.0) -> Iterator[str]:
    """llama-cpp-python's own OpenAI-compatible server on 127.0.0.1 (a free port) serving
    ``gguf_file`` as ``alias``; yields its base URL (``.../v1``) once ``/v1/models`` answers."""
    import subprocess
    import sys
    import time
    import urllib.request

    port = free_port()
    cmd = [sys.executable, "-m", "llama_cpp.server", "--model", str(gguf_file), "--model_alias", alias,
           "--host", "127.0.0.1", "--port", str(port), "--n_threads", str(threads),
           "--n_threads_batch", str(threads), "--n_ctx", str(n_ctx), "--verbose", "False",
           # Its default drops a streaming answer when the next request arrives: concurrent
           # requests must all be answered (they queue, one model, one at a time).
           "--interrupt_requests", "False"]
    if api_key:
        cmd += ["--api_key", api_key]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    base_url = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + startup_s
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"llama_cpp.server exited with {proc.returncode}: {proc.stderr.read()[-2000:]}")
            try:
                request = urllib.request.Request(f"{base_url}/models",
                                                 headers={"Authorization": f"Bearer {api_key}"} if api_key else {})
                with urllib.request.urlopen(request, timeout=2):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"llama_cpp.server not answering on {base_url} after {startup_s:g} s") from None
                time.sleep(0.2)
        yield base_url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
