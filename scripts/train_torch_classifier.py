#!/usr/bin/python3
"""PyTorch twin of `recurrent classify train`: the same split, model, recipe and metrics.

Reads the split that `recurrent classify train` wrote (RUN/split.json: the train, valid and test
examples as [text, label] pairs, or sequence ids for numeric data), trains

    Embedding(V, E) | per-feature standardisation  ->  nn.LSTM/GRU/RNN (layers, bidirectional,
    dropout between layers)  ->  last-state head (cat(h_n[-2], h_n[-1]) when bidirectional, each
    direction's state at the sequence's own last step via pack_padded_sequence)  ->  Linear(D*H, K)

with dropout on the embedding and before the decoder (as Recurrent), Adam, clipping by global norm,
length-bucketed shuffled batches (pools of 50 batches sorted by length, as Recurrent's
SequenceDataset), validation accuracy each epoch, the best epoch's weights kept, early stopping
after --stop-patience epochs without improvement; then scores the test part: accuracy and macro-F1
(mean F1 over the classes present). Prints one JSON line with the scores, the training time and the
peak resident memory (ru_maxrss).

    /usr/bin/python3 scripts/train_torch_classifier.py --run names-run --layers 2 --hidden 128 ...
    /usr/bin/python3 scripts/train_torch_classifier.py --run im-run --sequences DIR --pattern 'X_{id}.csv' ...
"""
import argparse
import json
import os
import random
import resource
import sys
import time

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence


def read_sequence(path):
    rows = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if line and not line.startswith("#"):
                rows.append([float(v) for v in line.split(",")])
    return rows


class Classifier(nn.Module):
    def __init__(self, cell, vocab, embed, features, hidden, layers, bidirectional, dropout, classes):
        super().__init__()
        self.encoder = nn.Embedding(vocab, embed) if vocab else None
        if self.encoder is not None:
            nn.init.uniform_(self.encoder.weight, -0.1, 0.1)
        rnn = {"lstm": nn.LSTM, "gru": nn.GRU, "rnn": nn.RNN}[cell]
        self.rnn = rnn(embed if vocab else features, hidden, layers, bidirectional=bidirectional,
                       dropout=dropout if layers > 1 else 0.0)
        self.drop = nn.Dropout(dropout)
        self.directions = 2 if bidirectional else 1
        self.decoder = nn.Linear(self.directions * hidden, classes)

    def forward(self, x, lengths):
        if self.encoder is not None:
            x = self.drop(self.encoder(x))
        packed = pack_padded_sequence(x, lengths, enforce_sorted=False)
        _, h = self.rnn(packed)
        if isinstance(h, tuple):
            h = h[0]
        last = torch.cat([h[-2], h[-1]], dim=1) if self.directions == 2 else h[-1]
        return self.decoder(self.drop(last))


def batches(examples, batch, shuffle, rng):
    order = list(range(len(examples)))
    if shuffle:
        rng.shuffle(order)
    pool = 50 * batch if shuffle else len(order)
    result = []
    for start in range(0, len(order), pool):
        part = sorted(order[start:start + pool], key=lambda i: len(examples[i][0]))
        result += [part[b:b + batch] for b in range(0, len(part), batch)]
    if shuffle:
        rng.shuffle(result)
    return result


def pad(examples, rows, vocab):
    lengths = torch.tensor([len(examples[i][0]) for i in rows])
    T = int(lengths.max())
    if vocab:
        x = torch.zeros(T, len(rows), dtype=torch.long)
        for b, i in enumerate(rows):
            x[:len(examples[i][0]), b] = torch.tensor(examples[i][0])
    else:
        F = len(examples[rows[0]][0][0])
        x = torch.zeros(T, len(rows), F)
        for b, i in enumerate(rows):
            x[:len(examples[i][0]), b] = torch.tensor(examples[i][0])
    y = torch.tensor([examples[i][1] for i in rows])
    return x, lengths, y


def scores(model, examples, vocab, classes):
    """(accuracy, macro-F1, mean cross-entropy) of the model on the examples."""
    model.eval()
    confusion = [[0] * classes for _ in range(classes)]
    loss_sum = 0.0
    with torch.no_grad():
        for rows in batches(examples, 256, False, None):
            x, lengths, y = pad(examples, rows, vocab)
            logits = model(x, lengths)
            loss_sum += float(nn.functional.cross_entropy(logits, y, reduction="sum"))
            for t, p in zip(y.tolist(), logits.argmax(1).tolist()):
                confusion[t][p] += 1
    total = sum(map(sum, confusion))
    accuracy = sum(confusion[k][k] for k in range(classes)) / total
    f1s = []
    for k in range(classes):
        support = sum(confusion[k])
        predicted = sum(confusion[j][k] for j in range(classes))
        if support == 0 and predicted == 0:
            continue
        p = confusion[k][k] / predicted if predicted else 0.0
        r = confusion[k][k] / support if support else 0.0
        f1s.append(2 * p * r / (p + r) if p + r else 0.0)
    return accuracy, sum(f1s) / len(f1s), loss_sum / total


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--run", required=True, help="output folder of `recurrent classify train` (reads split.json)")
    ap.add_argument("--sequences", help="numeric data: the folder of sequence CSV files")
    ap.add_argument("--labels", help="numeric data: the id,label CSV")
    ap.add_argument("--pattern", default="{id}.csv")
    ap.add_argument("--cell", default="lstm", choices=["lstm", "gru", "rnn"])
    ap.add_argument("--layers", type=int, default=1)
    ap.add_argument("--hidden", type=int, default=128)
    ap.add_argument("--embed", type=int, default=32)
    ap.add_argument("--unidirectional", action="store_true")
    ap.add_argument("--dropout", type=float, default=0.0)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--epochs", type=int, default=20)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--clip", type=float, default=5.0)
    ap.add_argument("--stop-patience", type=int, default=0)
    ap.add_argument("--plateau", action="store_true", help="halve the rate when the validation loss does not improve for --patience epochs (as --schedule plateau --decay-factor 0.5)")
    ap.add_argument("--patience", type=int, default=1)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    rng = random.Random(args.seed)
    with open(os.path.join(args.run, "split.json"), encoding="utf-8") as f:
        split = json.load(f)

    if args.sequences:
        labels_of = {}
        with open(args.labels, encoding="utf-8") as f:
            for line in f:
                line = line.strip()
                if line and not line.startswith("#"):
                    key, value = [v.strip() for v in line.split(",")]
                    labels_of[key] = value
        raw = {part: [(read_sequence(os.path.join(args.sequences, args.pattern.replace("{id}", i))), labels_of[i]) for i in split[part]]
               for part in ("train", "valid", "test")}
        steps = [row for seq, _ in raw["train"] for row in seq]
        F = len(steps[0])
        mean = [sum(r[f] for r in steps) / len(steps) for f in range(F)]
        std = [max((sum((r[f] - mean[f]) ** 2 for r in steps) / len(steps)) ** 0.5, 1e-6) for f in range(F)]
        encode = lambda seq: [[(v - m) / s for v, m, s in zip(row, mean, std)] for row in seq]
        vocab = 0
    else:
        raw = {part: [(text, label) for text, label in split[part]] for part in ("train", "valid", "test")}
        counts = {}
        for text, _ in raw["train"]:
            for ch in text:
                counts[ch] = counts.get(ch, 0) + 1
        tokens = ["<unk>"] + sorted(counts, key=lambda c: (-counts[c], c))
        ids = {t: i for i, t in enumerate(tokens)}
        encode = lambda text: [ids.get(ch, 0) for ch in text]
        vocab = len(tokens)
        F = 0
    labels = sorted({label for _, label in raw["train"]})
    label_id = {l: k for k, l in enumerate(labels)}
    data = {part: [(encode(x), label_id[l]) for x, l in raw[part]] for part in raw}

    model = Classifier(args.cell, vocab, args.embed, F, args.hidden, args.layers, not args.unidirectional, args.dropout, len(labels))
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr)
    loss_fn = nn.CrossEntropyLoss()
    plateau = torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, "min", factor=0.5, patience=args.patience) if args.plateau else None
    best, best_state, stale, epochs = -1.0, None, 0, 0
    start = time.perf_counter()
    for epoch in range(args.epochs):
        model.train()
        for rows in batches(data["train"], args.batch, True, rng):
            x, lengths, y = pad(data["train"], rows, vocab)
            optimizer.zero_grad()
            loss = loss_fn(model(x, lengths), y)
            loss.backward()
            if args.clip > 0:
                nn.utils.clip_grad_norm_(model.parameters(), args.clip)
            optimizer.step()
        epochs += 1
        accuracy, _, valid_loss = scores(model, data["valid"], vocab, len(labels))
        if plateau is not None:
            plateau.step(valid_loss)
        print(f"epoch {epoch + 1}: valid loss {valid_loss:.4f} accuracy {accuracy:.4f} ({time.perf_counter() - start:.0f} s)", file=sys.stderr, flush=True)
        if accuracy > best:
            best, stale = accuracy, 0
            best_state = {k: v.clone() for k, v in model.state_dict().items()}
        else:
            stale += 1
            if args.stop_patience and stale >= args.stop_patience:
                break
    seconds = time.perf_counter() - start
    model.load_state_dict(best_state)
    accuracy, macro_f1, _ = scores(model, data["test"], vocab, len(labels))
    print(json.dumps({"peer": "pytorch", "torch": torch.__version__, "threads": args.threads, "epochs": epochs, "valid_accuracy": best,
                      "test_accuracy": accuracy, "test_macro_f1": macro_f1, "test_examples": len(data["test"]),
                      "train_seconds": round(seconds, 1), "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)}))


if __name__ == "__main__":
    main()
