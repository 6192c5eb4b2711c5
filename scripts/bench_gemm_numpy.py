#!/usr/bin/python3
"""numpy/OpenBLAS twin of `Recurrent.Bench gemm`: the same shapes, the same timing method
(--warmup-seconds of untimed calls, then --reps reps of --seconds/reps each, the median rep
reported), the same output lines. The header names the OpenBLAS core the kernels run for
(OPENBLAS_CORETYPE pins it). The thread count is OpenBLAS's: set OPENBLAS_NUM_THREADS before
running; --threads only labels the output."""
import argparse
import ctypes
import os
import time

import numpy as np

# (name, m, n, k, transA, transB): C[m×n] = op(A)·op(B), op(A) m×k, op(B) k×n.
SHAPES = [
    ("square 256", 256, 256, 256, False, False),
    ("square 512", 512, 512, 512, False, False),
    ("square 1024", 1024, 1024, 1024, False, False),
    ("square 2048", 2048, 2048, 2048, False, False),
    ("input projection 2048x256 * 256x1024", 2048, 1024, 256, False, False),
    ("32x512 * 512x2048", 32, 2048, 512, False, False),
    ("recurrent step 32x512 * (2048x512)T", 32, 2048, 512, False, True),
    # numpy has no pre-packed operand: the same call as above, for the ratio.
    ("recurrent step, W pre-packed, 32x512 * (2048x512)T", 32, 2048, 512, False, True),
    ("weight gradient (1120x2048)T * 1120x256", 2048, 256, 1120, True, False),
    ("batch-1 GEMV 1x512 * (2048x512)T", 1, 2048, 512, False, True),
]


def operands(rng, m, n, k, trans_a, trans_b):
    """op(A), op(B) as (possibly transposed) views of row-major stored matrices, like the C# side."""
    a = rng.uniform(-1, 1, (k, m) if trans_a else (m, k)).astype(np.float32)
    b = rng.uniform(-1, 1, (n, k) if trans_b else (k, n)).astype(np.float32)
    return (a.T if trans_a else a), (b.T if trans_b else b)


def measure(m, n, k, trans_a, trans_b, reps, seconds, warmup_seconds, rng):
    op_a, op_b = operands(rng, m, n, k, trans_a, trans_b)
    c = np.empty((m, n), dtype=np.float32)

    def once():
        np.matmul(op_a, op_b, out=c)

    start, calls = time.perf_counter(), 0
    while calls < 2 or time.perf_counter() - start < warmup_seconds:
        once()
        calls += 1
    rates = []
    for _ in range(reps):
        start, calls = time.perf_counter(), 0
        while True:
            once()
            calls += 1
            elapsed = time.perf_counter() - start
            if elapsed >= seconds / reps:
                break
        rates.append(2.0 * m * n * k * calls / elapsed / 1e9)
    return sorted(rates)[reps // 2]


def openblas_core():
    """The core OpenBLAS runs its kernels for in this process (numpy's BLAS), or 'unknown'."""
    with open("/proc/self/maps") as maps:
        paths = dict.fromkeys(line.split()[-1] for line in maps if "blas" in line or "lapack" in line)
    for path in paths:
        try:
            corename = ctypes.CDLL(path).openblas_get_corename
        except (OSError, AttributeError):
            continue
        corename.restype = ctypes.c_char_p
        return corename().decode()
    return "unknown"


def parse_shape(text):
    dims, _, flags = text.partition(":")
    m, n, k = (int(d) for d in dims.split("x"))
    flags = (flags or "NN").upper().split(":")[0]
    return text, m, n, k, flags[0] == "T", flags[1] == "T"


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--threads", type=int, default=int(os.environ.get("OPENBLAS_NUM_THREADS", "0") or 0))
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=10.0, help="timed seconds per shape, over all reps")
    parser.add_argument("--warmup-seconds", type=float, default=2.0)
    parser.add_argument("--only", default=None, help="run only the standard shape with this name")
    parser.add_argument("--shape", action="append", default=[],
                        help="MxNxK or MxNxK:NT (N = as stored, T = transposed, for A then B); replaces the standard shapes")
    args = parser.parse_args()
    rng = np.random.default_rng(1)
    print(f"# numpy {np.__version__}, OpenBLAS core {openblas_core()}, OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS', 'unset')}, "
          f"median of {args.reps} reps, {args.seconds:g} s timed after {args.warmup_seconds:g} s warm-up per shape")
    print("# shape\tm\tn\tk\tthreads\tGFLOP/s")
    shapes = [parse_shape(text) for text in args.shape] or SHAPES
    for name, m, n, k, ta, tb in shapes:
        if args.only is not None and name != args.only:
            continue
        rate = measure(m, n, k, ta, tb, args.reps, args.seconds, args.warmup_seconds, rng)
        print(f"{name}\t{m}\t{n}\t{k}\t{args.threads}\t{rate:.1f}", flush=True)


if __name__ == "__main__":
    main()
