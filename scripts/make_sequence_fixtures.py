#!/usr/bin/python3
"""Writes PyTorch reference fixtures for Recurrent's sequence models as safetensors.

Run from the repository root with Debian's PyTorch:

    /usr/bin/python3 scripts/make_sequence_fixtures.py

Each file in tests/fixtures/sequence/ holds one model and one batch:

    input -> [encoder] -> rnn -> head -> decoder -> loss

  * input: token ids `ids` I64 [T,B] through nn.Embedding `encoder` (V=11, E=6), or dense
    features `input` F32 [T,B,F] with F=5 (no encoder). Time-major (batch_first=False).
    T=8, B=5; `lengths` I64 [B] is [8,3,6,1,5] (ragged) or [8,8,8,8,8] (equal). Values at
    padded positions (t >= lengths[b]) are ordinary random ids/features and must be ignored.
  * rnn: nn.LSTM / nn.GRU / nn.RNN(tanh) / nn.RNN(relu), H=7, 1 or 2 layers, uni- or
    bidirectional (D = 2 if bidirectional), dropout 0, zero initial state, run on
    pack_padded_sequence(x, lengths, enforce_sorted=False) so that each sequence, in both
    directions, only sees its own steps (the reverse direction starts at its own last real
    step); y = pad_packed_sequence(out, total_length=T)[0], [T,B,D*H], zero past each length.
  * head, from y and the final states h_n [L*D,B,H] (row layer*D + direction; for LSTM the
    h part of (h_n, c_n)):
      last: the LAST layer's final states, directions concatenated: D=1: h_n[-1];
            D=2: cat(h_n[-2], h_n[-1], dim=1), i.e. [forward state after step lengths[b]-1,
            reverse state after step 0]                                          -> [B, D*H]
      mean: sum_{t < lengths[b]} y[t,b,:] / lengths[b]                            -> [B, D*H]
      max:  max_{t < lengths[b]} y[t,b,:] elementwise; padded steps are excluded even
            though their y is 0                                                   -> [B, D*H]
      step: no pooling, y.reshape(T*B, D*H): row t*B + b is y[t,b,:] (zero rows at padded
            positions, so their prediction is decoder.bias)                       -> [T*B, D*H]
  * decoder: nn.Linear(D*H, K): prediction = head @ decoder.weight^T + decoder.bias, [rows, K].
  * loss (a scalar, "mean" reduction):
      ce:    F.cross_entropy(prediction, targets, weight=class_weights or None, ignore_index=-1),
             K=4, targets I64 [rows] in 0..K-1; for the step head targets[t*B+b] = -1 at padded
             positions (t >= lengths[b]) and those rows are ignored. With l_i = logsumexp(z_i) -
             z_i[y_i] over the counted rows i: unweighted loss = mean_i l_i; weighted loss =
             sum_i w[y_i] l_i / sum_i w[y_i] (ignored rows are in neither sum).
      mse:   mean over counted rows i and k of d^2,              d = prediction - targets
      l1:    mean of |d|
      huber: mean of (0.5 d^2 if |d| < 1 else |d| - 0.5)  (F.huber_loss, delta = 1.0)
             regression: K=3, targets F32 [rows, K] ~ N(0, 2^2). Counted rows: all B rows for
             pooled heads; for the step head only the rows with t < lengths[b] (loss =
             F.<loss>(prediction[mask], targets[mask])); targets at padded rows are stored as 0.

Tensors per file (names exact):
    param.encoder.weight F32 [V,E]               (ids input only)
    param.rnn.<state_dict name> F32              (weight_ih_l0, weight_hh_l0, bias_ih_l0, bias_hh_l0,
                                                  ..._reverse, ..._l1 ...; PyTorch gate order:
                                                  LSTM i,f,g,o; GRU r,z,n)
    param.decoder.weight F32 [K, D*H], param.decoder.bias F32 [K]
    ids I64 [T,B]  or  input F32 [T,B,F]
    lengths I64 [B]
    targets I64 [rows] (ce)  or  F32 [rows, K] (mse, l1, huber);  rows = B, or T*B for step
    class_weights F32 [K]                        (weighted ce only)
    prediction F64 [rows, K], loss F64 []
    grad.param.<same names as param.*> F64      (every parameter)
    grad.input F64 [T,B,F]                       (features input only; zero at padded steps)

Metadata (all strings): input (ids|features), cell (lstm|gru|rnn_tanh|rnn_relu), layers,
bidirectional (true|false), head (last|mean|max|step), loss (ce|mse|l1|huber), class_weights
(true|false), hidden, vocab + embedding (ids) or features (features), classes (K), seq_len,
batch, lengths (comma-separated), ignore_index (ce only, "-1"), huber_delta (huber only,
"1.0"), seed, torch_version, generator.

File names: <cell>_<input>_<head>_<loss>_l<layers>_<bi|uni>_<ragged|equal>, with loss "cew"
for cross-entropy with class weights.

References: the modules are built and all values drawn in float32 (PyTorch default init,
embedding ~N(0,1), features ~N(0,1), class weights ~U(0.5, 2)); the stored float32 values are
then run with module.double() and inputs .double(), so the F64 references are exact results
for the stored values up to float64 rounding. Seeded per file name (crc32 of the name; the
`seed` metadata entry is the seed used), single-threaded: reruns are byte-identical. A draw
is rejected, and the next seed (crc32 of "<name>#1", "#2", ...) tried, when the fixture
would be degenerate: a relu stack whose valid top-layer outputs are more than half exact
zeros (dead units), or a max head with a tie (two valid steps reaching a column's maximum,
which happens with relu's exact zeros); so every max-pooled value has a unique arg max.
The safetensors writer is the one in make_fixtures.py.

Self-check (printed): every file is read back and (1) recomputed by an independent loop
implementation over (b, t) (hand-written cells, heads, decoder and losses, gradients by
autograd through the loop) and compared with every stored reference; (2) a handful of
gradient entries per parameter tensor (and of grad.input) are compared with central finite
differences (eps 1e-6, float64) of the nn-module loss.
"""

import os
import sys
import zlib

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_fixtures import read_safetensors, write_safetensors  # noqa: E402

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT_DIR = os.path.join(REPO_ROOT, "tests", "fixtures", "sequence")

T, B = 8, 5
RAGGED = [8, 3, 6, 1, 5]
EQUAL = [8, 8, 8, 8, 8]
VOCAB, EMBED, FEATURES, HIDDEN = 11, 6, 5, 7
CE_CLASSES, REG_OUTPUTS = 4, 3
HUBER_DELTA = 1.0
IGNORE_INDEX = -1
CELLS = ["lstm", "gru", "rnn_tanh", "rnn_relu"]
MAX_RELU_ZERO_FRACTION = 0.5  # of the valid top-layer outputs of a relu stack
MAX_ATTEMPTS = 100

# (input, head, loss, class_weights, layers, bidirectional, ragged)
PER_CELL = [
    ("ids", "last", "ce", False, 2, True, True),
    ("features", "mean", "mse", False, 1, True, True),
    ("features", "max", "huber", False, 2, False, True),
    ("ids", "step", "ce", True, 1, True, True),
    ("features", "step", "l1", False, 2, True, True),
    ("ids", "last", "ce", False, 1, False, False),
]
GATED_ONLY = [
    ("features", "last", "mse", False, 2, True, True),
    ("ids", "mean", "ce", True, 2, True, True),
    ("ids", "max", "ce", False, 1, True, True),
    ("features", "step", "huber", False, 1, False, True),
]


def all_fixtures():
    for cell in CELLS:
        cases = PER_CELL + (GATED_ONLY if cell in ("lstm", "gru") else [])
        for inp, head, loss, weighted, layers, bi, ragged in cases:
            name = "{}_{}_{}_{}_l{}_{}_{}".format(cell, inp, head, "cew" if weighted else loss, layers,
                                                  "bi" if bi else "uni", "ragged" if ragged else "equal")
            yield dict(name=name, cell=cell, input=inp, head=head, loss=loss, weighted=weighted,
                       layers=layers, bidirectional=bi, lengths=RAGGED if ragged else EQUAL)


def seed_for(name):
    return zlib.crc32(name.encode("utf-8")) & 0x7FFFFFFF


def make_rnn(cell, input_size, layers, bidirectional):
    common = dict(num_layers=layers, bidirectional=bidirectional, batch_first=False, dropout=0.0)
    if cell == "lstm":
        return nn.LSTM(input_size, HIDDEN, **common)
    if cell == "gru":
        return nn.GRU(input_size, HIDDEN, **common)
    if cell in ("rnn_tanh", "rnn_relu"):
        return nn.RNN(input_size, HIDDEN, nonlinearity=cell[4:], **common)
    raise ValueError(cell)


def classes_for(loss):
    return CE_CLASSES if loss == "ce" else REG_OUTPUTS


def valid_mask(lengths):
    """[T, B] bool: t < lengths[b]."""
    return torch.arange(T).unsqueeze(1) < torch.as_tensor(lengths).unsqueeze(0)


# ---------------------------------------------------------------------------------------
# the reference definition, with PyTorch modules

class SequenceModel(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        D = 2 if cfg["bidirectional"] else 1
        if cfg["input"] == "ids":
            self.encoder = nn.Embedding(VOCAB, EMBED)
            in_size = EMBED
        else:
            self.encoder = None
            in_size = FEATURES
        self.rnn = make_rnn(cfg["cell"], in_size, cfg["layers"], cfg["bidirectional"])
        self.decoder = nn.Linear(D * HIDDEN, classes_for(cfg["loss"]))

    def forward(self, x, lengths):
        """x: ids [T,B] or features [T,B,F]; returns prediction [rows, K]."""
        cfg = self.cfg
        emb = self.encoder(x) if self.encoder is not None else x
        packed = pack_padded_sequence(emb, lengths, enforce_sorted=False)
        out, state = self.rnn(packed)
        y, _ = pad_packed_sequence(out, total_length=T)  # [T, B, D*H]
        self.last_y = y
        h_n = state[0] if cfg["cell"] == "lstm" else state  # [L*D, B, H]
        lengths_t = torch.as_tensor(lengths)
        head = cfg["head"]
        if head == "last":
            pooled = torch.cat((h_n[-2], h_n[-1]), dim=1) if cfg["bidirectional"] else h_n[-1]
        elif head == "mean":
            pooled = y.sum(dim=0) / lengths_t.to(y.dtype).unsqueeze(1)
        elif head == "max":
            pooled = y.masked_fill(~valid_mask(lengths).unsqueeze(2), float("-inf")).max(dim=0).values
        elif head == "step":
            pooled = y.reshape(T * y.shape[1], y.shape[2])
        else:
            raise ValueError(head)
        return self.decoder(pooled)


def reference_loss(cfg, prediction, targets, class_weights, lengths):
    if cfg["loss"] == "ce":
        return F.cross_entropy(prediction, targets, weight=class_weights, ignore_index=IGNORE_INDEX)
    if cfg["head"] == "step":
        rows = valid_mask(lengths).reshape(-1)  # row t*B + b
        prediction, targets = prediction[rows], targets[rows]
    if cfg["loss"] == "mse":
        return F.mse_loss(prediction, targets)
    if cfg["loss"] == "l1":
        return F.l1_loss(prediction, targets)
    if cfg["loss"] == "huber":
        return F.huber_loss(prediction, targets, delta=HUBER_DELTA)
    raise ValueError(cfg["loss"])


def degenerate(cfg, y):
    """Why a drawn fixture is rejected (None if it is fine): ties in max pooling, or a relu stack
    whose top layer outputs mostly exact zeros (dead units make the heads' tests weak)."""
    mask = valid_mask(cfg["lengths"])
    valid = y.detach()[mask]  # [sum(lengths), D*H]
    if cfg["cell"] == "rnn_relu" and (valid == 0).double().mean().item() > MAX_RELU_ZERO_FRACTION:
        return "relu zeros"
    if cfg["head"] == "max":
        for b, n in enumerate(cfg["lengths"]):
            steps = y.detach()[:n, b]  # [n, D*H]
            if bool(((steps == steps.max(dim=0).values).sum(dim=0) > 1).any()):
                return "max ties"
    return None


def build_fixture(cfg):
    for attempt in range(MAX_ATTEMPTS):
        seed = seed_for(cfg["name"] if attempt == 0 else "{}#{}".format(cfg["name"], attempt))
        result = build_fixture_with_seed(cfg, seed)
        if result is not None:
            return result + (attempt,)
    raise RuntimeError("no non-degenerate draw for " + cfg["name"])


def build_fixture_with_seed(cfg, seed):
    torch.manual_seed(seed)
    lengths = torch.tensor(cfg["lengths"], dtype=torch.int64)
    mask = valid_mask(cfg["lengths"])
    K = classes_for(cfg["loss"])
    rows = T * B if cfg["head"] == "step" else B

    # Everything in float32, in this order.
    model = SequenceModel(cfg)
    if cfg["input"] == "ids":
        x = torch.randint(0, VOCAB, (T, B), dtype=torch.int64)
    else:
        x = torch.randn(T, B, FEATURES, dtype=torch.float32)
    if cfg["loss"] == "ce":
        targets = torch.randint(0, K, (rows,), dtype=torch.int64)
        if cfg["head"] == "step":
            targets = torch.where(mask.reshape(-1), targets, torch.full_like(targets, IGNORE_INDEX))
    else:
        targets = torch.randn(rows, K, dtype=torch.float32) * 2.0
        if cfg["head"] == "step":
            targets = targets * mask.reshape(-1, 1).to(targets.dtype)
    class_weights = torch.rand(K, dtype=torch.float32) * 1.5 + 0.5 if cfg["weighted"] else None
    params32 = {k: v.detach().clone() for k, v in model.state_dict().items()}

    # The float64 reference on exactly those values.
    model = model.double()
    x64 = x.double().requires_grad_(True) if cfg["input"] == "features" else x
    t64 = targets.double() if cfg["loss"] != "ce" else targets
    w64 = class_weights.double() if class_weights is not None else None
    prediction = model(x64, lengths)
    if degenerate(cfg, model.last_y) is not None:
        return None
    loss = reference_loss(cfg, prediction, t64, w64, lengths)
    loss.backward()

    f32 = lambda t: ("F32", t.detach().to(torch.float32).numpy())
    f64 = lambda t: ("F64", t.detach().to(torch.float64).numpy())
    tensors = {}
    for pname, value in params32.items():
        tensors["param." + pname] = f32(value)
    for pname, p in model.named_parameters():
        assert pname in params32
        tensors["grad.param." + pname] = f64(p.grad)
    if cfg["input"] == "ids":
        tensors["ids"] = ("I64", x.numpy())
    else:
        tensors["input"] = f32(x)
        tensors["grad.input"] = f64(x64.grad)
    tensors["lengths"] = ("I64", lengths.numpy())
    tensors["targets"] = ("I64", targets.numpy()) if cfg["loss"] == "ce" else f32(targets)
    if class_weights is not None:
        tensors["class_weights"] = f32(class_weights)
    tensors["prediction"] = f64(prediction)
    tensors["loss"] = f64(loss)

    meta = {
        "input": cfg["input"],
        "cell": cfg["cell"],
        "layers": str(cfg["layers"]),
        "bidirectional": "true" if cfg["bidirectional"] else "false",
        "head": cfg["head"],
        "loss": cfg["loss"],
        "class_weights": "true" if cfg["weighted"] else "false",
        "hidden": str(HIDDEN),
        "classes": str(K),
        "seq_len": str(T),
        "batch": str(B),
        "lengths": ",".join(str(n) for n in cfg["lengths"]),
        "seed": str(seed),
        "torch_version": torch.__version__,
        "generator": "scripts/make_sequence_fixtures.py",
    }
    if cfg["input"] == "ids":
        meta["vocab"], meta["embedding"] = str(VOCAB), str(EMBED)
    else:
        meta["features"] = str(FEATURES)
    if cfg["loss"] == "ce":
        meta["ignore_index"] = str(IGNORE_INDEX)
    if cfg["loss"] == "huber":
        meta["huber_delta"] = repr(HUBER_DELTA)
    return tensors, meta


# ---------------------------------------------------------------------------------------
# self-check 1: an independent loop implementation over (b, t)

def loop_cell(cell, x, h, c, w_ih, w_hh, b_ih, b_hh):
    gi = torch.mv(w_ih, x) + b_ih
    gh = torch.mv(w_hh, h) + b_hh
    H = h.shape[0]
    if cell == "rnn_tanh":
        return torch.tanh(gi + gh), None
    if cell == "rnn_relu":
        return torch.relu(gi + gh), None
    if cell == "lstm":
        g = gi + gh
        i, f, gg, o = (torch.sigmoid(g[0:H]), torch.sigmoid(g[H:2 * H]), torch.tanh(g[2 * H:3 * H]),
                       torch.sigmoid(g[3 * H:4 * H]))
        c_new = f * c + i * gg
        return o * torch.tanh(c_new), c_new
    if cell == "gru":
        r = torch.sigmoid(gi[0:H] + gh[0:H])
        z = torch.sigmoid(gi[H:2 * H] + gh[H:2 * H])
        n = torch.tanh(gi[2 * H:3 * H] + r * gh[2 * H:3 * H])
        return (1 - z) * n + z * h, None
    raise ValueError(cell)


def loop_forward(meta, p, x, lengths, targets, class_weights):
    """p: name -> float64 tensor (requires grad). Returns (prediction [rows, K], loss, maxima ties)."""
    cell, L = meta["cell"], int(meta["layers"])
    bi = meta["bidirectional"] == "true"
    head, loss_kind = meta["head"], meta["loss"]
    H = int(meta["hidden"])
    D = 2 if bi else 1
    W, bias = p["decoder.weight"], p["decoder.bias"]
    K = W.shape[0]

    pooled_rows = {}  # row index -> vector [D*H]
    ties = 0
    for b in range(B):
        n = int(lengths[b])
        seq = []
        for t in range(n):
            seq.append(p["encoder.weight"][int(x[t, b])] if meta["input"] == "ids" else x[t, b])
        finals = []
        for layer in range(L):
            dir_outputs = []
            for d in range(D):
                sfx = "_l{}{}".format(layer, "_reverse" if d == 1 else "")
                w_ih, w_hh = p["rnn.weight_ih" + sfx], p["rnn.weight_hh" + sfx]
                b_ih, b_hh = p["rnn.bias_ih" + sfx], p["rnn.bias_hh" + sfx]
                h = torch.zeros(H, dtype=torch.float64)
                c = torch.zeros(H, dtype=torch.float64)
                outs = [None] * n
                steps = range(n) if d == 0 else range(n - 1, -1, -1)
                for t in steps:
                    h, c = loop_cell(cell, seq[t], h, c, w_ih, w_hh, b_ih, b_hh)
                    outs[t] = h
                dir_outputs.append(outs)
                finals.append(h)  # layer-major, direction-minor, like h_n
            seq = [torch.cat([dir_outputs[d][t] for d in range(D)]) for t in range(n)]
        if head == "last":
            pooled_rows[b] = torch.cat(finals[-D:])
        elif head == "mean":
            acc = torch.zeros(D * H, dtype=torch.float64)
            for t in range(n):
                acc = acc + seq[t]
            pooled_rows[b] = acc / n
        elif head == "max":
            best = seq[0]
            for t in range(1, n):
                best = torch.where(seq[t] > best, seq[t], best)  # first maximum wins
            for j in range(D * H):  # other steps reaching the same maximum
                ties += sum(1 for t in range(n) if float(seq[t][j]) == float(best[j])) - 1
            pooled_rows[b] = best
        elif head == "step":
            for t in range(T):
                pooled_rows[t * B + b] = seq[t] if t < n else torch.zeros(D * H, dtype=torch.float64)
    rows = sorted(pooled_rows)
    pred = [torch.mv(W, pooled_rows[i]) + bias for i in rows]

    counted = [i for i in rows if not (head == "step" and (i // B) >= int(lengths[i % B]))]
    if loss_kind == "ce":
        num = torch.zeros((), dtype=torch.float64)
        den = torch.zeros((), dtype=torch.float64)
        for i in counted:
            z, y = pred[i], int(targets[i])
            assert 0 <= y < K
            m = z.max().detach()
            nll = m + torch.log(torch.exp(z - m).sum()) - z[y]
            w = class_weights[y] if class_weights is not None else 1.0
            num = num + w * nll
            den = den + w
        for i in rows:
            if i not in counted:
                assert int(targets[i]) == IGNORE_INDEX
        loss = num / den
    else:
        total = torch.zeros((), dtype=torch.float64)
        count = 0
        for i in counted:
            for k in range(K):
                d = pred[i][k] - targets[i][k]
                if loss_kind == "mse":
                    total = total + d * d
                elif loss_kind == "l1":
                    total = total + torch.abs(d)
                elif loss_kind == "huber":
                    ad = torch.abs(d)
                    total = total + (0.5 * d * d if float(ad) < HUBER_DELTA else HUBER_DELTA * (ad - 0.5 * HUBER_DELTA))
                count += 1
        loss = total / count
    return torch.stack(pred), loss, ties


def load(path):
    tensors, meta = read_safetensors(path)
    return {k: torch.from_numpy(v.copy()) for k, (_, v) in tensors.items()}, meta


def check_loop(path):
    t, meta = load(path)
    params = {k[len("param."):]: v.double().requires_grad_(True) for k, v in t.items() if k.startswith("param.")}
    x = t["ids"] if meta["input"] == "ids" else t["input"].double().requires_grad_(True)
    targets = t["targets"] if meta["loss"] == "ce" else t["targets"].double()
    cw = t["class_weights"].double() if "class_weights" in t else None
    pred, loss, ties = loop_forward(meta, params, x, t["lengths"].tolist(), targets, cw)
    loss.backward()

    worst = 0.0

    def compare(name, got):
        nonlocal worst
        ref = t[name]
        assert ref.dtype == torch.float64 and ref.shape == got.shape, (path, name, ref.shape, got.shape)
        err = ((got - ref).abs() / ref.abs().clamp_min(1e-3)).max().item() if got.numel() else 0.0
        assert err < 1e-10, (path, name, err)
        worst = max(worst, err)

    compare("prediction", pred.detach())
    compare("loss", loss.detach())
    for name, p in params.items():
        compare("grad.param." + name, p.grad)
    if meta["input"] == "features":
        compare("grad.input", x.grad)
    return worst, ties


# ---------------------------------------------------------------------------------------
# self-check 2: central finite differences of the nn-module loss

def check_finite_differences(path, rng, eps=1e-6, per_tensor=3):
    t, meta = load(path)
    cfg = dict(input=meta["input"], cell=meta["cell"], layers=int(meta["layers"]),
               bidirectional=meta["bidirectional"] == "true", head=meta["head"], loss=meta["loss"])
    model = SequenceModel(cfg).double()
    model.load_state_dict({k[len("param."):]: v.double() for k, v in t.items() if k.startswith("param.")})
    lengths = t["lengths"]
    x = t["ids"] if cfg["input"] == "ids" else t["input"].double()
    targets = t["targets"] if cfg["loss"] == "ce" else t["targets"].double()
    cw = t["class_weights"].double() if "class_weights" in t else None
    mask = valid_mask(lengths.tolist())

    def loss_now():
        with torch.no_grad():
            return reference_loss(cfg, model(x, lengths), targets, cw, lengths).item()

    base = loss_now()
    assert abs(base - t["loss"].item()) <= 1e-12 * max(1.0, abs(base)), path

    worst_rel, worst_abs, checked = 0.0, 0.0, 0

    def probe(tensor, index, grad):
        nonlocal worst_rel, worst_abs, checked
        old = tensor[index].item()
        tensor[index] = old + eps
        up = loss_now()
        tensor[index] = old - eps
        down = loss_now()
        tensor[index] = old
        fd = (up - down) / (2 * eps)
        g = grad[index].item()
        abs_err = abs(fd - g)
        rel = abs_err / max(abs(g), abs(fd), 1e-4)
        assert rel < 1e-5, (path, index, fd, g)
        worst_rel, worst_abs, checked = max(worst_rel, rel), max(worst_abs, abs_err), checked + 1

    with torch.no_grad():
        for name, p in model.named_parameters():
            grad = t["grad.param." + name]
            if name == "encoder.weight":  # rows of ids that are actually read
                used = sorted(set(x[mask].tolist()))
                picks = [(used[rng.integers(len(used))], rng.integers(p.shape[1])) for _ in range(per_tensor)]
                unused = sorted(set(range(VOCAB)) - set(used))
                assert all(bool((grad[r] == 0).all()) for r in unused), (path, "unused embedding rows")
            else:
                picks = [tuple(int(rng.integers(s)) for s in p.shape) for _ in range(per_tensor)]
            for index in picks:
                probe(p.data, tuple(int(i) for i in index), grad)
        if cfg["input"] == "features":
            grad = t["grad.input"]
            assert bool((grad[~mask] == 0).all()), (path, "grad.input at padded steps")
            valid = mask.nonzero().tolist()
            for _ in range(per_tensor):
                tt, bb = valid[rng.integers(len(valid))]
                probe(x, (tt, bb, int(rng.integers(FEATURES))), grad)
            tt, bb = (~mask).nonzero().tolist()[0] if (~mask).any() else valid[0]
            probe(x, (tt, bb, 0), grad)  # a padded step: both must be 0
    return worst_rel, worst_abs, checked


def check_regression_targets(path):
    """huber sees both branches; l1 never has d == 0."""
    t, meta = load(path)
    if meta["loss"] not in ("l1", "huber"):
        return
    d = (t["prediction"] - t["targets"].double())
    if meta["head"] == "step":
        d = d[valid_mask(t["lengths"].tolist()).reshape(-1)]
    assert bool((d != 0).all()), path
    if meta["loss"] == "huber":
        quad = int((d.abs() < HUBER_DELTA).sum())
        assert 0 < quad < d.numel(), (path, quad, d.numel())


def path_name(cfg):
    return os.path.join(OUT_DIR, cfg["name"] + ".safetensors")


def main():
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    os.makedirs(OUT_DIR, exist_ok=True)
    written, total, rejected = [], 0, {}
    for cfg in all_fixtures():
        tensors, meta, attempt = build_fixture(cfg)
        rejected[path_name(cfg)] = attempt
        path = path_name(cfg)
        write_safetensors(path, tensors, meta)
        back, meta_back = read_safetensors(path)
        assert meta_back == meta and set(back) == set(tensors), path
        written.append(path)
        total += os.path.getsize(path)

    rng = np.random.default_rng(12345)
    worst_loop = worst_fd_rel = worst_fd_abs = 0.0
    probes = 0
    for path in written:
        loop_err, ties = check_loop(path)
        fd_rel, fd_abs, n = check_finite_differences(path, rng)
        check_regression_targets(path)
        worst_loop, worst_fd_rel, worst_fd_abs = max(worst_loop, loop_err), max(worst_fd_rel, fd_rel), max(worst_fd_abs, fd_abs)
        probes += n
        assert ties == 0, (path, "ties in max pooling")
        print("  {:45s} loop {:.1e}  fd rel {:.1e} abs {:.1e}{}".format(
            os.path.basename(path)[:-len(".safetensors")], loop_err, fd_rel, fd_abs,
            "  ({} degenerate draws rejected)".format(rejected[path]) if rejected[path] else ""))

    stale = sorted(set(os.listdir(OUT_DIR)) - {os.path.basename(p) for p in written})
    if stale:
        print("warning: files in {} not written by this script: {}".format(OUT_DIR, ", ".join(stale)), file=sys.stderr)
    print("wrote {} files, {:.1f} kB, to {} (torch {})".format(
        len(written), total / 1e3, os.path.relpath(OUT_DIR, REPO_ROOT), torch.__version__))
    print("self-check: loop implementation vs references, worst relative error {:.2e} "
          "(|diff| / max(|ref|, 1e-3), all predictions, losses and gradients)".format(worst_loop))
    print("self-check: finite differences (eps 1e-6, {} entries), worst relative error {:.2e} "
          "(|fd - g| / max(|g|, |fd|, 1e-4)), worst absolute error {:.2e}".format(probes, worst_fd_rel, worst_fd_abs))


if __name__ == "__main__":
    main()
