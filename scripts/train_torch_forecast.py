#!/usr/bin/env python3
"""PyTorch twin of `recurrent forecast train`: the same windows, split, statistics and recipe.

Reads a CSV time series, forecasts the next h rows of one target column from windows of T rows,
trains an nn.LSTM/GRU (final state -> Linear(H, h)) with Adam, global-norm clipping and the
best-validation-loss epoch, and prints one JSON line with MAE, RMSE and MASE of the model, the
naive and the seasonal-naive forecast on the test segment, the training time and peak memory.

What it shares with Recurrent's Forecaster (src/Recurrent/Applications/Forecaster.cs):
- rows split by time: train [0, a), valid [a, b), test [b, n) with a = round(n * train),
  b = round(n * (train + valid)), or the first rows at or after two dates; a window belongs to
  the segment that holds all its targets (its inputs may come from before);
- --log models log(target); --residual predicts the target minus the naive (y[t]) or the
  seasonal-naive (y[t + 1 - m + (k mod m)]) forecast; windows without the season of history the
  seasonal residual needs are skipped;
- inputs standardised with the mean and population std of the training rows; the network's
  targets with those of the training windows' targets (windows with a missing target left out);
- missing values filled forward (or interpolated) in every column, but a filled target value is
  neither trained on nor scored; the baselines read the filled history;
- MASE scaled by the mean absolute one-step change of the (filled) target over the training rows.

Example:
  python3 scripts/train_torch_forecast.py --data ../shared/data/timeseries/airline-passengers.csv \
      --target Passengers --window 24 --horizon 12 --season 12 --split 0.65,0.15 --log \
      --residual seasonal --hidden 16 --batch 8 --epochs 100 --lr 0.005
"""
import argparse
import csv
import datetime
import json
import math
import resource
import time

import numpy as np
import torch


def parse_date(text):
    for fmt in ("%Y-%m-%d", "%Y-%m", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S"):
        try:
            return datetime.datetime.strptime(text.strip(), fmt)
        except ValueError:
            pass
    raise ValueError(f"'{text}' is not a date")


def read(path, target, inputs, one_hot, missing):
    """Dates, the input matrix [n, F] (filled), the target column (filled) and its filled mask."""
    with open(path, newline="", encoding="utf-8-sig") as f:
        rows = [r for r in csv.reader(f) if r]
    header = [h.strip() for h in rows[0]]
    rows = rows[1:]
    lower = [h.lower() for h in header]
    if "year" in lower and "month" in lower:
        parts = [lower.index(p) for p in ("year", "month", "day", "hour") if p in lower]
        def date_of(r):
            v = [int(r[i]) for i in parts] + [1, 1, 0][len(parts) - 2:]
            return datetime.datetime(v[0], v[1], v[2], v[3])
        date_columns = parts
    else:
        date_of = lambda r: parse_date(r[0])
        date_columns = [0]
    dates = [date_of(r) for r in rows]
    numeric = inputs if inputs else [h for i, h in enumerate(header) if i not in date_columns and h not in one_hot]
    if target not in numeric:
        numeric = numeric + [target]
    def number(text):
        text = text.strip()
        return math.nan if text in ("", "NA") or text.lower() == "nan" else float(text)
    values = np.array([[number(r[header.index(c)]) for c in numeric] for r in rows], dtype=np.float64)
    columns = list(numeric)
    blocks = [values]
    for c in one_hot:
        cats = sorted({r[header.index(c)].strip() for r in rows})
        blocks.append(np.array([[1.0 if r[header.index(c)].strip() == k else 0.0 for k in cats] for r in rows]))
        columns += [f"{c}={k}" for k in cats]
    table = np.concatenate(blocks, axis=1)
    filled = np.isnan(table)
    if filled.any():
        if missing == "error":
            raise SystemExit(f"{path}: missing values; use --missing fill-forward or interpolate")
        for j in range(table.shape[1]):
            col = table[:, j]
            ok = np.flatnonzero(~np.isnan(col))
            if missing == "interpolate":
                table[:, j] = np.interp(np.arange(len(col)), ok, col[ok])
            else:  # forward, the first values backward from the first real one
                idx = np.where(~np.isnan(col), np.arange(len(col)), 0)
                np.maximum.accumulate(idx, out=idx)
                col = col[idx]
                col[: ok[0]] = col[ok[0]]
                table[:, j] = col
    feature_columns = [c for c in columns if inputs is None or c in inputs or any(c.startswith(o + "=") for o in one_hot)]
    x = table[:, [columns.index(c) for c in feature_columns]]
    t = columns.index(target)
    return dates, x, table[:, t].copy(), filled[:, t], feature_columns


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", required=True)
    p.add_argument("--target", required=True)
    p.add_argument("--inputs", default=None, help="comma-separated numeric input columns (default: all but the date)")
    p.add_argument("--one-hot", default="", help="comma-separated categorical columns")
    p.add_argument("--missing", default="error", choices=["error", "fill-forward", "interpolate"])
    p.add_argument("--window", type=int, default=24)
    p.add_argument("--horizon", type=int, default=1)
    p.add_argument("--season", type=int, default=1)
    p.add_argument("--split", default="0.7,0.15")
    p.add_argument("--log", action="store_true")
    p.add_argument("--residual", default="none", choices=["none", "naive", "seasonal"])
    p.add_argument("--loss", default="mse", choices=["mse", "mae", "huber"])
    p.add_argument("--cell", default="lstm", choices=["lstm", "gru"])
    p.add_argument("--hidden", type=int, default=32)
    p.add_argument("--layers", type=int, default=1)
    p.add_argument("--dropout", type=float, default=0.0)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--eval-batch", type=int, default=256)
    p.add_argument("--epochs", type=int, default=20)
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--clip", type=float, default=5.0)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--threads", type=int, default=1)
    a = p.parse_args()
    torch.manual_seed(a.seed)
    np.random.seed(a.seed)
    torch.set_num_threads(a.threads)

    one_hot = [c for c in a.one_hot.split(",") if c]
    inputs = a.inputs.split(",") if a.inputs else None
    dates, x, y, y_filled, feature_columns = read(a.data, a.target, inputs, one_hot, a.missing)
    n, T, h, m = len(dates), a.window, a.horizon, a.season
    parts = a.split.split(",")
    try:
        tr, va = float(parts[0]), float(parts[1])
        train_end, valid_end = round(n * tr), min(n, round(n * (tr + va)))
    except ValueError:
        v0, t0 = parse_date(parts[0]), parse_date(parts[1])
        train_end = next((i for i, d in enumerate(dates) if d >= v0), n)
        valid_end = next((i for i, d in enumerate(dates) if d >= t0), n)

    z = np.log(y) if a.log else y.copy()
    if a.log and a.target in feature_columns:
        x = x.copy()
        x[:, feature_columns.index(a.target)] = z

    def baseline(origin, k):
        if a.residual == "naive":
            return z[origin]
        if a.residual == "seasonal":
            return z[origin + 1 - m + k % m]
        return 0.0

    def target(w):
        origin = w + T - 1
        return np.array([math.nan if y_filled[origin + 1 + k] else z[origin + 1 + k] - baseline(origin, k) for k in range(h)])

    def windows(start, end, evaluation):
        first, last = max(0, start - T), end - T - h
        need = m - T if evaluation or a.residual == "seasonal" else 0
        return [w for w in range(first, last + 1) if w >= need]

    train_w, valid_w, test_w = windows(0, train_end, False), windows(train_end, valid_end, False), windows(valid_end, n, True)
    mu, sd = x[:train_end].mean(0), x[:train_end].std(0)
    sd = np.where(sd > 1e-12 * np.maximum(1, np.abs(mu)), sd, 1.0)
    targets = np.array([target(w) for w in train_w])
    complete = targets[~np.isnan(targets).any(axis=1)]
    tm, ts = complete.mean(0), complete.std(0)
    ts = np.where(ts > 1e-12 * np.maximum(1, np.abs(tm)), ts, 1.0)
    xn = ((x - mu) / sd).astype(np.float32)

    def tensors(ws, with_targets=True):
        xs = torch.from_numpy(np.stack([xn[w:w + T] for w in ws]))
        if not with_targets:
            return xs, None
        return xs, torch.from_numpy(((np.array([target(w) for w in ws]) - tm) / ts).astype(np.float32))

    class Model(torch.nn.Module):
        def __init__(self):
            super().__init__()
            rnn = torch.nn.LSTM if a.cell == "lstm" else torch.nn.GRU
            self.rnn = rnn(x.shape[1], a.hidden, a.layers, dropout=a.dropout if a.layers > 1 else 0.0)
            self.drop = torch.nn.Dropout(a.dropout)
            self.decoder = torch.nn.Linear(a.hidden, h)

        def forward(self, inp):  # inp [B, T, F] -> time-major as Recurrent
            _, state = self.rnn(inp.transpose(0, 1))
            hn = state[0] if isinstance(state, tuple) else state
            return self.decoder(self.drop(hn[-1]))

    def loss_of(pred, tgt):
        mask = ~torch.isnan(tgt)
        p, t = pred[mask], tgt[mask]
        if a.loss == "mae":
            return (p - t).abs().mean()
        if a.loss == "huber":
            return torch.nn.functional.huber_loss(p, t)
        return ((p - t) ** 2).mean()

    model = Model()
    opt = torch.optim.Adam(model.parameters(), lr=a.lr)
    xtr, ytr = tensors(train_w)
    xva, yva = tensors(valid_w)
    best, best_state, best_epoch = math.inf, None, 0
    start = time.perf_counter()
    for epoch in range(a.epochs):
        model.train()
        order = torch.randperm(len(train_w))
        for i in range(0, len(train_w), a.batch):
            idx = order[i:i + a.batch]
            opt.zero_grad()
            loss = loss_of(model(xtr[idx]), ytr[idx])
            loss.backward()
            if a.clip > 0:
                torch.nn.utils.clip_grad_norm_(model.parameters(), a.clip)
            opt.step()
        model.eval()
        with torch.no_grad():
            total, count = 0.0, 0
            for i in range(0, len(valid_w), a.eval_batch):
                pred, tgt = model(xva[i:i + a.eval_batch]), yva[i:i + a.eval_batch]
                c = int((~torch.isnan(tgt)).sum())
                total += float(loss_of(pred, tgt)) * c
                count += c
        valid_loss = total / max(count, 1)
        if valid_loss < best:
            best, best_epoch = valid_loss, epoch + 1
            best_state = {k: v.clone() for k, v in model.state_dict().items()}
    train_seconds = time.perf_counter() - start
    model.load_state_dict(best_state)
    model.eval()

    xte, _ = tensors(test_w, with_targets=False)
    with torch.no_grad():
        out = torch.cat([model(xte[i:i + a.eval_batch]) for i in range(0, len(test_w), a.eval_batch)]).numpy() * ts + tm
    errors = {"model": [], "naive": [], "seasonal_naive": []}
    for i, w in enumerate(test_w):
        origin = w + T - 1
        for k in range(h):
            if y_filled[origin + 1 + k]:
                continue
            forecast = out[i, k] + baseline(origin, k)
            forecast = math.exp(forecast) if a.log else forecast
            actual = y[origin + 1 + k]
            errors["model"].append(forecast - actual)
            errors["naive"].append(y[origin] - actual)
            errors["seasonal_naive"].append(y[origin + 1 - m + k % m] - actual)
    scale = np.abs(np.diff(y[:train_end])).mean()
    def score(e):
        e = np.array(e)
        return {"mae": float(np.abs(e).mean()), "rmse": float(np.sqrt((e ** 2).mean())), "mase": float(np.abs(e).mean() / scale)}
    print(json.dumps({
        "data": a.data, "target": a.target, "window": T, "horizon": h, "season": m,
        "train_windows": len(train_w), "valid_windows": len(valid_w), "test_windows": len(test_w), "values": len(errors["model"]),
        "parameters": sum(p.numel() for p in model.parameters()), "best_epoch": best_epoch, "best_valid_loss": best,
        "train_seconds": train_seconds, "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "torch": torch.__version__, "threads": torch.get_num_threads(),
        **{k: score(v) for k, v in errors.items()},
    }))


if __name__ == "__main__":
    main()
