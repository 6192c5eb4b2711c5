#!/usr/bin/env bash
# GEMM throughput, Recurrent vs numpy/OpenBLAS, on 1 and 2 threads.
# Runs the two benchmarks alternately for several rounds (so background load hits both
# alike), takes the median per shape and thread count, and writes the table into the
# "## GEMM" section of docs/BENCHMARKS.md (the rest of the file is kept).
# Usage: scripts/bench_gemm.sh [rounds] [reps]     (defaults: 3 rounds, 5 reps)
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-3}
reps=${2:-5}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

dotnet build -c Release bench/Recurrent.Bench -v quiet -nologo >/dev/null
bench=bench/Recurrent.Bench/bin/Release/net10.0/Recurrent.Bench.dll

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
mapfile -t shapes < <(dotnet "$bench" gemm --list)
# Shape by shape, Recurrent then OpenBLAS, so a burst of background load hits both alike.
for round in $(seq 1 "$rounds"); do
  for threads in 1 2; do
    echo "round $round/$rounds, $threads thread(s)" >&2
    for shape in "${shapes[@]}"; do
      dotnet "$bench" gemm --threads "$threads" --reps "$reps" --only "$shape" >> "$out/recurrent.$threads.$round.tsv"
      OPENBLAS_NUM_THREADS=$threads /usr/bin/python3 scripts/bench_gemm_numpy.py --threads "$threads" --reps "$reps" \
        --only "$shape" >> "$out/openblas.$threads.$round.tsv"
    done
  done
done
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

machine="$(lscpu | sed -n 's/^Model name: *//p' | head -1) (family $(lscpu | sed -n 's/^CPU family: *//p'), model $(lscpu | sed -n 's/^Model: *//p'))"
cores=$(nproc)
simd=$(head -1 "$out/recurrent.1.1.tsv" | sed 's/^# Recurrent GEMM, \([^,]*\),.*/\1/')
blas=$(/usr/bin/python3 -c 'import numpy; print("numpy", numpy.__version__)')
openblas=$(dpkg-query -W -f='${Version}' libopenblas0-pthread 2>/dev/null || echo unknown)

/usr/bin/python3 - "$out" "$rounds" "$reps" "$machine" "$cores" "$simd" "$blas" "$openblas" "$load_before" "$load_after" <<'PY'
import glob, re, statistics, sys
out, rounds, reps, machine, cores, simd, blas, openblas, load_before, load_after = sys.argv[1:]

def load(lib):
    rates = {}   # (shape, threads) -> [GFLOP/s per round]
    order = []
    for path in sorted(glob.glob(f"{out}/{lib}.*.tsv")):
        for line in open(path):
            if line.startswith("#") or not line.strip():
                continue
            name, m, n, k, threads, rate = line.rstrip("\n").split("\t")
            key = (name, int(threads))
            if key not in rates:
                rates[key] = []
                order.append(key)
            rates[key].append(float(rate))
    return rates, order

ours, order = load("recurrent")
peer, _ = load("openblas")
order.sort(key=lambda key: key[1])
rows = ["| Shape | Threads | Recurrent GFLOP/s | OpenBLAS GFLOP/s | Ratio |", "|---|---:|---:|---:|---:|"]
for key in order:
    a, b = statistics.median(ours[key]), statistics.median(peer[key])
    rows.append(f"| {key[0]} | {key[1]} | {a:.1f} | {b:.1f} | {a / b:.2f} |")

section = f"""## GEMM

float32 `C = op(A)·op(B)` (beta 0), GFLOP/s = 2mnk / time. Each cell is the median over {rounds} rounds
(Recurrent and numpy/OpenBLAS alternate shape by shape; each run takes the median of {reps} timed reps after a warm-up).
Recurrent uses its {simd} kernels; OpenBLAS {openblas} through {blas} (`np.matmul` on the same
row-major, possibly transposed operands), threads set by `OPENBLAS_NUM_THREADS`.

Machine: {machine}, {cores} cores; load average {load_before} before the run, {load_after} after
(other work on the machine lowers both columns, the 2-thread ones most). Command: `scripts/bench_gemm.sh {rounds} {reps}`.

""" + "\n".join(rows) + """

Shapes are written with the stored sizes, `(…)T` marking a stored matrix used transposed: square
products; the input projection of a whole sequence (T·B = 2048 rows, 256 inputs, 4H = 1024 gates);
the per-step product with batch 32, H = 512, 4H = 2048, plain and with W_hh stored [4H, H] as
PyTorch stores it (`h·W_hhᵀ`); a weight gradient `dGᵀ·X` over T·B = 1120 rows; and batch-1
inference (a GEMV). "W pre-packed" is the per-step product with W_hh packed once (`Gemm.Pack`)
and reused, as a layer does over the time steps of a sequence; numpy has no such call, so its
column repeats the plain product.
"""

path = "docs/BENCHMARKS.md"
try:
    text = open(path).read()
except FileNotFoundError:
    text = "# Benchmarks\n"
match = re.search(r"^## GEMM\n.*?(?=^## |\Z)", text, flags=re.S | re.M)
if match:
    text = text[:match.start()] + section + ("\n" if match.end() < len(text) else "") + text[match.end():]
else:
    text = text.rstrip("\n") + "\n\n" + section
open(path, "w").write(text)
print(section)
PY
