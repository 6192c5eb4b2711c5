#!/usr/bin/python3
"""PyTorch peer of `Recurrent.Bench train|infer|generate` (issue 5): the same seven configs, the
same measures, one JSON line per measurement.

  train     full training step: embedding -> nn.RNN(tanh)/GRU/LSTM stack -> linear -> mean
            cross-entropy over every step, backward, clip_grad_norm_(5.0), Adam step, zero_grad;
            tokens/s with tokens = batch * seq per step.
  infer     forward only (embedding -> stack -> linear) under torch.no_grad, tokens/s.
  generate  batch 1, one token at a time, state carried, softmax then multinomial sample;
            microseconds per token (--steps = tokens per rep).

Each measurement warms up, then times --reps reps of --steps steps and reports the median rep.
Threads: torch.set_num_threads(--intra); OpenBLAS and OpenMP read OPENBLAS_NUM_THREADS,
OMP_NUM_THREADS and OMP_WAIT_POLICY from the environment the caller sets (the "setting" field
records them). Run with Debian's interpreter: /usr/bin/python3 (python3-torch 1.13 + OpenBLAS).
"""
import argparse
import json
import os
import statistics
import sys
import time

import torch
from torch import nn

# name, cell, vocab, embed, hidden, layers, bidirectional, batch, seq, outputs
# (the same definitions as TrainConfig.All in bench/Recurrent.Bench/TrainBenchmark.cs)
CONFIGS = {c[0]: c for c in [
    ("char-rnn-s", "rnn", 65, 64, 256, 1, False, 32, 64, 65),
    ("char-gru-s", "gru", 65, 64, 256, 1, False, 32, 64, 65),
    ("char-lstm-s", "lstm", 65, 64, 256, 1, False, 32, 64, 65),
    ("char-lstm-l", "lstm", 65, 128, 512, 2, False, 32, 128, 65),
    ("word-lstm-ptb-s", "lstm", 10000, 200, 200, 2, False, 20, 20, 10000),
    ("word-lstm-ptb-m", "lstm", 10000, 650, 650, 2, False, 20, 35, 10000),
    ("bilstm-tagger", "lstm", 20000, 100, 128, 1, True, 32, 40, 20),
]}

MEASURE_NAMES = {"train": "train_tokens_per_s", "infer": "infer_tokens_per_s", "generate": "gen_us_per_token"}
DEFAULT_STEPS = {"train": 5, "infer": 3, "generate": 200}


class Model(nn.Module):
    """Embedding -> recurrent stack (time-major [T, B, E]) -> linear on every step's output."""

    def __init__(self, cell, vocab, embed, hidden, layers, bidirectional, outputs):
        super().__init__()
        self.encoder = nn.Embedding(vocab, embed)
        kinds = {"rnn": lambda **kw: nn.RNN(nonlinearity="tanh", **kw), "gru": nn.GRU, "lstm": nn.LSTM}
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


def timed_reps(step, warmup, reps, steps):
    """Runs step() warmup times, then reps times `steps` calls; returns the seconds of each rep."""
    for _ in range(warmup):
        step()
    seconds = []
    for _ in range(reps):
        start = time.perf_counter()
        for _ in range(steps):
            step()
        seconds.append(time.perf_counter() - start)
    return seconds


def measure_train(model, cfg, warmup, reps, steps):
    _, _, vocab, _, _, _, _, batch, seq, outputs = cfg
    ids = torch.randint(vocab, (seq, batch))
    targets = torch.randint(outputs, (seq * batch,))
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = nn.CrossEntropyLoss()

    def step():
        logits, _ = model(ids)
        loss = loss_fn(logits.view(-1, outputs), targets)
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        optimizer.step()
        optimizer.zero_grad(set_to_none=False)

    seconds = timed_reps(step, warmup, reps, steps)
    return statistics.median(steps * seq * batch / s for s in seconds)


def measure_infer(model, cfg, warmup, reps, steps):
    _, _, vocab, _, _, _, _, batch, seq, _ = cfg
    ids = torch.randint(vocab, (seq, batch))
    model.eval()

    def step():
        model(ids)

    with torch.no_grad():
        seconds = timed_reps(step, warmup, reps, steps)
    return statistics.median(steps * seq * batch / s for s in seconds)


def measure_generate(model, cfg, warmup, reps, steps):
    vocab = cfg[2]
    model.eval()
    token = torch.zeros((1, 1), dtype=torch.long)
    state = None

    def step():
        nonlocal token, state
        logits, state = model(token, state)
        probs = torch.softmax(logits.view(-1), dim=0)
        token = torch.multinomial(probs, 1).view(1, 1)

    assert token.max() < vocab
    with torch.no_grad():
        seconds = timed_reps(step, warmup, reps, steps)
    return statistics.median(s / steps * 1e6 for s in seconds)


def setting_label(intra):
    blas = os.environ.get("OPENBLAS_NUM_THREADS", "unset")
    omp = os.environ.get("OMP_WAIT_POLICY", "default").lower()
    return f"intra={intra},blas={blas},omp={omp}"


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--measure", choices=sorted(MEASURE_NAMES), default="train")
    parser.add_argument("--config", action="append", default=[],
                        help="config name (repeatable); default: all for train, char-lstm-l for infer/generate")
    parser.add_argument("--intra", type=int, default=1, help="torch.set_num_threads (intra-op threads)")
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--steps", type=int, default=None,
                        help="steps per rep (tokens per rep for generate); default 5 / 3 / 200")
    parser.add_argument("--warmup", type=int, default=None, help="untimed steps first; default 2 (20 for generate)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--list", action="store_true", help="print the config names and exit")
    args = parser.parse_args()
    if args.list:
        print("\n".join(CONFIGS))
        return 0
    names = args.config or (list(CONFIGS) if args.measure == "train" else ["char-lstm-l"])
    unknown = [n for n in names if n not in CONFIGS]
    if unknown:
        parser.error(f"unknown config {', '.join(unknown)}; known: {', '.join(CONFIGS)}")
    if args.reps < 1:
        parser.error("--reps must be at least 1")
    steps = args.steps or DEFAULT_STEPS[args.measure]
    warmup = args.warmup if args.warmup is not None else (20 if args.measure == "generate" else 2)

    torch.set_num_threads(args.intra)
    measure = {"train": measure_train, "infer": measure_infer, "generate": measure_generate}[args.measure]
    for name in names:
        cfg = CONFIGS[name]
        torch.manual_seed(args.seed)
        model = Model(cfg[1], cfg[2], cfg[3], cfg[4], cfg[5], cfg[6], cfg[9])
        value = measure(model, cfg, warmup, args.reps, steps)
        print(json.dumps({
            "peer": "pytorch", "config": name, "measure": MEASURE_NAMES[args.measure],
            "threads": args.intra, "setting": setting_label(args.intra), "value": round(value, 3),
            "peak_rss_mb": round(peak_rss_mb(), 1), "version": torch.__version__,
        }), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
