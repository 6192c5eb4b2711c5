#!/usr/bin/env python3
"""PyTorch references for Recurrent's LanguageModel (word_language_model's RNNModel shape).

Run from the repository root with Debian's PyTorch:  /usr/bin/python3 scripts/make_lm_fixtures.py

Model: Embedding(V, E) -> nn.LSTM/GRU/RNN(E, H, layers) -> Linear(H, V), optional weight tying,
dropout 0. Input ids [T, B] (time-major), initial state given, loss = mean cross-entropy over
all T*B targets. Computed in float64 from float32 values; stored: parameters (F32, state_dict
names: encoder.weight, rnn.weight_ih_l0, ..., decoder.weight, decoder.bias), ids/targets (I64),
h0/c0 (F32), logits, loss, h_n/c_n and every parameter gradient (F64).
"""
import os
import sys
import zlib

import numpy as np
import torch
from torch import nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_fixtures import write_safetensors  # noqa: E402

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT_DIR = os.path.join(REPO_ROOT, "tests", "fixtures", "lm")

CASES = [
    # name, mode, V, E, H, layers, tie, T, B
    ("lm_lstm_tied", "LSTM", 11, 8, 8, 2, True, 6, 3),
    ("lm_lstm_untied", "LSTM", 11, 5, 9, 2, False, 6, 3),
    ("lm_gru", "GRU", 13, 6, 7, 1, False, 5, 4),
    ("lm_rnn_tanh", "RNN_TANH", 9, 4, 6, 3, False, 7, 2),
]


def build(name, mode, V, E, H, layers, tie, T, B):
    torch.manual_seed(zlib.crc32(name.encode()))
    cls = {"LSTM": nn.LSTM, "GRU": nn.GRU}.get(mode)
    rnn = cls(E, H, layers) if cls else nn.RNN(E, H, layers, nonlinearity="tanh")
    encoder = nn.Embedding(V, E)
    decoder = nn.Linear(H, V)
    nn.init.uniform_(encoder.weight, -0.5, 0.5)
    nn.init.uniform_(decoder.weight, -0.5, 0.5)
    nn.init.uniform_(decoder.bias, -0.5, 0.5)
    if tie:
        decoder.weight = encoder.weight
    modules = {"encoder": encoder, "rnn": rnn, "decoder": decoder}
    params = {}
    for prefix, m in modules.items():
        for n, p in m.named_parameters():
            key = prefix + "." + n
            if tie and key == "decoder.weight":
                continue
            params[key] = p
    ids = torch.randint(0, V, (T, B))
    targets = torch.randint(0, V, (T, B))
    h0 = torch.randn(layers, B, H) * 0.5
    c0 = torch.randn(layers, B, H) * 0.5 if mode == "LSTM" else None

    tensors = {k: ("F32", p.detach().numpy().copy()) for k, p in params.items()}
    for m in modules.values():
        m.double()
    emb = encoder(ids)
    out, state = rnn(emb, (h0.double(), c0.double()) if c0 is not None else h0.double())
    logits = decoder(out).reshape(T * B, V)
    loss = nn.functional.cross_entropy(logits, targets.reshape(-1))
    loss.backward()

    tensors["ids"] = ("I64", ids.numpy())
    tensors["targets"] = ("I64", targets.numpy())
    tensors["h0"] = ("F32", h0.numpy())
    tensors["logits"] = ("F64", logits.detach().numpy())
    tensors["loss"] = ("F64", np.array(loss.item()))
    h_n, c_n = state if isinstance(state, tuple) else (state, None)
    tensors["h_n"] = ("F64", h_n.detach().numpy())
    if c0 is not None:
        tensors["c0"] = ("F32", c0.numpy())
        tensors["c_n"] = ("F64", c_n.detach().numpy())
    for k, p in params.items():
        tensors["grad." + k] = ("F64", p.grad.numpy())
    metadata = {"mode": mode, "vocabulary": str(V), "embedding": str(E), "hidden": str(H), "layers": str(layers),
                "tie": "true" if tie else "false", "seq_len": str(T), "batch": str(B), "torch_version": torch.__version__,
                "generator": "scripts/make_lm_fixtures.py"}
    return tensors, metadata


def main():
    torch.set_num_threads(1)
    os.makedirs(OUT_DIR, exist_ok=True)
    for case in CASES:
        tensors, metadata = build(*case)
        write_safetensors(os.path.join(OUT_DIR, case[0] + ".safetensors"), tensors, metadata)
    print("wrote {} files to {}".format(len(CASES), os.path.relpath(OUT_DIR, REPO_ROOT)))


if __name__ == "__main__":
    main()
