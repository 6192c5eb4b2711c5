#!/usr/bin/python3
"""Reference fixtures for Recurrent's optimizers and gradient clipping, made with torch.optim.

Run with the system Python that has PyTorch 1.13:  /usr/bin/python3 scripts/make_optimizer_fixtures.py

Each optimizer case runs torch.optim for STEPS steps in float32 on two parameters of awkward
sizes ("weight" [7, 13] and "bias" [5]) from fixed random initial values, with a fixed random
gradient per step, and writes tests/fixtures/optim/<case>.safetensors holding

    initial.<param>        the values before the first step
    grad.<k>.<param>       the gradient given at step k (k = 1..STEPS)
    value.<k>.<param>      the values after step k

with the optimizer and its hyperparameters (as torch received them) in __metadata__.
Clipping cases hold grad.<param> (before), clipped.<param> (after) and, for the norm,
total_norm (the value clip_grad_norm_ returned).

The safetensors format is written by hand (no dependency): 8-byte little-endian header length,
a JSON header {name: {dtype, shape, data_offsets}, "__metadata__": {str: str}} padded with
spaces to a multiple of 8, then the raw little-endian float32 data.
"""
import json
import os
import struct

import torch

STEPS = 5
SHAPES = {"weight": (7, 13), "bias": (5,)}
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures", "optim")


def write_safetensors(path, tensors, metadata):
    header = {"__metadata__": {k: str(v) for k, v in metadata.items()}}
    blobs = []
    offset = 0
    for name in sorted(tensors):
        t = tensors[name].detach().to(torch.float32).contiguous()
        data = t.numpy().astype("<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for b in blobs:
            f.write(b)


def make_params(seed):
    g = torch.Generator().manual_seed(seed)
    return {n: torch.randn(s, generator=g, dtype=torch.float32) for n, s in SHAPES.items()}


def make_grads(seed, scale=1.0):
    g = torch.Generator().manual_seed(seed)
    return [{n: scale * torch.randn(s, generator=g, dtype=torch.float32) for n, s in SHAPES.items()}
            for _ in range(STEPS)]


def optimizer_case(name, seed, build, metadata):
    initial = make_params(seed)
    grads = make_grads(seed + 1000)
    params = [torch.nn.Parameter(initial[n].clone()) for n in SHAPES]
    opt = build(params)
    out = {f"initial.{n}": initial[n] for n in SHAPES}
    for k in range(1, STEPS + 1):
        for n, p in zip(SHAPES, params):
            p.grad = grads[k - 1][n].clone()
            out[f"grad.{k}.{n}"] = grads[k - 1][n]
        opt.step()
        for n, p in zip(SHAPES, params):
            out[f"value.{k}.{n}"] = p.detach().clone()
    write_safetensors(os.path.join(OUT, name + ".safetensors"), out, {"steps": STEPS, **metadata})


def clip_norm_case(name, seed, max_norm, scale):
    grads = make_grads(seed, scale)[0]
    params = [torch.nn.Parameter(torch.zeros(s)) for s in SHAPES.values()]
    for n, p in zip(SHAPES, params):
        p.grad = grads[n].clone()
    total = torch.nn.utils.clip_grad_norm_(params, max_norm)
    out = {f"grad.{n}": grads[n] for n in SHAPES}
    out.update({f"clipped.{n}": p.grad for n, p in zip(SHAPES, params)})
    out["total_norm"] = total.reshape(1)
    write_safetensors(os.path.join(OUT, name + ".safetensors"), out, {"kind": "clip_grad_norm", "max_norm": max_norm})


def clip_value_case(name, seed, clip_value):
    grads = make_grads(seed)[0]
    params = [torch.nn.Parameter(torch.zeros(s)) for s in SHAPES.values()]
    for n, p in zip(SHAPES, params):
        p.grad = grads[n].clone()
    torch.nn.utils.clip_grad_value_(params, clip_value)
    out = {f"grad.{n}": grads[n] for n in SHAPES}
    out.update({f"clipped.{n}": p.grad for n, p in zip(SHAPES, params)})
    write_safetensors(os.path.join(OUT, name + ".safetensors"), out, {"kind": "clip_grad_value", "clip_value": clip_value})


def main():
    os.makedirs(OUT, exist_ok=True)
    for f in os.listdir(OUT):
        if f.endswith(".safetensors"):
            os.remove(os.path.join(OUT, f))

    def sgd(name, seed, **kw):
        optimizer_case(name, seed, lambda ps: torch.optim.SGD(ps, **kw), {"optimizer": "sgd", **kw})

    def adam(name, seed, cls, kind, **kw):
        meta = {k: v for k, v in kw.items() if k != "betas"}
        if "betas" in kw:
            meta["beta1"], meta["beta2"] = kw["betas"]
        optimizer_case(name, seed, lambda ps: cls(ps, **kw), {"optimizer": kind, **meta})

    def rmsprop(name, seed, **kw):
        optimizer_case(name, seed, lambda ps: torch.optim.RMSprop(ps, **kw), {"optimizer": "rmsprop", **kw})

    sgd("sgd_plain", 1, lr=0.1)
    sgd("sgd_momentum", 2, lr=0.1, momentum=0.9)
    sgd("sgd_momentum_dampening", 3, lr=0.05, momentum=0.8, dampening=0.3)
    sgd("sgd_nesterov", 4, lr=0.1, momentum=0.9, nesterov=True)
    sgd("sgd_weight_decay", 5, lr=0.1, weight_decay=0.01)
    sgd("sgd_momentum_weight_decay", 6, lr=0.1, momentum=0.9, weight_decay=0.05)

    adam("adam", 11, torch.optim.Adam, "adam", lr=0.01)
    adam("adam_weight_decay", 12, torch.optim.Adam, "adam", lr=0.01, weight_decay=0.1)
    adam("adam_betas_eps", 13, torch.optim.Adam, "adam", lr=0.003, betas=(0.8, 0.95), eps=1e-3)
    adam("adamw", 14, torch.optim.AdamW, "adamw", lr=0.01)
    adam("adamw_weight_decay", 15, torch.optim.AdamW, "adamw", lr=0.01, weight_decay=0.3, betas=(0.85, 0.98))

    rmsprop("rmsprop_plain", 21, lr=0.01)
    rmsprop("rmsprop_momentum", 22, lr=0.01, momentum=0.9)
    rmsprop("rmsprop_centered", 23, lr=0.01, centered=True)
    rmsprop("rmsprop_centered_momentum_weight_decay", 24, lr=0.005, alpha=0.9, eps=1e-6, momentum=0.5,
            centered=True, weight_decay=0.1)

    clip_norm_case("clip_norm_clips", 31, max_norm=1.5, scale=1.0)
    clip_norm_case("clip_norm_keeps", 32, max_norm=100.0, scale=1.0)
    clip_value_case("clip_value", 33, clip_value=0.5)


if __name__ == "__main__":
    main()
