#!/usr/bin/python3
"""Recurrent against PyTorch and TorchSharp on this machine, in one run (issue 5): the one command
that regenerates the peers table in docs/BENCHMARKS.md.

Measures: training tokens/s on the seven configs, batched inference tokens/s and batch-1
generation µs/token on char-lstm-l, the peak RSS of each of those processes, and GEMM GFLOP/s
against numpy/OpenBLAS (1024³ and the configs' own shapes, 1 and 2 threads).

Method. Every measurement is its own process (so its peak RSS is its own), which warms up, times
--reps reps and prints the median rep as a JSON line. Settings: Recurrent threads 1 and 2;
TorchSharp threads 1 and 2 (2 with libgomp's OMP_WAIT_POLICY passive and default); PyTorch intra-op threads 1 and 2 × OpenBLAS threads 1 and 2 ×
OMP_WAIT_POLICY passive/default (with one intra-op thread the wait policy does not apply, so six
settings). A peer with more settings than --keep first runs each once (an exploration round, one
rep, not counted) and keeps its --keep fastest. Then --rounds rounds: in each, measure by measure
and config by config, the peers alternate setting by setting, the peer order rotating by round,
so a burst of background load hits all of them alike. A cell is the median over rounds for one
(peer, setting); a peer's figure is its best setting's; the ratio is Recurrent / best peer
(for µs per token, best peer / Recurrent; for memory, Recurrent / lower peer).

Builds: by default `dotnet build -c Release` of bench/Recurrent.Bench and
bench/Recurrent.Bench.TorchSharp first (incremental; the TorchSharp build marks libtorch's
GLIBCXX_3.4.32 requirement weak, and this script does it again before running, which is
idempotent); --no-build skips that. A Recurrent subcommand or field that does not exist yet
(infer, generate, peak_rss_mb) shows as n/a.

Writes the table between <!-- peers:begin --> and <!-- peers:end --> in docs/BENCHMARKS.md
(the rest of the file is kept) and the raw JSON lines into docs/bench/peers.jsonl.
--quick (a smoke test: 1 round, 1 rep, 1 step, few GEMM shapes) writes neither unless --write.

Run it on an otherwise idle machine, with /usr/bin/python3 (Debian's python3-torch + OpenBLAS):
    /usr/bin/python3 scripts/bench_peers.py
"""
import argparse
import datetime
import json
import os
import platform
import re
import shlex
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHARED_TOOL = ROOT.parent / "shared" / "tools" / "weaken_glibcxx.py"
RECURRENT_DLL = ROOT / "bench/Recurrent.Bench/bin/Release/net10.0/Recurrent.Bench.dll"
TORCHSHARP_DLL = ROOT / "bench/Recurrent.Bench.TorchSharp/bin/Release/net10.0/Recurrent.Bench.TorchSharp.dll"
TORCHSHARP_NATIVE = TORCHSHARP_DLL.parent / "runtimes/linux-x64/native/libLibTorchSharp.so"
TORCH_SCRIPT = ROOT / "scripts/peer_bench_torch.py"
NUMPY_GEMM = ROOT / "scripts/bench_gemm_numpy.py"
DOC = ROOT / "docs/BENCHMARKS.md"
JSONL = ROOT / "docs/bench/peers.jsonl"
BEGIN, END = "<!-- peers:begin -->", "<!-- peers:end -->"
SECTION_TITLE = "## Peers: training, inference, generation, memory"

# name, cell, vocab, embed, hidden, layers, bidirectional, batch, seq, outputs: as TrainConfig.All
# in bench/Recurrent.Bench/TrainBenchmark.cs and CONFIGS in scripts/peer_bench_torch.py.
CONFIGS = [
    ("char-rnn-s", "tanh RNN", 65, 64, 256, 1, False, 32, 64, 65),
    ("char-gru-s", "GRU", 65, 64, 256, 1, False, 32, 64, 65),
    ("char-lstm-s", "LSTM", 65, 64, 256, 1, False, 32, 64, 65),
    ("char-lstm-l", "LSTM", 65, 128, 512, 2, False, 32, 128, 65),
    ("word-lstm-ptb-s", "LSTM", 10000, 200, 200, 2, False, 20, 20, 10000),
    ("word-lstm-ptb-m", "LSTM", 10000, 650, 650, 2, False, 20, 35, 10000),
    ("bilstm-tagger", "LSTM", 20000, 100, 128, 1, True, 32, 40, 20),
]
CONFIG = {c[0]: c for c in CONFIGS}
GATES = {"tanh RNN": 1, "GRU": 3, "LSTM": 4}
# Training steps per rep: about a second per rep at PyTorch's speed on this machine kind.
TRAIN_STEPS = {"char-rnn-s": 40, "char-gru-s": 16, "char-lstm-s": 16, "char-lstm-l": 1,
               "word-lstm-ptb-s": 12, "word-lstm-ptb-m": 2, "bilstm-tagger": 24}
INFER_STEPS = 4          # B32 T128 forward passes per rep
GEN_TOKENS = 300         # tokens per rep
GEN_CONFIG = "char-lstm-l"
MEASURE_KEY = {"train": "train_tokens_per_s", "infer": "infer_tokens_per_s", "generate": "gen_us_per_token"}
TARGET = {"train": 1.5, "infer": 1.5, "generate": 5.0, "gemm": 0.8, "memory": 1.0}
MEASURE_WORD = {"train_tokens_per_s": "train", "infer_tokens_per_s": "infer", "gen_us_per_token": "generate"}
PEERS = ("recurrent", "pytorch", "torchsharp")
PEER_TITLE = {"recurrent": "Recurrent", "pytorch": "PyTorch", "torchsharp": "TorchSharp", "openblas": "OpenBLAS"}
THREAD_ENV = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "OMP_WAIT_POLICY", "MKL_NUM_THREADS")


def log(message):
    print(message, file=sys.stderr, flush=True)


# ---------------------------------------------------------------- settings and commands

def settings(peer):
    """Each peer's thread settings: (label, extra args, environment)."""
    if peer == "pytorch":
        out = []
        for intra in (1, 2):
            for blas in (1, 2):
                for omp in (("passive",) if intra == 1 else ("passive", "default")):
                    env = {"OPENBLAS_NUM_THREADS": str(blas), "OMP_NUM_THREADS": str(intra)}
                    if omp == "passive":
                        env["OMP_WAIT_POLICY"] = "PASSIVE"
                    out.append((f"intra={intra},blas={blas},omp={omp}", ["--intra", str(intra)], env))
        return out
    if peer == "torchsharp":
        # libtorch's own libgomp: with two threads, its wait policy matters as PyTorch's does.
        return [("threads=1", ["--threads", "1"], {"OMP_NUM_THREADS": "1"}),
                ("threads=2,omp=passive", ["--threads", "2"], {"OMP_NUM_THREADS": "2", "OMP_WAIT_POLICY": "PASSIVE"}),
                ("threads=2,omp=default", ["--threads", "2"], {"OMP_NUM_THREADS": "2"})]
    return [(f"threads={t}", ["--threads", str(t)], {}) for t in (1, 2)]


def command(peer, measure, config, setting_args, reps, steps, warmup):
    """The argv lists to try in turn (a fallback with fewer options for Recurrent subcommands in flux)."""
    amount = ["--tokens" if measure == "generate" and peer != "pytorch" else "--steps", str(steps)]
    if peer == "pytorch":
        argv = [sys.executable, str(TORCH_SCRIPT), "--measure", measure, "--config", config, *setting_args,
                "--reps", str(reps), *amount]
        return [argv + (["--warmup", str(warmup)] if warmup is not None else [])]
    if peer == "torchsharp":
        argv = ["dotnet", str(TORCHSHARP_DLL), measure, "--config", config, *setting_args, "--reps", str(reps), *amount]
        return [argv + (["--warmup", str(warmup)] if warmup is not None else [])]
    base = ["dotnet", str(RECURRENT_DLL), measure, "--config", config, *setting_args]
    full = base + ["--reps", str(reps), *amount]
    fallback = base + (["--tokens", str(steps)] if measure == "generate" else [])
    return [full, fallback] if measure != "train" else [full]


def run_process(argv, env, timeout):
    """Runs argv; returns (rc, stdout, stderr, peak RSS in MB from wait4, wall seconds)."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        start = time.perf_counter()
        try:
            proc = subprocess.Popen(argv, stdout=out, stderr=err, env=env, cwd=ROOT)
        except OSError as e:
            return 127, "", str(e), None, 0.0
        killer = threading.Timer(timeout, proc.kill)
        killer.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        finally:
            killer.cancel()
        proc.returncode = os.waitstatus_to_exitcode(status)
        wall = time.perf_counter() - start
        out.seek(0)
        err.seek(0)
        return proc.returncode, out.read(), err.read(), usage.ru_maxrss / 1024.0, wall


def json_lines(text):
    rows = []
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("{"):
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError:
                pass
    return rows


class Runner:
    def __init__(self, args):
        self.args = args
        self.records = []          # every JSON line of this run, annotated
        self.base_env = {k: v for k, v in os.environ.items() if k not in THREAD_ENV}

    def measure(self, peer, measure, config, setting, reps, steps, warmup, phase, round_no):
        label, setting_args, extra_env = setting
        env = dict(self.base_env, **extra_env)
        want = MEASURE_KEY[measure]
        record, tried = None, []
        for argv in command(peer, measure, config, setting_args, reps, steps, warmup):
            rc, out, err, rss, wall = run_process(argv, env, self.args.timeout)
            tried.append(argv)
            rows = [r for r in json_lines(out) if r.get("measure") == want and r.get("config") == config]
            if rc == 0 and rows and isinstance(rows[0].get("value"), (int, float)):
                record = dict(rows[0])
                break
            lines = [l.strip() for l in (err + "\n" + out).splitlines() if l.strip() and not l.lstrip().startswith("{")]
            error = (lines[0] if lines else f"exit {rc}")[:300]
        if record is None:
            record = {"peer": peer, "config": config, "measure": want, "value": None, "error": error, "rc": rc}
        if record.get("setting") not in (None, label):
            record["reported_setting"] = record["setting"]
        record["setting"] = label   # the orchestrator's label, the same for every measure of a setting
        record.update(phase=phase, round=round_no, rss_wait4_mb=round(rss, 1) if rss else None,
                      wall_s=round(wall, 2), env={k: env[k] for k in THREAD_ENV if k in env},
                      command=shlex.join(tried[-1]))
        self.records.append(record)
        shown = "n/a (" + record["error"] + ")" if record["value"] is None else f"{record['value']:.1f}"
        log(f"  [{phase} {round_no}] {measure:8} {config:16} {peer:10} {label:28} {shown}  ({wall:.1f} s)")
        return record


# ---------------------------------------------------------------- the run

def job_plan(args):
    """(measure, config, steps) in run order."""
    plan = []
    if "train" in args.measures:
        for name in args.configs:
            plan.append(("train", name, 1 if args.quick else max(1, round(TRAIN_STEPS[name] * args.scale))))
    if "infer" in args.measures:
        plan.append(("infer", GEN_CONFIG, 1 if args.quick else max(1, round(INFER_STEPS * args.scale))))
    if "generate" in args.measures:
        plan.append(("generate", GEN_CONFIG, 20 if args.quick else max(10, round(GEN_TOKENS * args.scale))))
    return plan


def better(measure, a, b):
    return a < b if measure == "generate" else a > b


def run_peers(runner, args):
    peers = [p for p in PEERS if p not in args.skip]
    plan = job_plan(args)
    warmup = 1 if args.quick else None
    # Which settings each peer keeps, per (measure, config): all when they are few, else the fastest after one try each.
    kept = {}
    for measure, config, steps in plan:
        for peer in peers:
            options = settings(peer)
            if len(options) <= args.keep:
                kept[(measure, config, peer)] = options
                continue
            tried = []
            for option in options:
                r = runner.measure(peer, measure, config, option, 1, steps, warmup, "explore", 0)
                if r["value"] is not None:
                    tried.append((r["value"], option))
            tried.sort(key=lambda vo: vo[0], reverse=measure != "generate")
            kept[(measure, config, peer)] = [o for _, o in tried[:args.keep]] or options[:1]
    for round_no in range(1, args.rounds + 1):
        log(f"round {round_no}/{args.rounds}")
        rotation = peers[(round_no - 1) % len(peers):] + peers[:(round_no - 1) % len(peers)]
        for measure, config, steps in plan:
            width = max(len(kept[(measure, config, p)]) for p in peers)
            for i in range(width):
                for peer in rotation:
                    options = kept[(measure, config, peer)]
                    if i < len(options):
                        runner.measure(peer, measure, config, options[i], args.reps, steps, warmup, "timed", round_no)
        if "gemm" in args.measures:
            run_gemm_round(runner, args, round_no)


def gemm_shapes(args):
    """1024³ and, per config, the per-step product, the whole-sequence input projection, the decoder and
    the recurrent weights' gradient over the sequence."""
    shapes = ["1024x1024x1024:NN"]
    for name in args.configs:
        _, cell, vocab, embed, hidden, layers, bi, batch, seq, outputs = CONFIG[name]
        g = GATES[cell] * hidden
        shapes += [f"{batch}x{g}x{hidden}:NT", f"{seq * batch}x{g}x{embed}:NT",
                   f"{seq * batch}x{outputs}x{hidden * (2 if bi else 1)}:NT", f"{g}x{hidden}x{seq * batch}:TN"]
    shapes = list(dict.fromkeys(shapes))
    return shapes[:2] if args.quick else shapes


def run_gemm_round(runner, args, round_no):
    shapes = gemm_shapes(args)
    shape_args = [a for s in shapes for a in ("--shape", s)]
    reps, extra = (1, ["--min-seconds", "0.02"]) if args.quick else (args.gemm_reps, [])
    libs = ["recurrent", "openblas"] if round_no % 2 else ["openblas", "recurrent"]
    for threads in (1, 2):
        for lib in libs:
            if lib == "recurrent":
                argv = ["dotnet", str(RECURRENT_DLL), "gemm", "--threads", str(threads), "--reps", str(reps), *extra, *shape_args]
                env = dict(runner.base_env)
            else:
                argv = [sys.executable, str(NUMPY_GEMM), "--threads", str(threads), "--reps", str(reps), *extra, *shape_args]
                env = dict(runner.base_env, OPENBLAS_NUM_THREADS=str(threads))
            rc, out, err, rss, wall = run_process(argv, env, args.timeout)
            got = 0
            for line in out.splitlines():
                if line.startswith("#") or not line.strip():
                    continue
                parts = line.rstrip("\n").split("\t")
                if len(parts) != 6:
                    continue
                runner.records.append({"peer": lib, "config": parts[0], "measure": "gemm_gflops", "threads": threads,
                                       "setting": f"threads={threads}", "value": float(parts[5]), "phase": "timed",
                                       "round": round_no, "command": shlex.join(argv)})
                got += 1
            log(f"  [gemm {round_no}] {lib:10} threads={threads}: {got}/{len(shapes)} shapes ({wall:.1f} s)"
                + ("" if rc == 0 else f", exit {rc}: {(err.strip().splitlines() or [''])[-1][:200]}"))


# ---------------------------------------------------------------- aggregation and the table

def fmt(x, digits=0):
    if x is None:
        return "n/a"
    return f"{x:,.{digits}f}".replace(",", " ")


def aggregate(records):
    """(measure, config, peer) -> list of (setting, median value, median peak RSS MB, n), best first."""
    cells = {}
    for r in records:
        if r.get("phase") != "timed" or r.get("value") is None:
            continue
        key = (r["measure"], r["config"], r["peer"], r.get("setting", ""))
        cells.setdefault(key, []).append(r)
    out = {}
    for (measure, config, peer, setting), rows in cells.items():
        value = statistics.median(r["value"] for r in rows)
        rss = [r.get("rss_wait4_mb") or r.get("peak_rss_mb") for r in rows]
        rss = [x for x in rss if x]
        out.setdefault((measure, config, peer), []).append(
            (setting, value, statistics.median(rss) if rss else None, len(rows)))
    for (measure, _, _), cells_ in out.items():
        cells_.sort(key=lambda c: c[1], reverse=measure != "gen_us_per_token")
    return out


def verdict(ratio, target, lower_is_better=False):
    if ratio is None:
        return "n/a"
    met = ratio <= target if lower_is_better else ratio >= target
    return "**met**" if met else "**missed**"


def best(agg, measure, config, peer):
    cells = agg.get((measure, config, peer))
    return cells[0] if cells else None


def render(agg, meta, args):
    lines, tally = [], {"met": 0, "missed": 0, "n/a": 0}

    def count(v):
        tally[v.strip("*")] += 1
        return v

    def peer_cell(c, digits=0):
        return "n/a" if c is None else f"{fmt(c[1], digits)} ({c[0]})"

    if args.quick:
        lines += ["**Quick smoke run (1 round, 1 rep, 1 step): these numbers are not results.**", ""]
    lines += [f"Generated {meta['date']} by `{meta['command']}` at commit {meta['commit']}.",
              f"Machine: {meta['machine']}; load average {meta['load_before']} before, {meta['load_after']} after.",
              f"Versions: {meta['versions']}.",
              f"Each figure is the median over {args.rounds} round(s) of the best setting's per-process medians "
              f"({args.reps} timed rep(s) after a warm-up); settings in parentheses. Ratio = Recurrent / best peer "
              "(generation: best peer / Recurrent, so above 1 means Recurrent is faster; memory: Recurrent / lower peer).",
              ""]
    if any(m == "train_tokens_per_s" for m, _, _ in agg):
        lines += ["### Training throughput, tokens/s (target: ≥ 1.5× the best peer)", "",
                  "| config | cell, vocab, embed, hidden, layers, bidir, batch, seq | Recurrent | PyTorch 1.13 | TorchSharp | ratio | target |",
                  "|---|---|---:|---:|---:|---:|---|"]
        for name in args.configs:
            _, cell, vocab, embed, hidden, layers, bi, batch, seq, outputs = CONFIG[name]
            definition = f"{cell}, {vocab}, {embed}, {hidden}, {layers}, {'yes' if bi else 'no'}, {batch}, {seq}" + \
                (f", {outputs} outputs" if outputs != vocab else "")
            rec = best(agg, "train_tokens_per_s", name, "recurrent")
            peers = [c for c in (best(agg, "train_tokens_per_s", name, p) for p in ("pytorch", "torchsharp")) if c]
            top = max((c[1] for c in peers), default=None)
            ratio = rec[1] / top if rec and top else None
            lines.append(f"| {name} | {definition} | {peer_cell(rec)} | {peer_cell(best(agg, 'train_tokens_per_s', name, 'pytorch'))} "
                         f"| {peer_cell(best(agg, 'train_tokens_per_s', name, 'torchsharp'))} | {fmt(ratio, 2)} "
                         f"| {count(verdict(ratio, TARGET['train']))} |")
        lines.append("")
    rows = []
    for measure, title, target, digits in (("infer_tokens_per_s", "batched inference B32 T128, tokens/s", "≥ 1.5×", 0),
                                           ("gen_us_per_token", "batch-1 generation, µs/token (lower is better)", "≥ 5×", 1)):
        rec = best(agg, measure, GEN_CONFIG, "recurrent")
        peers = [c for c in (best(agg, measure, GEN_CONFIG, p) for p in ("pytorch", "torchsharp")) if c]
        if not rec and not peers:
            continue
        if measure == "gen_us_per_token":
            top = min((c[1] for c in peers), default=None)
            ratio = top / rec[1] if rec and top else None
            v = verdict(ratio, TARGET["generate"])
        else:
            top = max((c[1] for c in peers), default=None)
            ratio = rec[1] / top if rec and top else None
            v = verdict(ratio, TARGET["infer"])
        rows.append(f"| {title} | {peer_cell(rec, digits)} | {peer_cell(best(agg, measure, GEN_CONFIG, 'pytorch'), digits)} "
                    f"| {peer_cell(best(agg, measure, GEN_CONFIG, 'torchsharp'), digits)} | {fmt(ratio, 2)} | {target}: {count(v)} |")
    if rows:
        lines += [f"### Inference and generation, {GEN_CONFIG}", "",
                  "| measure | Recurrent | PyTorch 1.13 | TorchSharp | ratio | target |", "|---|---:|---:|---:|---:|---|", *rows, ""]
    rows = []
    for measure in ("train_tokens_per_s", "infer_tokens_per_s", "gen_us_per_token"):
        for name in (args.configs if measure == "train_tokens_per_s" else [GEN_CONFIG]):
            cells = {p: best(agg, measure, name, p) for p in PEERS}
            if not any(cells.values()):
                continue
            mem = {p: (c[2] if c else None) for p, c in cells.items()}
            lower = min((mem[p] for p in ("pytorch", "torchsharp") if mem[p]), default=None)
            ratio = mem["recurrent"] / lower if mem["recurrent"] and lower else None
            rows.append(f"| {MEASURE_WORD[measure]} {name} | {fmt(mem['recurrent'])} | {fmt(mem['pytorch'])} | "
                        f"{fmt(mem['torchsharp'])} | {fmt(ratio, 2)} | {count(verdict(ratio, TARGET['memory'], True))} |")
    if rows:
        lines += ["### Peak memory, MB (peak RSS of the measuring process, best setting; target: ≤ the lower peer)", "",
                  "| measure, config | Recurrent | PyTorch 1.13 | TorchSharp | Recurrent / lower peer | target |",
                  "|---|---:|---:|---:|---:|---|", *rows, ""]
    gemm = {}
    for (measure, shape, peer), cells in agg.items():
        if measure == "gemm_gflops":
            for setting, value, _, _ in cells:
                gemm[(shape, setting, peer)] = value
    if gemm:
        lines += ["### GEMM against numpy/OpenBLAS, GFLOP/s (target: ≥ 0.8)", "",
                  "`MxNxK:NT` is C[m×n] = A[m×k]·Bᵀ with B stored [n×k], as a layer multiplies by PyTorch-layout weights: "
                  "per config the per-step product (batch × gates·hidden × hidden), the whole-sequence input projection "
                  "(seq·batch × gates·hidden × embed), the decoder (seq·batch × outputs × hidden) and, `:TN`, "
                  "the recurrent weights' gradient dW_hh = dGᵀ·H over the sequence (gates·hidden × hidden × seq·batch).", "",
                  "| shape | threads | Recurrent | OpenBLAS | ratio | target |", "|---|---:|---:|---:|---:|---|"]
        for threads in ("threads=1", "threads=2"):
            for shape in gemm_shapes(args):
                a, b = gemm.get((shape, threads, "recurrent")), gemm.get((shape, threads, "openblas"))
                ratio = a / b if a and b else None
                lines.append(f"| {shape} | {threads[-1]} | {fmt(a, 1)} | {fmt(b, 1)} | {fmt(ratio, 2)} | {count(verdict(ratio, TARGET['gemm']))} |")
        lines.append("")
    lines.append(f"Targets: {tally['met']} met, {tally['missed']} missed, {tally['n/a']} not measured.")
    lines += ["", "<details><summary>Every setting measured (median over rounds; n = rounds)</summary>", "",
              "| measure | config | peer | setting | median | peak RSS MB | n |", "|---|---|---|---|---:|---:|---:|"]
    for (measure, config, peer), cells in sorted(agg.items()):
        if measure == "gemm_gflops":
            continue
        for setting, value, rss, n in cells:
            lines.append(f"| {measure} | {config} | {peer} | {setting} | {fmt(value, 1)} | {fmt(rss)} | {n} |")
    lines += ["", "</details>"]
    return "\n".join(lines)


def write_doc(table):
    text = DOC.read_text() if DOC.exists() else "# Benchmarks\n"
    block = f"{BEGIN}\n{table}\n{END}"
    if BEGIN in text and END in text:
        text = text[:text.index(BEGIN)] + block + text[text.index(END) + len(END):]
    else:
        text = text.rstrip("\n") + f"\n\n{SECTION_TITLE}\n\n{block}\n"
    DOC.write_text(text)


# ---------------------------------------------------------------- machine and versions

def sh(cmd):
    try:
        return subprocess.run(cmd, shell=True, capture_output=True, text=True, cwd=ROOT, timeout=120).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        return ""


def machine():
    lscpu = sh("lscpu")
    field = lambda name: (re.search(rf"^{name}:\s*(.*)$", lscpu, re.M) or [None, "?"])[1]
    return f"{field('Model name')} (family {field('CPU family')}, model {field('Model')}), {os.cpu_count()} cores, {platform.release()}"


def versions(records):
    torch_v = next((r["version"] for r in records if r.get("peer") == "pytorch" and r.get("version")), None)
    ts_v = next((r["version"] for r in records if r.get("peer") == "torchsharp" and r.get("version")), None)
    py = shlex.quote(sys.executable)
    torch_v = torch_v or sh(py + " -c 'import torch; print(torch.__version__)'")
    openblas = sh("dpkg-query -W -f='${Version}' libopenblas0-pthread") or "unknown"
    numpy_v = sh(py + " -c 'import numpy; print(numpy.__version__)'")
    if not ts_v:
        csproj = TORCHSHARP_DLL.parents[3] / "Recurrent.Bench.TorchSharp.csproj"
        found = re.search(r'"TorchSharp-cpu" Version="([^"]+)"', csproj.read_text()) if csproj.exists() else None
        ts_v = f"TorchSharp-cpu {found[1]} (not run)" if found else "TorchSharp n/a"
    parts = [f"PyTorch {torch_v}", ts_v, f"OpenBLAS {openblas}", f"numpy {numpy_v}",
             f".NET SDK {sh('dotnet --version')}"]
    return ", ".join(parts)


def build(args):
    for project in ("bench/Recurrent.Bench",) + (() if "torchsharp" in args.skip else ("bench/Recurrent.Bench.TorchSharp",)):
        log(f"building {project}")
        rc = subprocess.run(["dotnet", "build", "-c", "Release", project, "-nologo", "-v", "quiet"], cwd=ROOT).returncode
        if rc != 0:
            log(f"build of {project} failed (exit {rc}); its cells will show n/a")


def weaken_torchsharp():
    if TORCHSHARP_NATIVE.exists() and SHARED_TOOL.exists():
        subprocess.run([sys.executable, str(SHARED_TOOL), str(TORCHSHARP_NATIVE)], cwd=ROOT, capture_output=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--reps", type=int, default=3, help="timed reps per process (median reported)")
    parser.add_argument("--keep", type=int, default=2, help="settings each peer keeps after the exploration round")
    parser.add_argument("--configs", default=",".join(CONFIG), help="comma-separated training configs")
    parser.add_argument("--measures", default="train,infer,generate,gemm", help="comma-separated: train,infer,generate,gemm")
    parser.add_argument("--scale", type=float, default=1.0, help="multiply the steps per rep (longer reps, steadier medians)")
    parser.add_argument("--gemm-reps", type=int, default=3)
    parser.add_argument("--timeout", type=float, default=900, help="seconds before one process is killed")
    parser.add_argument("--quick", action="store_true", help="smoke test: 1 round, 1 rep, 1 step; writes nothing unless --write")
    parser.add_argument("--write", action="store_true", help="with --quick: write docs anyway")
    parser.add_argument("--no-write", action="store_true", help="print the table only")
    parser.add_argument("--no-build", action="store_true", help="skip `dotnet build -c Release` of the two bench projects")
    for peer in ("pytorch", "torchsharp", "gemm"):
        parser.add_argument(f"--skip-{peer}", action="store_true")
    args = parser.parse_args()
    args.configs = [c for c in args.configs.split(",") if c]
    args.measures = [m for m in args.measures.split(",") if m]
    bad = [c for c in args.configs if c not in CONFIG] + [m for m in args.measures if m not in ("train", "infer", "generate", "gemm")]
    if bad:
        parser.error(f"unknown config or measure: {', '.join(bad)}")
    if args.skip_gemm:
        args.measures = [m for m in args.measures if m != "gemm"]
    args.skip = {p for p in ("pytorch", "torchsharp") if getattr(args, f"skip_{p}")}
    if args.quick:
        args.rounds, args.reps = 1, 1
    write = (not args.quick or args.write) and not args.no_write

    started = time.time()
    if not args.no_build:
        build(args)
    weaken_torchsharp()
    load_before = open("/proc/loadavg").read().split()[:3]
    runner = Runner(args)
    run_peers(runner, args)
    load_after = open("/proc/loadavg").read().split()[:3]
    dirty = " (with uncommitted changes)" if sh("git status --porcelain --untracked-files=no -- src bench scripts") else ""
    meta = {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "command": shlex.join(["/usr/bin/python3", "scripts/bench_peers.py", *sys.argv[1:]]),
        "commit": (sh("git rev-parse --short HEAD") or "unknown") + dirty,
        "machine": machine(),
        "load_before": " ".join(load_before), "load_after": " ".join(load_after),
        "versions": versions(runner.records),
        "wall_s": round(time.time() - started, 1),
    }
    table = render(aggregate(runner.records), meta, args)
    print(table)
    log(f"took {meta['wall_s']:.0f} s")
    if write:
        write_doc(table)
        JSONL.parent.mkdir(parents=True, exist_ok=True)
        with open(JSONL, "w") as f:
            f.write(json.dumps({"run": meta}) + "\n")
            for r in runner.records:
                f.write(json.dumps(r) + "\n")
        log(f"wrote {DOC.relative_to(ROOT)} (between the peers markers) and {JSONL.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
