#!/usr/bin/env python3
"""PyTorch twin of `recurrent train`, for the comparison in docs/RESULTS.md.

Same model (Embedding -> dropout -> nn.LSTM/GRU/RNN with dropout between layers -> dropout ->
Linear), same data handling (char: vocabulary of all characters, first --split of the text for
training; word: PTB tokenization, <eos> per line, vocabulary from the training text), same
truncated-BPTT batching (word_language_model's batchify/get_batch, state carried and detached),
Adam + global-norm clipping, optional decay-on-plateau (--schedule plateau), validation with batch 10 after every epoch and every --eval-every steps.

  /usr/bin/python3 scripts/train_torch_lm.py --data ../shared/data/tinyshakespeare/input.txt \
      --level char --cell lstm --layers 2 --hidden 384 --embed 64 --dropout 0.2 --batch 32 --bptt 128 \
      --lr 2e-3 --clip 5 --minutes 30 --threads 2

Prints one JSON line per evaluation: step, epoch, elapsed seconds, tokens/s, train and validation
loss (nats per token), and the best validation loss so far.
"""
import argparse
import json
import math
import time

import torch
from torch import nn


def read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


def tokenize_words(text):
    words = []
    for line in text.split("\n")[: -1 if text.endswith("\n") else None]:
        words.extend(line.split())
        words.append("<eos>")
    return words


class Model(nn.Module):
    def __init__(self, cell, vocab, embed, hidden, layers, dropout, tie=False):
        super().__init__()
        self.drop = nn.Dropout(dropout)
        self.encoder = nn.Embedding(vocab, embed)
        rnn = {"lstm": nn.LSTM, "gru": nn.GRU}.get(cell)
        kwargs = dict(dropout=dropout if layers > 1 else 0.0)
        self.rnn = rnn(embed, hidden, layers, **kwargs) if rnn else nn.RNN(
            embed, hidden, layers, nonlinearity="relu" if cell == "rnn-relu" else "tanh", **kwargs)
        self.decoder = nn.Linear(hidden, vocab)
        nn.init.uniform_(self.encoder.weight, -0.1, 0.1)
        nn.init.uniform_(self.decoder.weight, -0.1, 0.1)
        nn.init.zeros_(self.decoder.bias)
        if tie:   # Press & Wolf 2017 / Inan et al. 2017: one matrix for input and output embeddings
            if embed != hidden:
                raise SystemExit("--tie needs --embed equal to --hidden")
            self.decoder.weight = self.encoder.weight

    def forward(self, x, state):
        out, state = self.rnn(self.drop(self.encoder(x)), state)
        return self.decoder(self.drop(out)), state


def batchify(ids, batch):
    n = ids.size(0) // batch
    return ids[: n * batch].view(batch, n).t().contiguous()   # [n, batch]: column b is stream b


def detach(state):
    return tuple(s.detach() for s in state) if isinstance(state, tuple) else state.detach()


def evaluate(model, data, bptt, vocab):
    model.eval()
    total, count, state = 0.0, 0, None
    with torch.no_grad():
        for i in range(0, data.size(0) - 1, bptt):
            t = min(bptt, data.size(0) - 1 - i)
            out, state = model(data[i:i + t], state)
            total += nn.functional.cross_entropy(out.view(-1, vocab), data[i + 1:i + 1 + t].reshape(-1), reduction="sum").item()
            count += t * data.size(1)
    model.train()
    return total / count


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--data", required=True)
    p.add_argument("--valid")
    p.add_argument("--split", type=float, default=0.9)
    p.add_argument("--test", help="text scored with the best (lowest validation loss) weights at the end")
    p.add_argument("--level", choices=["char", "word"], default="char")
    p.add_argument("--cell", choices=["lstm", "gru", "rnn", "rnn-relu"], default="lstm")
    p.add_argument("--layers", type=int, default=2)
    p.add_argument("--hidden", type=int, default=256)
    p.add_argument("--embed", type=int, default=64)
    p.add_argument("--dropout", type=float, default=0.0)
    p.add_argument("--tie", action="store_true")
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--bptt", type=int, default=64)
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--clip", type=float, default=5.0)
    p.add_argument("--schedule", choices=["constant", "plateau"], default="constant")
    p.add_argument("--decay-factor", type=float, default=0.25)
    p.add_argument("--patience", type=int, default=0)
    p.add_argument("--epochs", type=int, default=1000)
    p.add_argument("--minutes", type=float, default=0)
    p.add_argument("--eval-every", type=int, default=0)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--threads", type=int, default=1)
    a = p.parse_args()
    torch.manual_seed(a.seed)
    torch.set_num_threads(a.threads)

    text = read(a.data)
    if a.valid:
        train_text, valid_text = text, read(a.valid)
    else:
        cut = int(len(text) * a.split)
        if a.level == "word":   # as recurrent train: never cut a sentence
            newline = text.find("\n", max(0, cut - 1))
            cut = newline + 1 if newline >= 0 else cut
        train_text, valid_text = text[:cut], text[cut:]
    if a.level == "char":
        chars = sorted(set(train_text + valid_text))
        index = {c: i for i, c in enumerate(chars)}
        train_ids = [index[c] for c in train_text]
        valid_ids = [index[c] for c in valid_text]
        vocab = len(chars)
    else:
        words = tokenize_words(train_text)
        counts = {}
        for w in words:
            counts[w] = counts.get(w, 0) + 1
        tokens = ["<eos>", "<unk>"] + sorted((w for w in counts if w not in ("<eos>", "<unk>")), key=lambda w: (-counts[w], w))
        index = {w: i for i, w in enumerate(tokens)}
        train_ids = [index.get(w, 1) for w in words]
        valid_ids = [index.get(w, 1) for w in tokenize_words(valid_text)]
        vocab = len(tokens)

    train = batchify(torch.tensor(train_ids), a.batch)
    valid = batchify(torch.tensor(valid_ids), 10)
    model = Model(a.cell, vocab, a.embed, a.hidden, a.layers, a.dropout, a.tie)
    optimizer = torch.optim.Adam(model.parameters(), lr=a.lr)
    # As recurrent's PlateauSchedule: multiply by --decay-factor after more than --patience
    # evaluations in a row without a (strict) improvement of the validation loss.
    plateau = torch.optim.lr_scheduler.ReduceLROnPlateau(
        optimizer, mode="min", factor=a.decay_factor, patience=a.patience, threshold=0.0) if a.schedule == "plateau" else None
    params = sum(x.numel() for x in model.parameters())
    print(json.dumps({"event": "start", "vocab": vocab, "parameters": params, "train_tokens": len(train_ids),
                      "valid_tokens": len(valid_ids), "torch": torch.__version__, "threads": a.threads, "args": vars(a)}), flush=True)

    start, step, tokens, best = time.time(), 0, 0, math.inf
    best_state = None
    running, running_n = 0.0, 0

    def report(epoch):
        nonlocal best, best_state, running, running_n
        elapsed = time.time() - start
        v = evaluate(model, valid, a.bptt, vocab)
        if v < best and a.test:
            best_state = {k: t.clone() for k, t in model.state_dict().items()}
        best = min(best, v)
        if plateau is not None:
            plateau.step(v)
        print(json.dumps({"step": step, "epoch": epoch, "elapsed": round(elapsed, 1), "tokens_per_s": round(tokens / elapsed),
                          "train_loss": running / max(1, running_n), "valid_loss": v, "best_valid": best,
                          "lr": optimizer.param_groups[0]["lr"]}), flush=True)
        running, running_n = 0.0, 0

    done = False
    for epoch in range(1, a.epochs + 1):
        state = None
        for i in range(0, train.size(0) - 1, a.bptt):
            t = min(a.bptt, train.size(0) - 1 - i)
            x, y = train[i:i + t], train[i + 1:i + 1 + t]
            state = detach(state) if state is not None else None
            optimizer.zero_grad()
            out, state = model(x, state)
            loss = nn.functional.cross_entropy(out.view(-1, vocab), y.reshape(-1))
            loss.backward()
            if a.clip > 0:
                nn.utils.clip_grad_norm_(model.parameters(), a.clip)
            optimizer.step()
            step += 1
            tokens += t * a.batch
            running += loss.item()
            running_n += 1
            over = a.minutes > 0 and time.time() - start >= a.minutes * 60
            if over or (a.eval_every and step % a.eval_every == 0):
                report(epoch)
            if over:
                done = True
                break
        if done:
            break
        report(epoch)

    if a.test and best_state is not None:
        model.load_state_dict(best_state)
        if a.level == "char":
            test_ids = [index[c] for c in read(a.test)]
        else:
            test_ids = [index.get(w, 1) for w in tokenize_words(read(a.test))]
        t = evaluate(model, batchify(torch.tensor(test_ids), 10), a.bptt, vocab)
        print(json.dumps({"event": "test", "test_tokens": len(test_ids), "test_loss": t, "test_perplexity": math.exp(t),
                          "best_valid": best, "best_valid_perplexity": math.exp(best)}), flush=True)


if __name__ == "__main__":
    main()
