#!/usr/bin/python3
"""Writes PyTorch reference fixtures for Recurrent's RNN/LSTM/GRU layers as safetensors.

Run from the repository root with Debian's PyTorch:

    /usr/bin/python3 scripts/make_fixtures.py

Each file in tests/fixtures/rnn/ holds one nn.RNN/nn.LSTM/nn.GRU (PyTorch's default init,
time-major input), the float32 values it was given (parameters, input, lengths, initial
state, upstream gradients) and the float64 reference results (output, final state, loss,
gradients of every parameter, of the input and of the initial state). The module is built
and its inputs drawn in float32; the reference is then computed with the module and inputs
converted to float64 (module.double(), x.double()), so the references are the exact results
for the stored float32 values up to float64 rounding.

    loss = sum(output * dloss.output) + sum(h_n * dloss.h_n) [+ sum(c_n * dloss.c_n) for LSTM]

where output is the padded output [T, B, D*H] (zeros past each sequence's length), so the
stored dloss.* tensors are exactly the upstream gradients dL/doutput, dL/dh_n, dL/dc_n.

Tensors per file (names as in PyTorch's state_dict, prefixed):
    param.<name> F32, input F32 [T,B,in], lengths I64 [B], h0/c0 F32 [L*D,B,H] (h0 variant),
    output F64 [T,B,D*H], h_n/c_n F64 [L*D,B,H], dloss.output/h_n/c_n F32, loss F64 [],
    grad.param.<name> F64, grad.input F64, grad.h0/grad.c0 F64 (h0 variant).

The safetensors writer and reader below follow the format exactly (8-byte little-endian
header length, UTF-8 JSON header padded with spaces to a multiple of 8, tensors sorted by
dtype alignment descending then name, contiguous little-endian row-major data); there is
no `safetensors` package here. Everything is seeded, single-threaded and deterministic:
running the script twice gives byte-identical files.
"""

import json
import os
import struct
import sys
import tempfile
import zlib

import numpy as np
import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT_DIR = os.path.join(REPO_ROOT, "tests", "fixtures", "rnn")

MODES = ["rnn_tanh", "rnn_relu", "lstm", "gru"]
SMALL = dict(input_size=7, hidden_size=13, batch=5, seq_len=9, ragged_lengths=[9, 4, 7, 1, 6])
LARGE = dict(input_size=33, hidden_size=70, batch=6, seq_len=17, ragged_lengths=[17, 3, 12, 17, 8, 1])

LOSS_DEFINITION = (
    "loss = sum(output * dloss.output) + sum(h_n * dloss.h_n) (+ sum(c_n * dloss.c_n) for LSTM), "
    "computed in float64 with module.double() on the stored float32 values; output is the padded "
    "output [T,B,D*H] with zeros past each sequence's length; h_n/c_n are the states at each "
    "sequence's last real step (packed-sequence semantics)"
)

# ---------------------------------------------------------------------------------------
# safetensors, written and read by hand

MAX_HEADER_SIZE = 100_000_000
# Reference dtype enum order (= increasing alignment); the writer sorts by it descending, then by name.
DTYPE_ORDER = ["BOOL", "F4", "F6_E2M3", "F6_E3M2", "U8", "I8", "F8_E5M2", "F8_E4M3", "F8_E8M0",
               "F8_E4M3FNUZ", "F8_E5M2FNUZ", "I16", "U16", "F16", "BF16", "I32", "U32", "F32",
               "C64", "F64", "I64", "U64"]
NUMPY_DTYPES = {"F32": np.dtype("<f4"), "F64": np.dtype("<f8"), "I64": np.dtype("<i8"), "I32": np.dtype("<i4"),
                "U8": np.dtype("u1"), "F16": np.dtype("<f2")}


def safetensors_bytes(tensors, metadata):
    """tensors: dict name -> (dtype string, numpy array). Returns the file's bytes."""
    if "__metadata__" in tensors:
        raise ValueError("'__metadata__' cannot name a tensor")
    order = sorted(tensors, key=lambda n: (-DTYPE_ORDER.index(tensors[n][0]), n))
    header = {}
    if metadata:
        if not all(isinstance(k, str) and isinstance(v, str) for k, v in metadata.items()):
            raise ValueError("metadata must map strings to strings")
        header["__metadata__"] = dict(sorted(metadata.items()))
    chunks, offset = [], 0
    for name in order:
        dtype, array = tensors[name]
        data = np.ascontiguousarray(array, dtype=NUMPY_DTYPES[dtype]).tobytes(order="C")
        header[name] = {"dtype": dtype, "shape": list(array.shape), "data_offsets": [offset, offset + len(data)]}
        chunks.append(data)
        offset += len(data)
    text = json.dumps(header, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text + b"".join(chunks)


def write_safetensors(path, tensors, metadata):
    """Atomic: a temporary file in the same folder, flushed to disk, renamed over the target."""
    data = safetensors_bytes(tensors, metadata)
    folder = os.path.dirname(path)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix="." + os.path.basename(path) + ".", suffix=".tmp")
    try:
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; give the file ordinary permissions
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def read_safetensors(path):
    """Reads and validates a file by the reference rules. Returns (dict name -> (dtype, array), metadata)."""
    with open(path, "rb") as f:
        raw = f.read()
    if len(raw) < 8:
        raise ValueError(f"{path}: shorter than the 8-byte header length")
    (n,) = struct.unpack_from("<Q", raw, 0)
    if n > MAX_HEADER_SIZE:
        raise ValueError(f"{path}: header length {n} too large")
    if 8 + n > len(raw):
        raise ValueError(f"{path}: header length {n} runs past the end of the file")

    def no_duplicates(pairs):
        keys = [k for k, _ in pairs]
        if len(keys) != len(set(keys)):
            raise ValueError(f"{path}: duplicate key in header")
        return dict(pairs)

    header = json.loads(raw[8:8 + n].decode("utf-8", errors="strict"), object_pairs_hook=no_duplicates)
    if not isinstance(header, dict):
        raise ValueError(f"{path}: header is not a JSON object")
    metadata = header.pop("__metadata__", None) or {}
    if not all(isinstance(k, str) and isinstance(v, str) for k, v in metadata.items()):
        raise ValueError(f"{path}: metadata is not string->string")
    buffer = raw[8 + n:]
    entries = sorted(header.items(), key=lambda kv: tuple(kv[1]["data_offsets"]))
    tensors, expected = {}, 0
    for name, info in entries:
        dtype, shape, (begin, end) = info["dtype"], info["shape"], info["data_offsets"]
        if dtype not in DTYPE_ORDER:
            raise ValueError(f"{path}: tensor {name} has unknown dtype {dtype}")
        if any((not isinstance(d, int)) or d < 0 for d in shape):
            raise ValueError(f"{path}: tensor {name} has a bad shape {shape}")
        if begin != expected or end < begin:
            raise ValueError(f"{path}: tensor {name} has bad offsets [{begin}, {end}]")
        count = int(np.prod(shape, dtype=np.int64)) if shape else 1
        if end - begin != count * NUMPY_DTYPES[dtype].itemsize:
            raise ValueError(f"{path}: tensor {name} size disagrees with its shape")
        tensors[name] = (dtype, np.frombuffer(buffer[begin:end], dtype=NUMPY_DTYPES[dtype]).reshape(shape))
        expected = end
    if expected != len(buffer):
        raise ValueError(f"{path}: tensors cover {expected} bytes but the buffer holds {len(buffer)}")
    return tensors, metadata


# ---------------------------------------------------------------------------------------
# fixtures

def make_module(mode, input_size, hidden_size, num_layers, bidirectional):
    common = dict(num_layers=num_layers, bidirectional=bidirectional, batch_first=False)
    if mode == "rnn_tanh":
        return nn.RNN(input_size, hidden_size, nonlinearity="tanh", **common)
    if mode == "rnn_relu":
        return nn.RNN(input_size, hidden_size, nonlinearity="relu", **common)
    if mode == "lstm":
        return nn.LSTM(input_size, hidden_size, **common)
    if mode == "gru":
        return nn.GRU(input_size, hidden_size, **common)
    raise ValueError(mode)


def seed_for(name):
    """A distinct seed per file, stable when fixtures are added or removed."""
    return zlib.crc32(name.encode("utf-8")) & 0x7FFFFFFF


def run_reference(module64, mode, x64, lengths, packed, h0_64, c0_64):
    """Float64 forward: returns (padded output, h_n, c_n or None)."""
    T = x64.shape[0]
    hx = None
    if h0_64 is not None:
        hx = (h0_64, c0_64) if mode == "lstm" else h0_64
    if packed:
        seq = pack_padded_sequence(x64, lengths, enforce_sorted=False)
        out, state = module64(seq, hx)
        output, _ = pad_packed_sequence(out, total_length=T)
    else:
        output, state = module64(x64, hx)
    if mode == "lstm":
        h_n, c_n = state
    else:
        h_n, c_n = state, None
    return output, h_n, c_n


def build_fixture(name, mode, num_layers, bidirectional, ragged, with_h0, sizes):
    seed = seed_for(name)
    torch.manual_seed(seed)
    I, H, B, T = sizes["input_size"], sizes["hidden_size"], sizes["batch"], sizes["seq_len"]
    D = 2 if bidirectional else 1
    lengths_list = sizes["ragged_lengths"] if ragged else [T] * B
    assert len(lengths_list) == B and max(lengths_list) == T

    # Everything drawn in float32 with PyTorch's defaults, in this order.
    module = make_module(mode, I, H, num_layers, bidirectional)
    x = torch.randn(T, B, I, dtype=torch.float32)
    h0 = c0 = None
    if with_h0:
        h0 = torch.randn(num_layers * D, B, H, dtype=torch.float32) * 0.5
        if mode == "lstm":
            c0 = torch.randn(num_layers * D, B, H, dtype=torch.float32) * 0.5
    w_out = torch.randn(T, B, D * H, dtype=torch.float32)
    w_hn = torch.randn(num_layers * D, B, H, dtype=torch.float32)
    w_cn = torch.randn(num_layers * D, B, H, dtype=torch.float32) if mode == "lstm" else None
    params32 = {k: v.detach().clone() for k, v in module.state_dict().items()}
    lengths = torch.tensor(lengths_list, dtype=torch.int64)

    # The reference, in float64, on exactly those values.
    module64 = module.double()
    x64 = x.double().requires_grad_(True)
    h0_64 = h0.double().requires_grad_(True) if h0 is not None else None
    c0_64 = c0.double().requires_grad_(True) if c0 is not None else None
    output, h_n, c_n = run_reference(module64, mode, x64, lengths, ragged, h0_64, c0_64)
    assert output.shape == (T, B, D * H) and h_n.shape == (num_layers * D, B, H)
    loss = (output * w_out.double()).sum() + (h_n * w_hn.double()).sum()
    if c_n is not None:
        loss = loss + (c_n * w_cn.double()).sum()
    loss.backward()

    f32 = lambda t: ("F32", t.detach().to(torch.float32).numpy())
    f64 = lambda t: ("F64", t.detach().to(torch.float64).numpy())
    tensors = {}
    for pname, value in params32.items():
        tensors["param." + pname] = f32(value)
    for pname, p in module64.named_parameters():
        assert pname in params32
        tensors["grad.param." + pname] = f64(p.grad)
    tensors["input"] = f32(x)
    tensors["lengths"] = ("I64", lengths.numpy())
    tensors["output"] = f64(output)
    tensors["h_n"] = f64(h_n)
    tensors["dloss.output"] = f32(w_out)
    tensors["dloss.h_n"] = f32(w_hn)
    tensors["loss"] = f64(loss)
    tensors["grad.input"] = f64(x64.grad)
    if mode == "lstm":
        tensors["c_n"] = f64(c_n)
        tensors["dloss.c_n"] = f32(w_cn)
    if with_h0:
        tensors["h0"] = f32(h0)
        tensors["grad.h0"] = f64(h0_64.grad)
        if mode == "lstm":
            tensors["c0"] = f32(c0)
            tensors["grad.c0"] = f64(c0_64.grad)

    metadata = {
        "mode": mode.upper(),
        "num_layers": str(num_layers),
        "bidirectional": "true" if bidirectional else "false",
        "input_size": str(I),
        "hidden_size": str(H),
        "batch": str(B),
        "seq_len": str(T),
        "lengths": ",".join(str(n) for n in lengths_list),
        "packed": "true" if ragged else "false",
        "initial_state": "h0" if with_h0 else "zero",
        "torch_version": torch.__version__,
        "seed": str(seed),
        "loss_definition": LOSS_DEFINITION,
        "generator": "scripts/make_fixtures.py",
    }
    return tensors, metadata


def all_fixtures():
    """(file name, mode, num_layers, bidirectional, ragged, with_h0, sizes) for every fixture."""
    for mode in MODES:
        for num_layers in (1, 2, 3):
            for bidirectional in (False, True):
                for ragged in (False, True):
                    for with_h0 in (True, False):
                        name = "{}_l{}_{}_{}_{}".format(mode, num_layers, "bi" if bidirectional else "uni",
                                                        "ragged" if ragged else "equal", "h0" if with_h0 else "zero")
                        yield name, mode, num_layers, bidirectional, ragged, with_h0, SMALL
    for mode in MODES:
        yield mode + "_large", mode, 2, True, True, True, LARGE


# ---------------------------------------------------------------------------------------
# self-checks on the files as written

def check_file(path, expected_tensors, expected_metadata):
    """Reads a file back with the reader above and compares every tensor bit for bit."""
    tensors, metadata = read_safetensors(path)
    assert metadata == expected_metadata, path
    assert set(tensors) == set(expected_tensors), path
    for name, (dtype, array) in expected_tensors.items():
        got_dtype, got = tensors[name]
        assert got_dtype == dtype and got.shape == array.shape, (path, name)
        assert got.tobytes() == np.ascontiguousarray(array, dtype=NUMPY_DTYPES[dtype]).tobytes(), (path, name)


def check_semantics(path):
    """Recomputes the reference from the file's own float32 values, and checks packed-sequence facts."""
    tensors, meta = read_safetensors(path)
    t = {k: torch.from_numpy(v.copy()) for k, (_, v) in tensors.items()}
    mode, L = meta["mode"].lower(), int(meta["num_layers"])
    bidirectional = meta["bidirectional"] == "true"
    D, H = (2 if bidirectional else 1), int(meta["hidden_size"])
    module = make_module(mode, int(meta["input_size"]), H, L, bidirectional)
    module.load_state_dict({k[len("param."):]: v for k, v in t.items() if k.startswith("param.")})
    module = module.double()
    h0 = t["h0"].double() if "h0" in t else None
    c0 = t["c0"].double() if "c0" in t else None
    with torch.no_grad():
        output, h_n, _ = run_reference(module, mode, t["input"].double(), t["lengths"], meta["packed"] == "true", h0, c0)
    assert torch.allclose(output, t["output"], rtol=0, atol=1e-12), path
    assert torch.allclose(h_n, t["h_n"], rtol=0, atol=1e-12), path

    out, hn, lengths = t["output"], t["h_n"], t["lengths"].tolist()
    for b, n in enumerate(lengths):
        assert torch.all(out[n:, b] == 0), (path, "padded positions must be zero")
        # Top layer: forward state = output at the last real step; reverse state = output at step 0.
        assert torch.equal(hn[(L - 1) * D, b], out[n - 1, b, :H]), (path, "forward h_n")
        if bidirectional:
            assert torch.equal(hn[(L - 1) * D + 1, b], out[0, b, H:]), (path, "reverse h_n")


def main():
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    os.makedirs(OUT_DIR, exist_ok=True)
    written, total = [], 0
    for name, mode, num_layers, bidirectional, ragged, with_h0, sizes in all_fixtures():
        tensors, metadata = build_fixture(name, mode, num_layers, bidirectional, ragged, with_h0, sizes)
        path = os.path.join(OUT_DIR, name + ".safetensors")
        write_safetensors(path, tensors, metadata)
        check_file(path, tensors, metadata)
        written.append(path)
        total += os.path.getsize(path)

    for path in written:
        check_semantics(path)
    stale = sorted(set(os.listdir(OUT_DIR)) - {os.path.basename(p) for p in written})
    if stale:
        print("warning: files in {} not written by this script: {}".format(OUT_DIR, ", ".join(stale)), file=sys.stderr)
    print("wrote {} files, {:.2f} MB, to {} (torch {}); self-checks passed".format(
        len(written), total / 1e6, os.path.relpath(OUT_DIR, REPO_ROOT), torch.__version__))


if __name__ == "__main__":
    main()
