#!/usr/bin/python3
"""PyTorch peer of `Recurrent.Bench train|infer|generate` (issue 5): the same seven configs, the
same measures, one JSON line per measurement.

  train     full training step: embedding -> nn.RNN(tanh)/GRU/LSTM stack -> linear -> mean
            cross-entropy over every step, backward, clip_grad_norm_(5.0), Adam step, zero_grad;
            tokens/s with tokens = batch * seq per step.
  infer     forward only (embedding -> stack -> linear) under torch.no_grad, tokens/s.
  generate  batch 1, one token at a time, state carried, softmax then multinomial sample;
            microseconds per token (a step generates --tokens tokens).
  probe     what this process's libraries run at: ATen's CPU capability, the OpenBLAS core, and a
            1024³ matmul rate; it also runs a convolution so that oneDNN, with ONEDNN_VERBOSE=1 in
            the environment, prints the ISA it dispatches to (scripts/bench_peers.py checks its pins so).

Timing, as Recurrent.Bench's: steps run untimed for --warmup-seconds (default 2, at least 2 steps),
then --reps reps (default 3) each run steps until --seconds/reps have passed (default 10 s in all;
--steps S: S steps a rep instead); the median rep is reported. The configs come from
bench/configs.json. Threads: torch.set_num_threads(--intra); OpenBLAS and OpenMP read
OPENBLAS_NUM_THREADS, OMP_NUM_THREADS and OMP_WAIT_POLICY from the environment the caller sets
(the "setting" field records them). Run with Debian's interpreter: /usr/bin/python3
(python3-torch 1.13 + OpenBLAS).
"""
import argparse
import ctypes
import json
import os
import statistics
import sys
import time
from pathlib import Path

import torch
from torch import nn

CONFIG_FILE = Path(__file__).resolve().parent.parent / "bench" / "configs.json"
CONFIGS = {c["name"]: c for c in json.loads(CONFIG_FILE.read_text())["configs"]}
INFERENCE_CONFIG = json.loads(CONFIG_FILE.read_text())["inference"]

MEASURE_NAMES = {"train": "train_tokens_per_s", "infer": "infer_tokens_per_s", "generate": "gen_us_per_token"}


class Model(nn.Module):
    """Embedding -> recurrent stack (time-major [T, B, E]) -> linear on every step's output."""

    def __init__(self, cell, vocab, embed, hidden, layers, bidirectional, outputs):
        super().__init__()
        self.encoder = nn.Embedding(vocab, embed)
        kinds = {"rnn_tanh": lambda **kw: nn.RNN(nonlinearity="tanh", **kw), "gru": nn.GRU, "lstm": nn.LSTM}
        self.rnn = kinds[cell](input_size=embed, hidden_size=hidden, num_layers=layers, bidirectional=bidirectional)
        self.decoder = nn.Linear(hidden * (2 if bidirectional else 1), outputs)

    def forward(self, ids, state=None):
        out, state = self.rnn(self.encoder(ids), state)
        return self.decoder(out), state


def peak_rss_mb():
    """VmHWM (peak resident set) of this process, in MB."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    return None


def timed_reps(step, timing):
    """Warms step() up, then runs the timed reps; returns (seconds, steps) of each rep."""
    start, calls = time.perf_counter(), 0
    while calls < 2 or time.perf_counter() - start < timing.warmup_seconds:
        step()
        calls += 1
    reps, per_rep = [], timing.seconds / timing.reps
    for _ in range(timing.reps):
        start, calls = time.perf_counter(), 0
        while True:
            step()
            calls += 1
            elapsed = time.perf_counter() - start
            if (calls >= timing.steps) if timing.steps else elapsed >= per_rep:
                break
        reps.append((elapsed, calls))
    return reps


def measure_train(model, cfg, timing):
    ids = torch.randint(cfg["vocab"], (cfg["seq"], cfg["batch"]))
    targets = torch.randint(cfg["outputs"], (cfg["seq"] * cfg["batch"],))
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = nn.CrossEntropyLoss()

    def step():
        logits, _ = model(ids)
        loss = loss_fn(logits.view(-1, cfg["outputs"]), targets)
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        optimizer.step()
        optimizer.zero_grad(set_to_none=False)

    reps = timed_reps(step, timing)
    return statistics.median(calls * cfg["seq"] * cfg["batch"] / s for s, calls in reps), reps


def measure_infer(model, cfg, timing):
    ids = torch.randint(cfg["vocab"], (cfg["seq"], cfg["batch"]))
    model.eval()

    def step():
        model(ids)

    with torch.no_grad():
        reps = timed_reps(step, timing)
    return statistics.median(calls * cfg["seq"] * cfg["batch"] / s for s, calls in reps), reps


def measure_generate(model, cfg, timing):
    """--tokens tokens a step, the state carried across them; µs per token."""
    vocab = cfg["vocab"]
    model.eval()
    token = torch.zeros((1, 1), dtype=torch.long)
    state = None

    def one_token():
        nonlocal token, state
        logits, state = model(token, state)
        probs = torch.softmax(logits.view(-1), dim=0)
        token = torch.multinomial(probs, 1).view(1, 1)

    def step():
        for _ in range(timing.tokens):
            one_token()

    assert token.max() < vocab
    with torch.no_grad():
        reps = timed_reps(step, timing)
    return statistics.median(s / (calls * timing.tokens) * 1e6 for s, calls in reps), reps


def openblas_core():
    """The core OpenBLAS runs its kernels for in this process (None when no OpenBLAS is loaded)."""
    with open("/proc/self/maps") as maps:
        paths = dict.fromkeys(line.split()[-1] for line in maps if "blas" in line or "lapack" in line)
    for path in paths:
        try:
            lib = ctypes.CDLL(path)
            corename = lib.openblas_get_corename
        except (OSError, AttributeError):
            continue
        corename.restype = ctypes.c_char_p
        return corename().decode()
    return None


def aten_capability():
    """ATen's CPU capability as torch.__config__.show() reports it (e.g. AVX2, AVX512)."""
    for line in torch.__config__.show().splitlines():
        if "CPU capability usage:" in line:
            return line.split(":", 1)[1].strip()
    return None


def probe(seconds):
    """One JSON line: ATen capability, OpenBLAS core, and torch.matmul 1024³ GFLOP/s; a convolution first, for oneDNN's verbose ISA line."""
    torch.nn.functional.conv2d(torch.randn(8, 32, 28, 28), torch.randn(32, 32, 3, 3))
    a, b = torch.randn(1024, 1024), torch.randn(1024, 1024)
    for _ in range(3):
        torch.matmul(a, b)
    start, calls = time.perf_counter(), 0
    while time.perf_counter() - start < seconds:
        torch.matmul(a, b)
        calls += 1
    rate = 2 * 1024 ** 3 * calls / (time.perf_counter() - start) / 1e9
    sys.stdout.flush()
    print(json.dumps({"peer": "pytorch", "measure": "probe", "aten_capability": aten_capability(),
                      "openblas_core": openblas_core(), "matmul_1024_gflops": round(rate, 1),
                      "threads": torch.get_num_threads(), "version": torch.__version__}), flush=True)


def setting_label(intra):
    blas = os.environ.get("OPENBLAS_NUM_THREADS", "unset")
    omp = os.environ.get("OMP_WAIT_POLICY", "default").lower()
    return f"intra={intra},blas={blas},omp={omp}"


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--measure", choices=sorted(MEASURE_NAMES) + ["probe"], default="train")
    parser.add_argument("--config", action="append", default=[],
                        help=f"config name (repeatable); default: all for train, {INFERENCE_CONFIG} for infer/generate")
    parser.add_argument("--intra", type=int, default=1, help="torch.set_num_threads (intra-op threads)")
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=10.0, help="timed seconds per measurement, over all reps")
    parser.add_argument("--warmup-seconds", type=float, default=2.0)
    parser.add_argument("--steps", type=int, default=0, help="steps per rep instead of timing by --seconds")
    parser.add_argument("--tokens", type=int, default=400, help="generate: tokens per step")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--list", action="store_true", help="print the config names and exit")
    args = parser.parse_args()
    if args.list:
        print("\n".join(CONFIGS))
        return 0
    torch.set_num_threads(args.intra)
    if args.measure == "probe":
        probe(args.seconds)
        return 0
    names = args.config or (list(CONFIGS) if args.measure == "train" else [INFERENCE_CONFIG])
    unknown = [n for n in names if n not in CONFIGS]
    if unknown:
        parser.error(f"unknown config {', '.join(unknown)}; known: {', '.join(CONFIGS)}")
    if args.reps < 1 or args.seconds <= 0 or args.warmup_seconds < 0 or args.steps < 0 or args.tokens < 1:
        parser.error("--reps and --tokens must be at least 1, --seconds positive, --warmup-seconds and --steps not negative")

    measure = {"train": measure_train, "infer": measure_infer, "generate": measure_generate}[args.measure]
    for name in names:
        cfg = CONFIGS[name]
        torch.manual_seed(args.seed)
        model = Model(cfg["cell"], cfg["vocab"], cfg["embed"], cfg["hidden"], cfg["layers"], cfg["bidirectional"], cfg["outputs"])
        value, reps = measure(model, cfg, args)
        print(json.dumps({
            "peer": "pytorch", "config": name, "measure": MEASURE_NAMES[args.measure],
            "threads": args.intra, "setting": setting_label(args.intra), "value": round(value, 3),
            "peak_rss_mb": round(peak_rss_mb(), 1), "version": torch.__version__,
            "reps": len(reps), "timed_s": round(sum(s for s, _ in reps), 2),
            "aten_capability": aten_capability(), "openblas_core": openblas_core(),
        }), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
