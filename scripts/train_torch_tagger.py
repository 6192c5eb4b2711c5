#!/usr/bin/env python3
"""PyTorch twin of `recurrent tag train`, for the comparison in docs/applications/tagging.md.

Same inputs as Recurrent's SequenceTagger: each word's key (lowercased, every decimal digit -> '0')
through a lexicon of keys seen at least --min-count times in train (<unk> otherwise), plus token
fields, each with its own lexicon (built over the distinct training word forms) and embedding:
suffixes of length 1..--suffixes of the key ('^' + key when shorter), prefixes of length
1..--prefixes (key + '$' when shorter), and the word shape (X upper, x other letter, d digit, any
other character itself, runs collapsed, at most 8 long then '~'). Same model: the embeddings
concatenated -> dropout -> bidirectional nn.LSTM (dropout between layers, packed sequences) ->
dropout -> Linear over the UPOS tags; embeddings and decoder U(-0.1, 0.1), decoder bias 0.
Same training: Adam, global-norm clipping, batches of --batch sentences shuffled per epoch and
bucketed by length (pools of 50 batches sorted by length, batches shuffled), word dropout (each
word id -> <unk> with probability --word-dropout), validation on dev after every epoch, the best
dev accuracy kept, early stopping after --stop-patience epochs without improvement or --minutes.

  OMP_WAIT_POLICY=PASSIVE /usr/bin/python3 scripts/train_torch_tagger.py \
      --train ../shared/data/ud-english-ewt/en_ewt-ud-train.conllu.gz \
      --valid ../shared/data/ud-english-ewt/en_ewt-ud-dev.conllu \
      --test ../shared/data/ud-english-ewt/en_ewt-ud-test.conllu --threads 2

Prints one JSON line per epoch and a final line with the dev and test accuracy of the best
epoch, the training wall time and the peak resident memory (ru_maxrss).
"""
import argparse
import gzip
import json
import random
import resource
import time
import unicodedata

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence


def read_conllu(path):
    """Sentences as (words, tags): lines with an integer ID (multiword tokens and empty nodes skipped)."""
    opener = gzip.open if path.endswith(".gz") else open
    sentences, words, tags = [], [], []
    with opener(path, "rt", encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            if not line.strip():
                if words:
                    sentences.append((words, tags))
                words, tags = [], []
                continue
            if line.startswith("#"):
                continue
            cols = line.split("\t")
            if not cols[0].isdigit():
                continue
            words.append(cols[1])
            tags.append(cols[3])
    if words:
        sentences.append((words, tags))
    return sentences


def key(word):
    return "".join("0" if unicodedata.category(c) == "Nd" else c.lower() for c in word)


def shape(word):
    out, last = [], ""
    for ch in word:
        cat = unicodedata.category(ch)
        c = "X" if cat == "Lu" else "x" if cat.startswith("L") else "d" if cat == "Nd" else ch
        if c == last:
            continue
        if len(out) >= 8:
            out.append("~")
            break
        out.append(c)
        last = c
    return "".join(out)


def fields_of(word, suffixes, prefixes, use_shape):
    k = key(word)
    f = [k[-n:] if len(k) >= n else "^" + k for n in range(1, suffixes + 1)]
    f += [k[:n] if len(k) >= n else k + "$" for n in range(1, prefixes + 1)]
    if use_shape:
        f.append(shape(word))
    return f


def lexicon(tokens, min_count=1):
    counts = {}
    for t in tokens:
        counts[t] = counts.get(t, 0) + 1
    kept = sorted((t for t, c in counts.items() if c >= min_count), key=lambda t: (-counts[t], t))
    return {t: i + 1 for i, t in enumerate(kept)}   # 0 is <unk>


class Tagger(nn.Module):
    def __init__(self, vocab, embed, field_sizes, hidden, layers, dropout, tags):
        super().__init__()
        self.drop = nn.Dropout(dropout)
        self.encoder = nn.Embedding(vocab, embed)
        self.fields = nn.ModuleList(nn.Embedding(v, e) for v, e in field_sizes)
        width = embed + sum(e for _, e in field_sizes)
        self.rnn = nn.LSTM(width, hidden, layers, dropout=dropout if layers > 1 else 0.0, bidirectional=True)
        self.decoder = nn.Linear(2 * hidden, tags)
        for emb in [self.encoder, *self.fields]:
            nn.init.uniform_(emb.weight, -0.1, 0.1)
        nn.init.uniform_(self.decoder.weight, -0.1, 0.1)
        nn.init.zeros_(self.decoder.bias)

    def forward(self, ids, fields, lengths):   # ids [T, B], fields [F, T, B], lengths [B] (CPU)
        x = torch.cat([self.encoder(ids)] + [emb(fields[f]) for f, emb in enumerate(self.fields)], dim=-1)
        packed = pack_padded_sequence(self.drop(x), lengths, enforce_sorted=False)
        y, _ = self.rnn(packed)
        y, _ = pad_packed_sequence(y, total_length=ids.shape[0])
        return self.decoder(self.drop(y))


def encode(sentences, words, field_lexicons, tag_ids, args):
    out = []
    for ws, ts in sentences:
        ids = [words.get(key(w), 0) for w in ws]
        fs = [fields_of(w, args.suffixes, args.prefixes, not args.no_shape) for w in ws]
        fids = [[field_lexicons[f].get(x[f], 0) for x in fs] for f in range(len(field_lexicons))]
        out.append((ids, fids, [tag_ids[t] for t in ts]))
    return out


def batch_of(examples, fields):
    T, B = max(len(e[0]) for e in examples), len(examples)
    ids = torch.zeros(T, B, dtype=torch.long)
    fid = torch.zeros(fields, T, B, dtype=torch.long)
    tags = torch.full((T, B), -100, dtype=torch.long)
    for b, (i, f, t) in enumerate(examples):
        n = len(i)
        ids[:n, b] = torch.tensor(i)
        if fields:
            fid[:, :n, b] = torch.tensor(f)
        tags[:n, b] = torch.tensor(t)
    return ids, fid, tags, torch.tensor([len(e[0]) for e in examples])


def plan(n, batch, rng, lengths):
    order = list(range(n))
    rng.shuffle(order)
    batches, pool = [], 50 * batch
    for start in range(0, n, pool):
        part = sorted(order[start:start + pool], key=lambda i: lengths[i])   # stable: ties keep the shuffled order
        batches += [part[b:b + batch] for b in range(0, len(part), batch)]
    rng.shuffle(batches)
    return batches


def accuracy(model, data, fields, batch=64):
    model.eval()
    correct = total = 0
    order = sorted(range(len(data)), key=lambda i: len(data[i][0]))
    with torch.no_grad():
        for s in range(0, len(order), batch):
            ids, fid, tags, lengths = batch_of([data[i] for i in order[s:s + batch]], fields)
            pred = model(ids, fid, lengths).argmax(-1)
            mask = tags != -100
            correct += (pred[mask] == tags[mask]).sum().item()
            total += mask.sum().item()
    model.train()
    return correct / total


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--train", required=True)
    p.add_argument("--valid", required=True)
    p.add_argument("--test", required=True)
    p.add_argument("--min-count", type=int, default=2)
    p.add_argument("--suffixes", type=int, default=3)
    p.add_argument("--prefixes", type=int, default=1)
    p.add_argument("--no-shape", action="store_true")
    p.add_argument("--affix-embed", type=int, default=16)
    p.add_argument("--shape-embed", type=int, default=8)
    p.add_argument("--word-dropout", type=float, default=0.0)
    p.add_argument("--embed", type=int, default=64)
    p.add_argument("--hidden", type=int, default=128)
    p.add_argument("--layers", type=int, default=2)
    p.add_argument("--dropout", type=float, default=0.33)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--clip", type=float, default=5.0)
    p.add_argument("--epochs", type=int, default=30)
    p.add_argument("--stop-patience", type=int, default=3)
    p.add_argument("--minutes", type=float, default=18.0)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    rng = random.Random(args.seed)

    start = time.time()
    train, valid, test = read_conllu(args.train), read_conllu(args.valid), read_conllu(args.test)
    words = lexicon((key(w) for ws, _ in train for w in ws), args.min_count)
    forms = sorted({w for ws, _ in train for w in ws})
    per_form = [fields_of(w, args.suffixes, args.prefixes, not args.no_shape) for w in forms]
    nfields = len(per_form[0])
    field_lexicons = [lexicon(x[f] for x in per_form) for f in range(nfields)]
    tag_ids = {t: i for i, t in enumerate(sorted({t for _, ts in train for t in ts}))}
    train_x, valid_x, test_x = (encode(s, words, field_lexicons, tag_ids, args) for s in (train, valid, test))
    field_sizes = [(len(l) + 1, args.shape_embed if (not args.no_shape and f == nfields - 1) else args.affix_embed) for f, l in enumerate(field_lexicons)]
    model = Tagger(len(words) + 1, args.embed, field_sizes, args.hidden, args.layers, args.dropout, len(tag_ids))
    opt = torch.optim.Adam(model.parameters(), lr=args.lr)
    loss_fn = nn.CrossEntropyLoss(ignore_index=-100)
    lengths = [len(e[0]) for e in train_x]
    print(json.dumps({"words": len(words) + 1, "fields": [v for v, _ in field_sizes], "tags": len(tag_ids),
                      "parameters": sum(p.numel() for p in model.parameters()), "load_seconds": round(time.time() - start, 1)}), flush=True)

    train_start = time.time()
    best_acc, best_state, bad, epoch = -1.0, None, 0, 0
    time_up = False
    while epoch < args.epochs and not time_up:
        total, steps = 0.0, 0
        for chosen in plan(len(train_x), args.batch, rng, lengths):
            ids, fid, tags, lens = batch_of([train_x[i] for i in chosen], nfields)
            if args.word_dropout > 0:
                drop = (torch.rand(ids.shape) < args.word_dropout) & (tags != -100)
                ids = ids.masked_fill(drop, 0)
            opt.zero_grad()
            logits = model(ids, fid, lens)
            loss = loss_fn(logits.view(-1, logits.shape[-1]), tags.view(-1))
            loss.backward()
            if args.clip > 0:
                nn.utils.clip_grad_norm_(model.parameters(), args.clip)
            opt.step()
            total += loss.item()
            steps += 1
            if args.minutes > 0 and time.time() - train_start >= args.minutes * 60:
                time_up = True
                break
        epoch += 1
        acc = accuracy(model, valid_x, nfields)
        if acc > best_acc:
            best_acc, bad = acc, 0
            best_state = {k: v.clone() for k, v in model.state_dict().items()}
        else:
            bad += 1
        print(json.dumps({"epoch": epoch, "train_loss": total / max(steps, 1), "valid_accuracy": acc,
                          "elapsed_seconds": round(time.time() - train_start, 1)}), flush=True)
        if args.stop_patience > 0 and bad >= args.stop_patience:
            break
    train_seconds = time.time() - train_start
    model.load_state_dict(best_state)
    result = {
        "epochs": epoch, "best_valid_accuracy": best_acc, "valid_accuracy": accuracy(model, valid_x, nfields),
        "test_accuracy": accuracy(model, test_x, nfields), "train_seconds": round(train_seconds, 1),
        "total_seconds": round(time.time() - start, 1),
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "torch": torch.__version__, "threads": args.threads,
    }
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
