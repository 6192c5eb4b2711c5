#!/usr/bin/python3
"""Writes float32-precision fixtures: long, chaotic recurrent runs with a float64 reference and
PyTorch float32's own distance from it.

Run from the repository root with Debian's PyTorch:

    /usr/bin/python3 scripts/make_precision_fixtures.py

Each file in tests/fixtures/precision/ has the layout of tests/fixtures/rnn/ (see
scripts/make_fixtures.py: param.*, input, lengths, h0/c0, dloss.*, and the float64 references
output, h_n, c_n, loss, grad.*), for runs where float32 rounding matters: T >= 60 steps and a
recurrent matrix drawn with gain g, W_hh ~ N(0, g^2 / H), g above the edge of chaos for tanh
(g > 1) and near it for ReLU (g ~ sqrt(2)), so rounding noise is amplified along the sequence
the way it is in real training.

On top, the metadata entry "torch32_error" holds, as JSON {tensor: error}, how far PyTorch's
own float32 computation (the same module and inputs, float32, one thread) is from the float64
reference, per tensor, as the relative L2 error ||torch32 - ref||_2 / ||ref||_2 — the bound the
tests hold Recurrent to (within a factor, on every SIMD level). "torch32_num_threads" records
the thread count of that run.
"""

import json
import math
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_fixtures as mf  # noqa: E402  (the safetensors writer/reader and the reference runner)

OUT_DIR = os.path.join(mf.REPO_ROOT, "tests", "fixtures", "precision")

# name, mode, layers, bidirectional, input, hidden, batch, lengths, gain (None: PyTorch's init), seeds.
# The default-init runs contract, so their error is the rounding of each step: one file each, held
# tensor by tensor. The chaotic runs (gain past the edge of chaos) amplify whichever early rounding
# happens to point along the unstable direction, so one file says little (two equally good float32
# computations differ by up to ~6x either way); they come as ensembles of seeds, held by the
# geometric mean of the error ratio over the ensemble.
RAGGED6 = [60, 37, 60, 12, 51, 1]
CASES = [
    ("rnn_tanh_t60_h31", "rnn_tanh", 1, False, 9, 31, 6, RAGGED6, None, 1),
    ("rnn_relu_t60_h31", "rnn_relu", 1, False, 9, 31, 6, RAGGED6, None, 1),
    ("rnn_tanh_t100_h48_bi", "rnn_tanh", 2, True, 12, 48, 4, [100, 64, 100, 7], None, 1),
    ("rnn_relu_t100_h48_bi", "rnn_relu", 2, True, 12, 48, 4, [100, 64, 100, 7], None, 1),
    ("lstm_t80_h40", "lstm", 1, False, 10, 40, 5, [80, 44, 80, 13, 61], None, 1),
    ("gru_t80_h40", "gru", 1, False, 10, 40, 5, [80, 44, 80, 13, 61], None, 1),
    ("chaotic_rnn_tanh_t60_h31", "rnn_tanh", 1, False, 9, 31, 6, RAGGED6, 1.8, 8),
    ("chaotic_rnn_relu_t60_h31", "rnn_relu", 1, False, 9, 31, 6, RAGGED6, 1.45, 8),
]


def relative_error(actual, reference):
    a, r = actual.double().reshape(-1), reference.double().reshape(-1)
    return float(torch.linalg.norm(a - r) / max(float(torch.linalg.norm(r)), 1e-12))


def forward_backward(module, mode, x, lengths, h0, c0, w_out, w_hn, w_cn):
    """Output, states and gradients of L = sum(output*w_out) + sum(h_n*w_hn) (+ sum(c_n*w_cn)) in the module's dtype."""
    dtype = next(module.parameters()).dtype
    x = x.to(dtype).detach().requires_grad_(True)
    h0 = h0.to(dtype).detach().requires_grad_(True)
    c0 = c0.to(dtype).detach().requires_grad_(True) if c0 is not None else None
    module.zero_grad()
    output, h_n, c_n = mf.run_reference(module, mode, x, lengths, True, h0, c0)
    loss = (output * w_out.to(dtype)).sum() + (h_n * w_hn.to(dtype)).sum()
    if c_n is not None:
        loss = loss + (c_n * w_cn.to(dtype)).sum()
    loss.backward()
    result = {"output": output.detach(), "h_n": h_n.detach(), "loss": loss.detach(), "grad.input": x.grad, "grad.h0": h0.grad}
    if c_n is not None:
        result["c_n"] = c_n.detach()
        result["grad.c0"] = c0.grad
    for name, p in module.named_parameters():
        result["grad.param." + name] = p.grad.detach().clone()
    return result


def build(name, mode, layers, bidirectional, I, H, B, lengths_list, gain, seeds, seed=None):
    seed = mf.seed_for("precision/" + name) if seed is None else seed
    torch.manual_seed(seed)
    T, D = max(lengths_list), (2 if bidirectional else 1)
    module = mf.make_module(mode, I, H, layers, bidirectional)
    with torch.no_grad():
        for pname, p in module.named_parameters():
            if gain is not None and pname.startswith("weight_hh"):
                # Every gate block gets the gain: W ~ N(0, g^2/H).
                p.copy_(torch.randn(p.shape) * (gain / math.sqrt(H)))
    x = torch.randn(T, B, I, dtype=torch.float32)
    h0 = torch.randn(layers * D, B, H, dtype=torch.float32) * 0.5
    c0 = torch.randn(layers * D, B, H, dtype=torch.float32) * 0.5 if mode == "lstm" else None
    w_out = torch.randn(T, B, D * H, dtype=torch.float32)
    w_hn = torch.randn(layers * D, B, H, dtype=torch.float32)
    w_cn = torch.randn(layers * D, B, H, dtype=torch.float32) if mode == "lstm" else None
    lengths = torch.tensor(lengths_list, dtype=torch.int64)
    params32 = {k: v.detach().clone() for k, v in module.state_dict().items()}

    ref = forward_backward(module.double(), mode, x, lengths, h0, c0, w_out, w_hn, w_cn)
    module32 = mf.make_module(mode, I, H, layers, bidirectional)
    module32.load_state_dict(params32)
    ours32 = forward_backward(module32, mode, x, lengths, h0, c0, w_out, w_hn, w_cn)
    torch32_error = {k: relative_error(ours32[k], ref[k]) for k in ref if k != "loss"}

    f32 = lambda t: ("F32", t.detach().to(torch.float32).numpy())
    f64 = lambda t: ("F64", t.detach().to(torch.float64).numpy())
    tensors = {"param." + k: f32(v) for k, v in params32.items()}
    for k, v in ref.items():
        tensors[k] = f64(v)
    tensors["input"] = f32(x)
    tensors["lengths"] = ("I64", lengths.numpy())
    tensors["dloss.output"] = f32(w_out)
    tensors["dloss.h_n"] = f32(w_hn)
    tensors["h0"] = f32(h0)
    if mode == "lstm":
        tensors["c0"] = f32(c0)
        tensors["dloss.c_n"] = f32(w_cn)
    metadata = {
        "mode": mode.upper(),
        "num_layers": str(layers),
        "bidirectional": "true" if bidirectional else "false",
        "input_size": str(I),
        "hidden_size": str(H),
        "batch": str(B),
        "seq_len": str(T),
        "lengths": ",".join(str(n) for n in lengths_list),
        "packed": "true",
        "initial_state": "h0",
        "recurrent_gain": "pytorch-init" if gain is None else repr(gain),
        "ensemble": name if seeds > 1 else "",
        "torch_version": torch.__version__,
        "torch32_num_threads": str(torch.get_num_threads()),
        "torch32_error": json.dumps(torch32_error, sort_keys=True),
        "seed": str(seed),
        "loss_definition": mf.LOSS_DEFINITION,
        "generator": "scripts/make_precision_fixtures.py",
    }
    return tensors, metadata, torch32_error, ref


def main():
    """With --variants N DIR: N more seeds of every case into DIR (for measuring how the error ratio spreads), not the test fixtures."""
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    jobs, out_dir = [], OUT_DIR
    for case in CASES:
        name, seeds = case[0], case[-1]
        if seeds == 1:
            jobs.append((case, None, name))
        else:
            jobs += [(case, mf.seed_for("precision/{}/{}".format(name, k)), "{}_s{}".format(name, k)) for k in range(seeds)]
    if len(sys.argv) == 4 and sys.argv[1] == "--variants":
        out_dir = sys.argv[3]
        jobs = [(case, 1000 + k, "{}_seed{}".format(case[0], 1000 + k)) for case in CASES for k in range(int(sys.argv[2]))]
    os.makedirs(out_dir, exist_ok=True)
    for case, seed, name in jobs:
        tensors, metadata, errors, ref = build(*case, seed=seed)
        path = os.path.join(out_dir, name + ".safetensors")
        mf.write_safetensors(path, tensors, metadata)
        mf.check_file(path, tensors, metadata)
        worst = max(errors.items(), key=lambda kv: kv[1])
        print("{}: |output| max {:.3g}, |grad.h0| max {:.3g}; torch float32 worst relative L2 error {:.2e} ({})".format(
            name, float(ref["output"].abs().max()), float(ref["grad.h0"].abs().max()), worst[1], worst[0]))
    print("wrote {} files to {} (torch {})".format(len(jobs), out_dir, torch.__version__))


if __name__ == "__main__":
    main()
