#!/usr/bin/python3
"""Recurrent against PyTorch, TorchSharp and ONNX Runtime on this machine, in one run (issues 5, 10
and 12): the one command that regenerates the peers tables in docs/BENCHMARKS.md.

Measures: training tokens/s on the configs of bench/configs.json, batched inference tokens/s and
batch-1 generation µs/token on its inference config, the peak RSS of each of those processes, and
GEMM GFLOP/s against numpy/OpenBLAS (1024³ and the configs' own shapes, 1 and 2 threads). ONNX
Runtime (bench/Recurrent.Bench.Onnx: Recurrent's own ONNX export of the inference config's model,
the same weights, run by Microsoft.ML.OnnxRuntime) is a peer for inference and generation only;
the script exports the model once (checking ONNX Runtime's outputs against Recurrent's) before
measuring.

Instruction sets. Everything runs once per ISA column: the machine's best, and, on an AVX-512
machine, AVX2 as well, with every contender pinned to it:
    Recurrent    RECURRENT_SIMD=avx2 and DOTNET_EnableAVX512=0 (.NET 10's switch: the runtime's
                 own vector code, which the cell kernels use through System.Numerics.Tensors,
                 stays off AVX-512 too)
    OpenBLAS     OPENBLAS_CORETYPE=Haswell (numpy's and PyTorch's BLAS)
    oneDNN       ONEDNN_MAX_CPU_ISA=AVX2 (PyTorch 1.13 and libtorch)
    MKL          MKL_ENABLE_INSTRUCTIONS=AVX2 (libtorch's BLAS, TorchSharp)
    ATen         ATEN_CPU_CAPABILITY=avx2 (PyTorch's and libtorch's own kernels)
    ONNX Runtime none: its MLAS picks its kernels from CPUID (platform.cpp) and offers no variable or
                 session option to cap them, so in the AVX2 column it still runs AVX-512; its cells
                 there are marked † and left out of the ratios (the probe shows its 1024³ rate).
Each pin is verified before the column is measured, by what the library itself reports and by the
1024³ GEMM rate it gives (see the pin table in the output): Recurrent prints its SIMD level and
whether Vector512 is accelerated; numpy's OpenBLAS its core (openblas_get_corename); PyTorch its
ATen capability (torch.__config__.show()), its OpenBLAS core and oneDNN's ISA (ONEDNN_VERBOSE=1);
TorchSharp oneDNN's and MKL's ISA (ONEDNN_VERBOSE=1, MKL_VERBOSE=1); ONNX Runtime the kernel family
MLAS picks by its own CPUID rule. Every Recurrent and PyTorch result line carries the same facts again
and is checked too (ONNX Runtime's lines carry mlas_isa).

OpenBLAS and the environment. OpenBLAS 0.3.21 does not know every CPU: on some (e.g. Intel family 6
model 207) its autodetection falls back to the generic Prescott kernels (SSE3, about a fifth of
the speed), which is why some machines here get OPENBLAS_CORETYPE (and OPENBLAS_L2_SIZE) set in
the environment. This script never takes OPENBLAS_CORETYPE from the environment silently: for the
best column, --openblas-core auto (the default) measures the autodetected core and the best ISA's
core (SkylakeX for AVX-512, Haswell for AVX2) for a second each and keeps the faster;
--openblas-core inherit keeps the inherited value; any other value is used as the core. The AVX2
column always uses Haswell. OPENBLAS_L2_SIZE, a cache size rather than an ISA, is passed through
as inherited. The output says what was inherited and what was used.

The ceiling. For each config and column: the tokens/s it would reach if every FLOP ran at
OpenBLAS's 2-thread SGEMM rate R (GFLOP/s at 1024³, measured in the same run and column):
    forward matmul FLOPs per token  F = Σ_layers D · 2·G·H·(in_l + H)  +  2·(D·H)·outputs
        (G gates: 1 tanh RNN, 3 GRU, 4 LSTM; D directions; in_0 = embed, in_l = D·H after;
         the embedding is a lookup, no FLOPs)
    training ceiling   = R·1e9 / (3·F)   (forward, and backward's two products per matmul)
    inference ceiling  = R·1e9 / F
Each contender is shown as a fraction of it.

Method. Every measurement is its own process (so its peak RSS is its own), which warms up for
--warmup-seconds, then times --reps reps over --seconds in all (10 s by default: steady state, what a
user's long run sees) and prints the median rep as a JSON line. Settings: Recurrent threads 1 and 2;
TorchSharp threads 1 and 2 (2 with libgomp's OMP_WAIT_POLICY passive and default); PyTorch intra-op
threads 1 and 2 × OpenBLAS threads 1 and 2 × OMP_WAIT_POLICY passive/default (with one intra-op
thread the wait policy does not apply, so six settings); ONNX Runtime intra-op threads 1 and 2 (2 with
its pool's spinning on, the default, and off; inter-op threads 1, graph optimisation ORT_ENABLE_ALL). A peer with more settings than --keep first
runs each once per column (an exploration run of --explore-seconds, not counted) and keeps its
--keep fastest. Then --rounds rounds: in each, column by column, measure by measure and config by
config, the peers alternate setting by setting, the peer order rotating by round, so a burst of
background load hits all of them alike. A cell is the median over rounds for one (peer, setting);
a peer's figure is its best setting's; the ratio is Recurrent / best peer (for µs per token, best
peer / Recurrent; for memory, Recurrent / lower peer). GEMM shapes are timed for --gemm-seconds
each (a GEMM kernel has no JIT warm-up beyond its first calls).

--vector adds Recurrent at RECURRENT_SIMD=vector (the portable System.Numerics.Vector path that
ARM64 runs) to the AVX2 column (else the best), for its ratio to the same column's Recurrent.

Builds: by default `dotnet build -c Release` of bench/Recurrent.Bench, bench/Recurrent.Bench.TorchSharp
and bench/Recurrent.Bench.Onnx first (incremental; the TorchSharp build marks libtorch's
GLIBCXX_3.4.32 requirement weak, and this script does it again before running, which is
idempotent); --no-build skips that.

Writes the tables between <!-- peers:begin --> and <!-- peers:end --> in docs/BENCHMARKS.md
(the rest of the file is kept) and the raw JSON lines into docs/bench/peers.jsonl.
--quick (a smoke test: 1 round, 1 rep, about a second per measurement, few GEMM shapes) writes
neither unless --write.

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
ONNX_DLL = ROOT / "bench/Recurrent.Bench.Onnx/bin/Release/net10.0/Recurrent.Bench.Onnx.dll"
ONNX_MODEL_DIR = ONNX_DLL.parent / "models"   # the exported models the ONNX Runtime peer loads (build output, ignored)
TORCH_SCRIPT = ROOT / "scripts/peer_bench_torch.py"
NUMPY_GEMM = ROOT / "scripts/bench_gemm_numpy.py"
CONFIG_FILE = ROOT / "bench/configs.json"
DOC = ROOT / "docs/BENCHMARKS.md"
JSONL = ROOT / "docs/bench/peers.jsonl"
BEGIN, END = "<!-- peers:begin -->", "<!-- peers:end -->"
SECTION_TITLE = "## Peers: training, inference, generation, memory"

_configs = json.loads(CONFIG_FILE.read_text())
CONFIG = {c["name"]: c for c in _configs["configs"]}
GEN_CONFIG = _configs["inference"]
CELL_TITLE = {"rnn_tanh": "tanh RNN", "gru": "GRU", "lstm": "LSTM"}
GATES = {"rnn_tanh": 1, "gru": 3, "lstm": 4}
GEN_TOKENS = 400         # tokens per generate call (each contender)
MEASURE_KEY = {"train": "train_tokens_per_s", "infer": "infer_tokens_per_s", "generate": "gen_us_per_token"}
MEASURE_WORD = {"train_tokens_per_s": "train", "infer_tokens_per_s": "infer", "gen_us_per_token": "generate"}
PEERS = ("recurrent", "pytorch", "torchsharp", "onnxruntime")
OTHERS = PEERS[1:]
PEER_TITLE = {"pytorch": "PyTorch 1.13", "torchsharp": "TorchSharp", "onnxruntime": "ONNX Runtime"}
# Peers that take part in some measures only (ONNX Runtime runs exported models: no training).
PEER_MEASURES = {"onnxruntime": ("infer", "generate")}
VECTOR_PEER = "recurrent-vector"
THREAD_ENV = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "OMP_WAIT_POLICY", "MKL_NUM_THREADS")
# What pins an ISA; never inherited (an inherited value is reported and replaced by the column's own).
PIN_ENV = ("RECURRENT_SIMD", "DOTNET_EnableAVX512", "DOTNET_EnableAVX512F", "DOTNET_PreferredVectorBitWidth",
           "DOTNET_MaxVectorTBitWidth", "OPENBLAS_CORETYPE", "ONEDNN_MAX_CPU_ISA", "DNNL_MAX_CPU_ISA",
           "MKL_ENABLE_INSTRUCTIONS", "ATEN_CPU_CAPABILITY")
AVX2_PINS = {"RECURRENT_SIMD": "avx2", "DOTNET_EnableAVX512": "0", "OPENBLAS_CORETYPE": "Haswell",
             "ONEDNN_MAX_CPU_ISA": "AVX2", "MKL_ENABLE_INSTRUCTIONS": "AVX2", "ATEN_CPU_CAPABILITY": "avx2"}
ISA_TITLE = {"avx512": "AVX-512", "avx2": "AVX2", "other": "no AVX2"}
# OpenBLAS 0.3.21 core names by the widest ISA their SGEMM kernels use.
OPENBLAS_CORE_ISA = {"SkylakeX": "avx512", "Cooperlake": "avx512", "SapphireRapids": "avx512",
                     "Haswell": "avx2", "Zen": "avx2"}
OPENBLAS_CORE_FOR = {"avx512": "SkylakeX", "avx2": "Haswell"}
ISA_RANK = {"other": 0, "avx2": 1, "avx512": 2}
CEILING_SHAPE = "1024x1024x1024:NN"
# Issue 10's targets.
TARGET_TEXT = {"train": "≥ 1.0× best peer and (≥ 1.3× or ≥ 85% of ceiling)", "infer": "≥ 1.3× best peer or ≥ 85% of ceiling",
               "generate": "≥ 5× best peer", "memory": "≤ lower peer", "gemm": "≥ 1.0× OpenBLAS"}


def log(message):
    print(message, file=sys.stderr, flush=True)


def forward_flops_per_token(cfg):
    """Matmul FLOPs of one token's forward pass: every layer's input and recurrent products, and the decoder."""
    g, h, d = GATES[cfg["cell"]], cfg["hidden"], 2 if cfg["bidirectional"] else 1
    flops = 0
    for layer in range(cfg["layers"]):
        inputs = cfg["embed"] if layer == 0 else d * h
        flops += d * 2 * g * h * (inputs + h)
    return flops + 2 * d * h * cfg["outputs"]


def ceiling_tokens_per_s(measure, cfg, gflops):
    """Tokens/s if every FLOP ran at gflops: 3 × forward FLOPs a token for training, 1 × for inference."""
    if gflops is None:
        return None
    factor = 3 if measure == "train_tokens_per_s" else 1
    return gflops * 1e9 / (factor * forward_flops_per_token(cfg))


# ---------------------------------------------------------------- machine, ISAs and pins

def cpu_flags():
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("flags"):
                return set(line.split(":", 1)[1].split())
    return set()


def machine_isa():
    flags = cpu_flags()
    return "avx512" if "avx512f" in flags else "avx2" if {"avx2", "fma"} <= flags else "other"


def column_isas(args):
    """The ISA columns: 'best' (the machine's own) and 'avx2' when the machine has more than AVX2."""
    best = machine_isa()
    wanted = args.isas
    out = []
    if "best" in wanted:
        out.append("best")
    if "avx2" in wanted and best == "avx512":
        out.append("avx2")
    return out


def isa_of(column):
    return machine_isa() if column == "best" else column


class Pins:
    """The environment of each ISA column, and the evidence that its pins took effect."""

    def __init__(self, runner, args):
        self.runner = runner
        self.args = args
        self.inherited = {k: os.environ[k] for k in PIN_ENV + ("OPENBLAS_L2_SIZE",) if k in os.environ}
        self.env = {}          # column -> pin variables set for every contender
        self.notes = {}        # column -> lines for the doc
        self.checks = {}       # column -> [(contender, reported, GFLOP/s, verified, expected)]

    def decide(self, column):
        isa = isa_of(column)
        notes = []
        if column == "avx2":
            env = dict(AVX2_PINS)
        else:
            env = {}
            core = self.best_openblas_core(isa, notes)
            if core:
                env["OPENBLAS_CORETYPE"] = core
        self.env[column] = env
        self.notes[column] = notes
        return env

    def best_openblas_core(self, isa, notes):
        """OPENBLAS_CORETYPE for the best column (None: leave OpenBLAS to autodetect)."""
        choice = self.args.openblas_core
        inherited = self.inherited.get("OPENBLAS_CORETYPE")
        if choice == "inherit":
            notes.append(f"OPENBLAS_CORETYPE={inherited or 'unset'} inherited from the environment (--openblas-core inherit).")
            return inherited
        if choice != "auto":
            notes.append(f"OPENBLAS_CORETYPE={choice} (--openblas-core).")
            return choice
        seconds = 0.2 if self.args.quick else 1.0
        auto_core, auto_rate = self.numpy_rate(None, 1, seconds)
        target = OPENBLAS_CORE_FOR.get(isa)
        if target is None or auto_core == target:
            notes.append(f"OpenBLAS autodetects {auto_core} ({fmt(auto_rate, 1)} GFLOP/s at 1024³, 1 thread); kept.")
            return None
        target_core, target_rate = self.numpy_rate(target, 1, seconds)
        keep_auto = (auto_rate or 0) >= (target_rate or 0)
        notes.append(f"OpenBLAS autodetects {auto_core} ({fmt(auto_rate, 1)} GFLOP/s at 1024³, 1 thread); "
                     f"OPENBLAS_CORETYPE={target} gives {target_core} ({fmt(target_rate, 1)} GFLOP/s): "
                     f"{'kept the autodetected core' if keep_auto else f'set OPENBLAS_CORETYPE={target}'}.")
        return None if keep_auto else target

    def numpy_rate(self, core, threads, seconds):
        """(core OpenBLAS reports, 1024³ GFLOP/s) under OPENBLAS_CORETYPE=core (None: autodetect)."""
        env = dict(self.runner.base_env, OPENBLAS_NUM_THREADS=str(threads))
        if core:
            env["OPENBLAS_CORETYPE"] = core
        argv = [sys.executable, str(NUMPY_GEMM), "--threads", str(threads), "--reps", "1", "--seconds", str(seconds),
                "--warmup-seconds", str(seconds / 2), "--shape", CEILING_SHAPE]
        rc, out, err, _, _ = run_process(argv, env, self.args.timeout)
        found = re.search(r"OpenBLAS core (\S+),", out)
        return (found[1] if found else "unknown"), gemm_rates(out).get(CEILING_SHAPE)

    def verify(self, column, peers):
        """Runs each contender's probe under the column's pins; records what it reports and whether that is the pin."""
        isa = isa_of(column)
        env = self.env[column]
        seconds = 0.3 if self.args.quick else 1.0
        checks = []
        # Recurrent: its gemm header says the level and whether Vector512 is accelerated.
        argv = ["dotnet", str(RECURRENT_DLL), "gemm", "--threads", "1", "--reps", "1", "--seconds", str(seconds),
                "--warmup-seconds", str(seconds / 2), "--shape", CEILING_SHAPE]
        rc, out, err, _, _ = run_process(argv, dict(self.runner.base_env, **env), self.args.timeout)
        header = next((l for l in out.splitlines() if l.startswith("# Recurrent GEMM")), "")
        simd = re.search(r"simd=(\w+)", header)
        v512 = re.search(r"vector512=(\w+)", header)
        want = {"avx512": "Avx512", "avx2": "Avx2"}.get(isa)
        reported = f"SIMD {simd[1] if simd else '?'}, Vector512 accelerated: {v512[1] if v512 else '?'}"
        ok = bool(simd) and (want is None or simd[1] == want) and (isa == "avx512" or (v512 and v512[1] == "false"))
        checks.append(("Recurrent", reported, gemm_rates(out).get(CEILING_SHAPE), ok, f"SIMD {want or 'best'}"))
        # OpenBLAS through numpy.
        core, rate = self.numpy_rate(env.get("OPENBLAS_CORETYPE"), 1, seconds)
        expected_core = env.get("OPENBLAS_CORETYPE")
        ok = core == expected_core if expected_core else core != "unknown"
        checks.append(("OpenBLAS (numpy)", f"core {core}", rate, ok, f"core {expected_core or '(autodetected)'}"))
        if "pytorch" in peers:
            argv = [sys.executable, str(TORCH_SCRIPT), "--measure", "probe", "--seconds", str(seconds)]
            rc, out, err, _, _ = run_process(argv, dict(self.runner.base_env, ONEDNN_VERBOSE="1", **env), self.args.timeout)
            probe = next((r for r in json_lines(out) if r.get("measure") == "probe"), {})
            onednn = onednn_isa(out)
            aten = probe.get("aten_capability")
            blas = probe.get("openblas_core")
            reported = f"ATen {aten}, OpenBLAS core {blas}, oneDNN {onednn}"
            if column == "avx2":
                ok = aten == "AVX2" and blas == "Haswell" and onednn is not None and "AVX2" in onednn and "512" not in onednn
                expected = "ATen AVX2, OpenBLAS Haswell, oneDNN AVX2"
            else:
                ok = blas == (expected_core or blas) and aten is not None
                expected = f"OpenBLAS {expected_core or 'autodetected'}; ATen and oneDNN at their defaults"
            checks.append(("PyTorch", reported, probe.get("matmul_1024_gflops"), ok, expected))
        if "torchsharp" in peers:
            argv = ["dotnet", str(TORCHSHARP_DLL), "probe", "--seconds", str(seconds)]
            rc, out, err, _, _ = run_process(argv, dict(self.runner.base_env, ONEDNN_VERBOSE="1", MKL_VERBOSE="1", **env),
                                             self.args.timeout)
            probe = next((r for r in json_lines(out) if r.get("measure") == "probe"), {})
            onednn, mkl = onednn_isa(out), mkl_isa(out)
            reported = f"oneDNN {onednn}, MKL {mkl}"
            if column == "avx2":
                ok = (onednn is not None and "AVX2" in onednn and "512" not in onednn
                      and mkl is not None and "AVX2" in mkl and "512" not in mkl)
                expected = "oneDNN AVX2, MKL AVX2 (ATen: ATEN_CPU_CAPABILITY, which TorchSharp does not report)"
            else:
                ok = onednn is not None and mkl is not None
                expected = "oneDNN and MKL at their defaults"
            checks.append(("TorchSharp", reported, probe.get("matmul_1024_gflops"), ok, expected))
        if "onnxruntime" in peers:
            argv = ["dotnet", str(ONNX_DLL), "probe", "--seconds", str(seconds)]
            rc, out, err, _, _ = run_process(argv, dict(self.runner.base_env, **env), self.args.timeout)
            probe = next((r for r in json_lines(out) if r.get("measure") == "probe"), {})
            mlas = probe.get("mlas_isa")
            reported = f"MLAS {mlas or '?'} (chosen from CPUID; no switch)"
            if column == "avx2":
                # None: no pin exists; True only on a machine whose best is AVX2 anyway.
                ok = None if mlas != "FMA3/AVX2" else True
                expected = "MLAS FMA3/AVX2; ONNX Runtime has no variable or option to cap it"
            else:
                ok = mlas is not None
                expected = "MLAS at its default"
            checks.append(("ONNX Runtime", reported, probe.get("matmul_1024_gflops"), ok, expected))
        self.checks[column] = checks
        for name, reported, rate, ok, expected in checks:
            log(f"  [pins {column}] {name:17} {reported}; {fmt(rate, 1)} GFLOP/s at 1024³ (1 thread): "
                f"{pin_word(ok, expected).replace('**', '')}")

    def describe(self, column):
        env = self.env.get(column, {})
        pins = ", ".join(f"`{k}={v}`" for k, v in env.items()) or "none (each library at its own choice)"
        l2 = self.inherited.get("OPENBLAS_L2_SIZE")
        inherited = [f"{k}={v}" for k, v in self.inherited.items() if k != "OPENBLAS_L2_SIZE"]
        lines = [f"Pins: {pins}."]
        lines += self.notes.get(column, [])
        if inherited:
            lines.append(f"Inherited from the environment, not passed on (the pins above decide): {', '.join(inherited)}.")
        lines.append(f"OPENBLAS_L2_SIZE: {l2 + ' (inherited, passed through)' if l2 else 'unset'}.")
        return lines


def pin_word(ok, expected):
    """A pin check's verdict: True verified, False contradicted, None no pin exists for that library."""
    if ok is None:
        return f"**not pinned** (no switch exists; would be {expected.split(';')[0]})"
    return "verified" if ok else f"**not as pinned** (expected {expected})"


def onednn_isa(text):
    found = re.search(r"(?:onednn|dnnl)_verbose,(?:v\d+,)?info,cpu,isa:([^\n]*)", text)
    return found[1].strip() if found else None


def mkl_isa(text):
    found = re.search(r"MKL_VERBOSE .*?(Intel\(R\) Advanced Vector Extensions[^,]*|Intel\(R\) Streaming SIMD[^,]*)", text)
    return found[1].replace("Intel(R) ", "").strip() if found else None


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
    if peer == "onnxruntime":
        # ONNX Runtime's own intra-op pool (no OpenMP): with two threads, whether its workers spin matters as a wait policy does.
        return [("threads=1", ["--threads", "1"], {}), ("threads=2", ["--threads", "2"], {}),
                ("threads=2,spin=off", ["--threads", "2", "--spin", "0"], {})]
    return [(f"threads={t}", ["--threads", str(t)], {}) for t in (1, 2)]


def command(peer, measure, config, setting_args, timing):
    """The argv of one measurement; timing = (reps, seconds, warm-up seconds)."""
    reps, seconds, warmup = timing
    common = ["--reps", str(reps), "--seconds", str(seconds), "--warmup-seconds", str(warmup)]
    if measure == "generate":
        common += ["--tokens", str(GEN_TOKENS)]
    if peer == "pytorch":
        return [sys.executable, str(TORCH_SCRIPT), "--measure", measure, "--config", config, *setting_args, *common]
    if peer == "onnxruntime":
        return ["dotnet", str(ONNX_DLL), measure, "--config", config, "--model", str(onnx_model(config)), *setting_args, *common]
    dll = TORCHSHARP_DLL if peer == "torchsharp" else RECURRENT_DLL
    return ["dotnet", str(dll), measure, "--config", config, *setting_args, *common]


def onnx_model(config):
    return ONNX_MODEL_DIR / f"{config}.onnx"


def export_onnx(args):
    """Exports the inference config's model for the ONNX Runtime peer (outside the measured processes, so their
    peak RSS is ONNX Runtime's alone); returns the export's JSON line (its check against Recurrent's outputs)."""
    argv = ["dotnet", str(ONNX_DLL), "export", "--config", GEN_CONFIG, "--out", str(onnx_model(GEN_CONFIG))]
    rc, out, err, _, _ = run_process(argv, dict(os.environ), args.timeout)
    line = next((r for r in json_lines(out) if r.get("measure") == "export"), None)
    if rc != 0 or not line:
        message = (err.strip().splitlines() or [f"exit {rc}"])[-1][:300]
        log(f"ONNX export of {GEN_CONFIG} failed ({message}); the ONNX Runtime cells will show n/a")
        return {"error": message, **(line or {})}
    log(f"exported {GEN_CONFIG} to {Path(line['path']).relative_to(ROOT) if Path(line['path']).is_relative_to(ROOT) else line['path']} "
        f"({line['bytes'] / 1e6:.1f} MB); ONNX Runtime matches Recurrent to {line['max_relative_error']:.1e} relative")
    return line


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


def gemm_rates(text):
    """shape -> GFLOP/s from the tab-separated lines of Recurrent.Bench gemm / bench_gemm_numpy.py."""
    rates = {}
    for line in text.splitlines():
        parts = line.rstrip("\n").split("\t")
        if line.startswith("#") or len(parts) != 6:
            continue
        try:
            rates[parts[0]] = float(parts[5])
        except ValueError:
            pass
    return rates


def pin_mismatch(record, column):
    """Why a result line contradicts its column's pins (None when it agrees or says nothing)."""
    isa = isa_of(column)
    if record["peer"].startswith("recurrent") and "simd" in record:
        want = "Vector" if record["peer"] == VECTOR_PEER else {"avx512": "Avx512", "avx2": "Avx2"}.get(isa)
        if want and record["simd"] != want:
            return f"ran at {record['simd']}, not {want}"
        if isa == "avx2" and record.get("vector512"):
            return "Vector512 accelerated in an AVX2 column"
    if record["peer"] == "pytorch" and column == "avx2":
        if record.get("aten_capability") not in (None, "AVX2") or record.get("openblas_core") not in (None, "Haswell"):
            return f"ATen {record.get('aten_capability')}, OpenBLAS {record.get('openblas_core')}"
    return None


def unpinned(record, column):
    """Why a result could not be pinned to its column's ISA (ONNX Runtime: no switch exists), None when it ran at it."""
    if record["peer"] == "onnxruntime" and isa_of(column) == "avx2" and record.get("mlas_isa") not in (None, "FMA3/AVX2"):
        return f"MLAS ran its {record['mlas_isa']} kernels (chosen from CPUID; ONNX Runtime has no ISA switch)"
    return None


class Runner:
    def __init__(self, args):
        self.args = args
        self.records = []          # every JSON line of this run, annotated
        self.base_env = {k: v for k, v in os.environ.items() if k not in THREAD_ENV and k not in PIN_ENV}

    def measure(self, column, pins, peer, measure, config, setting, timing, phase, round_no):
        label, setting_args, extra_env = setting
        env = dict(self.base_env, **pins, **extra_env)
        if peer == VECTOR_PEER:
            env["RECURRENT_SIMD"] = "vector"
        want = MEASURE_KEY[measure]
        argv = command("recurrent" if peer == VECTOR_PEER else peer, measure, config, setting_args, timing)
        rc, out, err, rss, wall = run_process(argv, env, self.args.timeout)
        rows = [r for r in json_lines(out) if r.get("measure") == want and r.get("config") == config]
        if rc == 0 and rows and isinstance(rows[0].get("value"), (int, float)):
            record = dict(rows[0], peer=peer)
        else:
            lines = [l.strip() for l in (err + "\n" + out).splitlines() if l.strip() and not l.lstrip().startswith("{")]
            record = {"peer": peer, "config": config, "measure": want, "value": None,
                      "error": (lines[0] if lines else f"exit {rc}")[:300], "rc": rc}
        if record.get("setting") not in (None, label):
            record["reported_setting"] = record["setting"]
        record["setting"] = label   # the orchestrator's label, the same for every measure of a setting
        mismatch = pin_mismatch(record, column) if record["value"] is not None else None
        if mismatch:
            record["pin_mismatch"] = mismatch
        free = unpinned(record, column) if record["value"] is not None else None
        if free:
            record["unpinned"] = free
        record.update(isa=column, phase=phase, round=round_no, rss_wait4_mb=round(rss, 1) if rss else None,
                      wall_s=round(wall, 2), env={k: env[k] for k in THREAD_ENV + PIN_ENV if k in env},
                      command=shlex.join(argv))
        self.records.append(record)
        shown = "n/a (" + record["error"] + ")" if record["value"] is None else f"{record['value']:.1f}"
        log(f"  [{column} {phase} {round_no}] {measure:8} {config:16} {peer:16} {label:28} {shown}  ({wall:.1f} s)"
            + (f"  PIN MISMATCH: {mismatch}" if mismatch else ""))
        return record


# ---------------------------------------------------------------- the run

def job_plan(args):
    """(measure, config) in run order."""
    plan = [("train", name) for name in args.configs] if "train" in args.measures else []
    plan += [(m, GEN_CONFIG) for m in ("infer", "generate") if m in args.measures]
    return plan


def column_peers(args, column, columns, measure=None):
    """The contenders of a column (of one measure, when given: ONNX Runtime infers and generates only)."""
    peers = [p for p in PEERS if p not in args.skip and (measure is None or measure in PEER_MEASURES.get(p, (measure,)))]
    if args.vector and column == ("avx2" if "avx2" in columns else columns[0]):
        peers.append(VECTOR_PEER)
    return peers


def run_all(runner, pins, args, columns):
    plan = job_plan(args)
    timed = (args.reps, args.seconds, args.warmup_seconds)
    explore = (1, args.explore_seconds, min(args.warmup_seconds, 1.0))
    kept = {}
    for column in columns:
        log(f"column {column} ({ISA_TITLE[isa_of(column)]}): pins")
        env = pins.decide(column)
        pins.verify(column, {p for measure, _ in plan for p in column_peers(args, column, columns, measure)})
        # Which settings each peer keeps, per (measure, config): all when they are few, else the fastest after one try each.
        for measure, config in plan:
            for peer in column_peers(args, column, columns, measure):
                options = settings(peer)
                if len(options) <= args.keep:
                    kept[(column, measure, config, peer)] = options
                    continue
                tried = []
                for option in options:
                    r = runner.measure(column, env, peer, measure, config, option, explore, "explore", 0)
                    if r["value"] is not None:
                        tried.append((r["value"], option))
                tried.sort(key=lambda vo: vo[0], reverse=measure != "generate")
                kept[(column, measure, config, peer)] = [o for _, o in tried[:args.keep]] or options[:1]
    for round_no in range(1, args.rounds + 1):
        log(f"round {round_no}/{args.rounds}")
        for column in columns:
            env = pins.env[column]
            for measure, config in plan:
                peers = column_peers(args, column, columns, measure)
                shift = (round_no - 1) % len(peers)
                rotation = peers[shift:] + peers[:shift]
                width = max(len(kept[(column, measure, config, p)]) for p in peers)
                for i in range(width):
                    for peer in rotation:
                        options = kept[(column, measure, config, peer)]
                        if i < len(options):
                            runner.measure(column, env, peer, measure, config, options[i], timed, "timed", round_no)
            run_gemm_round(runner, args, column, env, round_no)


def gemm_shapes(args):
    """1024³ and, per config, the per-step product, the whole-sequence input projection, the decoder and
    the recurrent weights' gradient over the sequence. Without the gemm measure: 1024³ only (the ceiling)."""
    shapes = [CEILING_SHAPE]
    if "gemm" not in args.measures:
        return shapes
    for name in args.configs:
        c = CONFIG[name]
        g, h, bt = GATES[c["cell"]] * c["hidden"], c["hidden"], c["seq"] * c["batch"]
        out_in = h * (2 if c["bidirectional"] else 1)
        shapes += [f"{c['batch']}x{g}x{h}:NT", f"{bt}x{g}x{c['embed']}:NT", f"{bt}x{c['outputs']}x{out_in}:NT", f"{g}x{h}x{bt}:TN"]
    shapes = list(dict.fromkeys(shapes))
    return shapes[:3] if args.quick else shapes


def run_gemm_round(runner, args, column, pins, round_no):
    """The GEMM shapes for Recurrent and OpenBLAS, 1 and 2 threads (without the gemm measure: OpenBLAS 1024³ on 2 threads, the ceiling)."""
    shapes = gemm_shapes(args)
    shape_args = [a for s in shapes for a in ("--shape", s)]
    timing = ["--reps", str(args.reps), "--seconds", str(args.gemm_seconds), "--warmup-seconds", str(args.gemm_warmup_seconds)]
    full = "gemm" in args.measures
    libs = (["recurrent", "openblas"] if round_no % 2 else ["openblas", "recurrent"]) if full else ["openblas"]
    for threads in ((1, 2) if full else (2,)):
        for lib in libs:
            if lib == "recurrent":
                argv = ["dotnet", str(RECURRENT_DLL), "gemm", "--threads", str(threads), *timing, *shape_args]
                env = dict(runner.base_env, **pins)
            else:
                argv = [sys.executable, str(NUMPY_GEMM), "--threads", str(threads), *timing, *shape_args]
                env = dict(runner.base_env, **pins, OPENBLAS_NUM_THREADS=str(threads))
            rc, out, err, rss, wall = run_process(argv, env, args.timeout)
            header = next((l for l in out.splitlines() if l.startswith("#")), "")
            rates = gemm_rates(out)
            for shape, rate in rates.items():
                runner.records.append({"peer": lib, "config": shape, "measure": "gemm_gflops", "threads": threads,
                                       "setting": f"threads={threads}", "value": rate, "phase": "timed", "isa": column,
                                       "round": round_no, "header": header, "command": shlex.join(argv)})
            log(f"  [{column} gemm {round_no}] {lib:10} threads={threads}: {len(rates)}/{len(shapes)} shapes ({wall:.1f} s)"
                + ("" if rc == 0 else f", exit {rc}: {(err.strip().splitlines() or [''])[-1][:200]}"))


# ---------------------------------------------------------------- aggregation and the tables

def fmt(x, digits=0):
    if x is None:
        return "n/a"
    return f"{x:,.{digits}f}".replace(",", " ")


def pct(x):
    return "n/a" if x is None else f"{100 * x:.0f}%"


def aggregate(records):
    """(column, measure, config, peer) -> list of (setting, median value, median peak RSS MB, n), best first."""
    cells = {}
    for r in records:
        if r.get("phase") != "timed" or r.get("value") is None:
            continue
        key = (r["isa"], r["measure"], r["config"], r["peer"], r.get("setting", ""))
        cells.setdefault(key, []).append(r)
    out = {}
    for (column, measure, config, peer, setting), rows in cells.items():
        value = statistics.median(r["value"] for r in rows)
        rss = [r.get("rss_wait4_mb") or r.get("peak_rss_mb") for r in rows]
        rss = [x for x in rss if x]
        out.setdefault((column, measure, config, peer), []).append(
            (setting, value, statistics.median(rss) if rss else None, len(rows)))
    for (_, measure, _, _), cells_ in out.items():
        cells_.sort(key=lambda c: c[1], reverse=measure != "gen_us_per_token")
    return out


def verdict(met):
    return "n/a" if met is None else "**met**" if met else "**missed**"


class Table:
    """Renders one column's tables from the aggregated cells; counts the targets."""

    def __init__(self, agg, column, args, tally, records=()):
        self.agg, self.column, self.args, self.tally = agg, column, args, tally
        self.records = records
        self.daggers = False

    def best(self, measure, config, peer):
        cells = self.agg.get((self.column, measure, config, peer))
        return cells[0] if cells else None

    def count(self, met):
        self.tally["n/a" if met is None else "met" if met else "missed"] += 1
        return verdict(met)

    def cell(self, c, digits=0):
        return "n/a" if c is None else f"{fmt(c[1], digits)} ({c[0]})"

    def ceiling_rate(self):
        cells = self.agg.get((self.column, "gemm_gflops", CEILING_SHAPE, "openblas"), [])
        return next((value for setting, value, _, _ in cells if setting == "threads=2"), None)

    def others(self, measure):
        """The peers shown for a measure (ONNX Runtime: inference and generation only)."""
        word = MEASURE_WORD[measure]
        return [p for p in OTHERS if word in PEER_MEASURES.get(p, (word,))]

    def unpinned(self, measure, config, peer):
        """True when this column's cell for the peer ran unpinned (ONNX Runtime in the AVX2 column): shown, not compared."""
        return any(r.get("unpinned") for r in self.records
                   if r.get("isa") == self.column and r.get("measure") == measure and r.get("config") == config and r.get("peer") == peer)

    def comparable(self, measure, config, cells):
        """The peers' cells that count for ratios: measured, and pinned to this column's ISA."""
        return {p: c for p, c in cells.items() if p != "recurrent" and c and not self.unpinned(measure, config, p)}

    def shown(self, measure, config, peer, c, digits=0):
        text = self.cell(c, digits)
        if c and self.unpinned(measure, config, peer):
            self.daggers = True
            text += " †"
        return text

    def dagger_note(self):
        if not self.daggers:
            return []
        return ["† Not pinned: ONNX Runtime's MLAS picks its kernels from CPUID and has no switch to cap them, so these cells ran "
                "its AVX-512 kernels; shown, but left out of this column's ratios.", ""]

    def throughput(self, measure, title, names):
        rate = self.ceiling_rate()
        others = self.others(measure)
        lines = [f"#### {title}", "",
                 f"Ceiling: tokens/s at OpenBLAS's 2-thread SGEMM rate in this column ({fmt(rate, 1)} GFLOP/s at 1024³) "
                 f"with {'3 × ' if measure == 'train_tokens_per_s' else ''}the forward matmul FLOPs per token. "
                 f"Target: {TARGET_TEXT[MEASURE_WORD[measure]]}.", "",
                 "| config | fwd MFLOP/token | Recurrent | " + " | ".join(PEER_TITLE[p] for p in others) + " | ceiling | Recurrent / ceiling | "
                 + " | ".join(f"{PEER_TITLE[p]} / ceiling" for p in others) + " | ratio to best peer | target |",
                 "|---|---:|---:|" + "---:|" * len(others) + "---:|---:|" + "---:|" * len(others) + "---:|---|"]
        for name in names:
            cfg = CONFIG[name]
            ceiling = ceiling_tokens_per_s(measure, cfg, rate)
            cells = {p: self.best(measure, name, p) for p in ["recurrent", *others]}
            frac = {p: (c[1] / ceiling if c and ceiling else None) for p, c in cells.items()}
            top = max((c[1] for c in self.comparable(measure, name, cells).values()), default=None)
            rec = cells["recurrent"]
            ratio = rec[1] / top if rec and top else None
            if ratio is None:
                met = None
            elif measure == "train_tokens_per_s":
                met = ratio >= 1.0 and (ratio >= 1.3 or (frac["recurrent"] or 0) >= 0.85)
            else:
                met = ratio >= 1.3 or (frac["recurrent"] or 0) >= 0.85
            lines.append(f"| {name} | {forward_flops_per_token(cfg) / 1e6:.2f} | {self.cell(rec)} | "
                         + " | ".join(self.shown(measure, name, p, cells[p]) for p in others)
                         + f" | {fmt(ceiling)} | {pct(frac['recurrent'])} | " + " | ".join(pct(frac[p]) for p in others)
                         + f" | {fmt(ratio, 2)} | {self.count(met)} |")
        return lines + [""]

    def generation(self):
        measure = "gen_us_per_token"
        others = self.others(measure)
        cells = {p: self.best(measure, GEN_CONFIG, p) for p in ["recurrent", *others]}
        if not any(cells.values()):
            return []
        top = min((c[1] for c in self.comparable(measure, GEN_CONFIG, cells).values()), default=None)
        ratio = top / cells["recurrent"][1] if cells["recurrent"] and top else None
        return [f"#### Batch-1 generation, {GEN_CONFIG}, µs/token (lower is better; ratio = best peer / Recurrent)", "",
                "| Recurrent | " + " | ".join(PEER_TITLE[p] for p in others) + " | ratio | target |",
                "|---:|" + "---:|" * len(others) + "---:|---|",
                f"| {self.cell(cells['recurrent'], 1)} | " + " | ".join(self.shown(measure, GEN_CONFIG, p, cells[p], 1) for p in others)
                + f" | {fmt(ratio, 2)} | {TARGET_TEXT['generate']}: {self.count(None if ratio is None else ratio >= 5.0)} |", ""]

    def memory(self):
        rows = []
        for measure in ("train_tokens_per_s", "infer_tokens_per_s", "gen_us_per_token"):
            for name in (self.args.configs if measure == "train_tokens_per_s" else [GEN_CONFIG]):
                cells = {p: self.best(measure, name, p) for p in PEERS}
                if not any(cells.values()):
                    continue
                # Memory does not depend on the kernels' ISA: every peer counts, pinned or not.
                mem = {p: (c[2] if c else None) for p, c in cells.items()}
                lower = min((mem[p] for p in OTHERS if mem[p]), default=None)
                ratio = mem["recurrent"] / lower if mem["recurrent"] and lower else None
                applies = lambda p: MEASURE_WORD[measure] in PEER_MEASURES.get(p, (MEASURE_WORD[measure],))
                shown = ["–" if not applies(p) else fmt(mem[p]) for p in OTHERS]
                rows.append(f"| {MEASURE_WORD[measure]} {name} | {fmt(mem['recurrent'])} | " + " | ".join(shown)
                            + f" | {fmt(ratio, 2)} | {self.count(None if ratio is None else ratio <= 1.0)} |")
        if not rows:
            return []
        return ["#### Peak memory, MB (peak RSS of the measuring process, best setting; target: ≤ the lower peer)", "",
                "| measure, config | Recurrent | " + " | ".join(PEER_TITLE[p] for p in OTHERS) + " | Recurrent / lower peer | target |",
                "|---|---:|" + "---:|" * len(OTHERS) + "---:|---|", *rows, ""]

    def vector(self):
        rows = []
        for measure, names in (("train_tokens_per_s", self.args.configs), ("infer_tokens_per_s", [GEN_CONFIG])):
            for name in names:
                vec, rec = self.best(measure, name, VECTOR_PEER), self.best(measure, name, "recurrent")
                if vec:
                    ratio = rec[1] / vec[1] if rec else None
                    rows.append(f"| {MEASURE_WORD[measure]} {name} | {self.cell(vec)} | {self.cell(rec)} | {fmt(ratio, 2)} |")
        if not rows:
            return []
        return ["#### The portable Vector path (RECURRENT_SIMD=vector, what ARM64 runs) against this column's Recurrent", "",
                "| measure, config | Recurrent, Vector | Recurrent | slowdown (target ≤ 2) |", "|---|---:|---:|---:|", *rows, ""]

    def gemm(self):
        shapes = gemm_shapes(self.args)
        if "gemm" not in self.args.measures:
            return []
        lines = [f"#### GEMM against numpy/OpenBLAS, GFLOP/s (target: {TARGET_TEXT['gemm']})", "",
                 "| shape | threads | Recurrent | OpenBLAS | ratio | target |", "|---|---:|---:|---:|---:|---|"]
        for threads in ("threads=1", "threads=2"):
            for shape in shapes:
                a = next((v for s, v, _, _ in self.agg.get((self.column, "gemm_gflops", shape, "recurrent"), []) if s == threads), None)
                b = next((v for s, v, _, _ in self.agg.get((self.column, "gemm_gflops", shape, "openblas"), []) if s == threads), None)
                ratio = a / b if a and b else None
                lines.append(f"| {shape} | {threads[-1]} | {fmt(a, 1)} | {fmt(b, 1)} | {fmt(ratio, 2)} "
                             f"| {self.count(None if ratio is None else ratio >= 1.0)} |")
        return lines + [""]


def onnx_line(export):
    """The sentence on the model ONNX Runtime runs (none when it did not take part)."""
    if not export:
        return []
    if "error" in export:
        return [f"ONNX Runtime: the export of {GEN_CONFIG} failed ({export['error']}), so its cells are n/a."]
    return [f"ONNX Runtime runs Recurrent's ONNX export of the same {export['config']} model (seed 1, "
            f"{export['bytes'] / 1e6:.1f} MB); on a check batch its logits and final states match Recurrent's to "
            f"{export['max_relative_error']:.1e} relative. Sessions: inter-op threads 1, ORT_ENABLE_ALL, inputs and "
            "outputs in buffers allocated once; generation samples with Recurrent's Sampler (τ = 1), as Recurrent does."]


def render(agg, pins, meta, args, columns):
    tally = {"met": 0, "missed": 0, "n/a": 0}
    lines = []
    if args.quick:
        lines += ["**Quick smoke run (1 round, 1 rep, about a second per measurement): these numbers are not results.**", ""]
    lines += [f"Generated {meta['date']} by `{meta['command']}` at commit {meta['commit']}.",
              f"Machine: {meta['machine']}; load average {meta['load_before']} before, {meta['load_after']} after.",
              f"Versions: {meta['versions']}.",
              *onnx_line(meta.get("onnx_export")),
              f"Each figure is the median over {args.rounds} round(s) of the best setting's per-process medians "
              f"({args.reps} rep(s) over {args.seconds:g} s after a {args.warmup_seconds:g} s warm-up; GEMM shapes "
              f"{args.gemm_seconds:g} s after {args.gemm_warmup_seconds:g} s); settings in parentheses. Ratio = Recurrent / best peer "
              "(generation: best peer / Recurrent, so above 1 means Recurrent is faster; memory: Recurrent / lower peer). "
              "Forward matmul FLOPs per token F = Σ_layers D·2·G·H·(in + H) + 2·D·H·outputs; "
              "ceiling = R / (3F) for training and R / F for inference, R = OpenBLAS's 2-thread SGEMM rate at 1024³ in the same column.",
              ""]
    for column in columns:
        table = Table(agg, column, args, tally, pins.runner.records)
        pinned = " (every contender pinned" + (", except ONNX Runtime: it has no switch)" if "onnxruntime" not in args.skip else ")")
        lines += [f"### {ISA_TITLE[isa_of(column)]}{' (this machine’s best)' if column == 'best' else pinned}", ""]
        lines += pins.describe(column) + [""]
        checks = pins.checks.get(column, [])
        if checks:
            lines += ["| contender | reports, under the pins | 1024³ GFLOP/s, 1 thread | pin |", "|---|---|---:|---|"]
            lines += [f"| {name} | {reported} | {fmt(rate, 1)} | {pin_word(ok, expected)} |"
                      for name, reported, rate, ok, expected in checks]
            lines.append("")
        mismatches = [r for r in pins.runner.records if r.get("isa") == column and r.get("pin_mismatch")]
        if mismatches:
            lines += [f"**{len(mismatches)} result(s) contradict the pins**, e.g. {mismatches[0]['peer']} "
                      f"{mismatches[0]['config']}: {mismatches[0]['pin_mismatch']}.", ""]
        if "train" in args.measures:
            lines += table.throughput("train_tokens_per_s", "Training throughput, tokens/s", args.configs)
        if "infer" in args.measures:
            lines += table.throughput("infer_tokens_per_s", f"Batched inference, {GEN_CONFIG}, tokens/s", [GEN_CONFIG])
        lines += table.generation() + table.dagger_note() + table.vector() + table.memory() + table.gemm()
    lines.append(f"Targets: {tally['met']} met, {tally['missed']} missed, {tally['n/a']} not measured.")
    lines += ["", "<details><summary>Every setting measured (median over rounds; n = rounds)</summary>", "",
              "| ISA | measure | config | peer | setting | median | peak RSS MB | n |", "|---|---|---|---|---|---:|---:|---:|"]
    for (column, measure, config, peer), cells in sorted(agg.items()):
        if measure == "gemm_gflops":
            continue
        for setting, value, rss, n in cells:
            lines.append(f"| {ISA_TITLE[isa_of(column)]} | {measure} | {config} | {peer} | {setting} | {fmt(value, 1)} | {fmt(rss)} | {n} |")
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
    return (f"{field('Model name')} (family {field('CPU family')}, model {field('Model')}), {os.cpu_count()} cores, "
            f"best ISA {ISA_TITLE[machine_isa()]}, {platform.release()}")


def versions(records):
    torch_v = next((r["version"] for r in records if r.get("peer") == "pytorch" and r.get("version")), None)
    ts_v = next((r["version"] for r in records if r.get("peer") == "torchsharp" and r.get("version")), None)
    ort_v = next((r["version"] for r in records if r.get("peer") == "onnxruntime" and r.get("version")), None)
    py = shlex.quote(sys.executable)
    torch_v = torch_v or sh(py + " -c 'import torch; print(torch.__version__)'")
    openblas = sh("dpkg-query -W -f='${Version}' libopenblas0-pthread") or "unknown"
    numpy_v = sh(py + " -c 'import numpy; print(numpy.__version__)'")
    if not ts_v:
        csproj = TORCHSHARP_DLL.parents[3] / "Recurrent.Bench.TorchSharp.csproj"
        found = re.search(r'"TorchSharp-cpu" Version="([^"]+)"', csproj.read_text()) if csproj.exists() else None
        ts_v = f"TorchSharp-cpu {found[1]} (not run)" if found else "TorchSharp n/a"
    if not ort_v:
        props = ROOT / "Directory.Packages.props"
        found = re.search(r'"Microsoft.ML.OnnxRuntime" Version="([^"]+)"', props.read_text()) if props.exists() else None
        ort_v = f"ONNX Runtime {found[1]} (not run)" if found else "ONNX Runtime n/a"
    parts = [f"PyTorch {torch_v}", ts_v, ort_v, f"OpenBLAS {openblas}", f"numpy {numpy_v}",
             f".NET SDK {sh('dotnet --version')}"]
    return ", ".join(parts)


def build(args):
    projects = ["bench/Recurrent.Bench"]
    projects += [] if "torchsharp" in args.skip else ["bench/Recurrent.Bench.TorchSharp"]
    projects += [] if "onnxruntime" in args.skip else ["bench/Recurrent.Bench.Onnx"]
    for project in projects:
        log(f"building {project}")
        rc = subprocess.run(["dotnet", "build", "-c", "Release", project, "-nologo", "-v", "quiet"], cwd=ROOT).returncode
        if rc != 0:
            log(f"build of {project} failed (exit {rc}); its cells will show n/a")


def weaken_torchsharp():
    if TORCHSHARP_NATIVE.exists() and SHARED_TOOL.exists():
        subprocess.run([sys.executable, str(SHARED_TOOL), str(TORCHSHARP_NATIVE)], cwd=ROOT, capture_output=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--reps", type=int, default=3, help="timed reps per process (median reported)")
    parser.add_argument("--seconds", type=float, default=10.0, help="timed seconds per measurement, over its reps")
    parser.add_argument("--warmup-seconds", type=float, default=2.0)
    parser.add_argument("--explore-seconds", type=float, default=3.0, help="timed seconds of an exploration run")
    parser.add_argument("--gemm-seconds", type=float, default=3.0, help="timed seconds per GEMM shape")
    parser.add_argument("--gemm-warmup-seconds", type=float, default=1.0)
    parser.add_argument("--keep", type=int, default=2, help="settings each peer keeps after the exploration runs")
    parser.add_argument("--configs", default=",".join(CONFIG), help="comma-separated training configs")
    parser.add_argument("--measures", default="train,infer,generate,gemm", help="comma-separated: train,infer,generate,gemm")
    parser.add_argument("--isas", default="best,avx2", help="ISA columns: best (the machine's), avx2 (pinned; on AVX-512 machines only)")
    parser.add_argument("--openblas-core", default="auto",
                        help="best column's OPENBLAS_CORETYPE: auto (the faster of autodetection and the ISA's core), inherit, or a core name")
    parser.add_argument("--vector", action="store_true", help="also measure Recurrent's portable Vector path (RECURRENT_SIMD=vector)")
    parser.add_argument("--timeout", type=float, default=900, help="seconds before one process is killed")
    parser.add_argument("--quick", action="store_true", help="smoke test: 1 round, 1 rep, ~1 s a measurement; writes nothing unless --write")
    parser.add_argument("--write", action="store_true", help="with --quick: write docs anyway")
    parser.add_argument("--no-write", action="store_true", help="print the tables only")
    parser.add_argument("--no-build", action="store_true", help="skip `dotnet build -c Release` of the bench projects")
    for peer in ("pytorch", "torchsharp", "onnxruntime", "gemm"):
        parser.add_argument(f"--skip-{peer}", action="store_true")
    args = parser.parse_args()
    args.configs = [c for c in args.configs.split(",") if c]
    args.measures = [m for m in args.measures.split(",") if m]
    args.isas = [i for i in args.isas.split(",") if i]
    bad = ([c for c in args.configs if c not in CONFIG] + [m for m in args.measures if m not in ("train", "infer", "generate", "gemm")]
           + [i for i in args.isas if i not in ("best", "avx2")])
    if bad:
        parser.error(f"unknown config, measure or ISA: {', '.join(bad)}")
    if args.skip_gemm:
        args.measures = [m for m in args.measures if m != "gemm"]
    args.skip = {p for p in ("pytorch", "torchsharp", "onnxruntime") if getattr(args, f"skip_{p}")}
    if args.quick:
        args.rounds, args.reps = 1, 1
        args.seconds, args.warmup_seconds, args.explore_seconds = 1.0, 0.5, 0.5
        args.gemm_seconds, args.gemm_warmup_seconds = 0.3, 0.1
    write = (not args.quick or args.write) and not args.no_write

    started = time.time()
    if not args.no_build:
        build(args)
    weaken_torchsharp()
    columns = column_isas(args)
    if not columns:
        parser.error(f"no ISA column to run: this machine's best is {ISA_TITLE[machine_isa()]}")
    load_before = open("/proc/loadavg").read().split()[:3]
    onnx_export = None
    if "onnxruntime" not in args.skip and {"infer", "generate"} & set(args.measures):
        onnx_export = export_onnx(args)
    runner = Runner(args)
    pins = Pins(runner, args)
    if pins.inherited:
        log("inherited from the environment: " + ", ".join(f"{k}={v}" for k, v in pins.inherited.items()))
    run_all(runner, pins, args, columns)
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
        "inherited_env": pins.inherited,
        "onnx_export": onnx_export,
        "pins": {column: {"env": pins.env.get(column), "notes": pins.notes.get(column),
                          "checks": [dict(zip(("contender", "reported", "gflops_1024_1t", "verified", "expected"), c))
                                     for c in pins.checks.get(column, [])]} for column in columns},
    }
    table = render(aggregate(runner.records), pins, meta, args, columns)
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
