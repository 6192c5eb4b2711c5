#!/usr/bin/python3
"""PyTorch models in and out of Recurrent, whole: a module's state_dict as safetensors plus the
JSON config Recurrent needs to build the same model, and back.

Usage (run with Debian's PyTorch, /usr/bin/python3):

    export_torch_model.py demo OUT_DIR
        Builds the two example modules below (an RNNModel as in PyTorch's word_language_model and
        an RNNClassifier: Embedding -> LSTM -> Linear on the last state) and exports each to
        OUT_DIR/NAME.safetensors + NAME.json (+ NAME.vocabulary.json).
    export_torch_model.py check WEIGHTS CONFIG [IDS...]
        The reverse: loads a state dict written by Recurrent (`recurrent export --torch`) into the
        PyTorch module the config describes (strict) and prints its top predictions for the ids.
    export_torch_model.py fixtures [OUT_DIR]
        Writes the committed test fixtures (default tests/fixtures/torch): PyTorch-made models and
        PyTorch's outputs on them, and PyTorch's outputs on the Recurrent-made recurrent_lm_*
        files already there (made with `recurrent train` and `recurrent export --torch`).
        Deterministic: the same files every run. The Recurrent-made files came from
        (corpus: 30 lines of "the cat sat on the mat. a dog ran to the cat; the cat ran off!"):
            recurrent train --data corpus.txt --cell gru --layers 2 --hidden 8 --embed 6 --batch 4
                --bptt 16 --epochs 1 --threads 1 --seed 3 --out gru
            recurrent export --torch gru tests/fixtures/torch/recurrent_lm_gru.safetensors
            recurrent train --data corpus.txt --cell lstm --layers 1 --hidden 8 --embed 8 --tie --batch 4
                --bptt 16 --epochs 1 --threads 1 --seed 4 --out lstm
            recurrent export --torch lstm tests/fixtures/torch/recurrent_lm_lstm_tied.safetensors

Then, in Recurrent:

    recurrent import --weights NAME.safetensors --config NAME.json --vocabulary NAME.vocabulary.json --out NAME.ckpt
    recurrent sample --model NAME.ckpt --prime "The "

From your own training code (after DistributedDataParallel training too: the wrapper is removed):

    from export_torch_model import export
    export(model, "model.safetensors", "model.json", pooling="none",
           vocabulary=corpus.dictionary.idx2word, level="word")

The config keys (see Recurrent's TorchModelConfig): format, version, source, cell (nn.RNNBase's
mode: LSTM, GRU, RNN_TANH, RNN_RELU), hidden_size, num_layers, bidirectional, dropout,
vocabulary_size, embedding_size, fields, feature_size, pooling (none, last, mean, max),
output_size, loss (cross_entropy, mse, mae, huber), tie_weights. The module must name its parts as
Recurrent does (encoder: nn.Embedding, rnn: nn.RNN/LSTM/GRU, decoder: nn.Linear; extra token
fields fields.0, fields.1, ...), or pass rename={"embedding.": "encoder.", "fc.": "decoder."}.
Tied weights are stored once, as encoder.weight (safetensors refuses shared tensors).

The safetensors writer and reader here follow the format (8-byte little-endian header length,
JSON header padded with spaces to a multiple of 8, little-endian row-major data), so the script
needs only PyTorch and numpy; files from safetensors.torch.save_file / save_model load the same.
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
from torch.nn.utils.rnn import pack_padded_sequence

FORMAT = "recurrent-torch-config"
REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# ---------------------------------------------------------------------------------------------
# The example modules


class RNNModel(nn.Module):
    """word_language_model's RNNModel: Embedding -> dropout -> RNN/LSTM/GRU -> dropout -> Linear,
    time-major ids [T, B]; forward returns log-probabilities [T*B, ntoken] and the final state."""

    def __init__(self, rnn_type, ntoken, ninp, nhid, nlayers, dropout=0.5, tie_weights=False):
        super().__init__()
        self.ntoken = ntoken
        self.drop = nn.Dropout(dropout)
        self.encoder = nn.Embedding(ntoken, ninp)
        if rnn_type in ("LSTM", "GRU"):
            self.rnn = getattr(nn, rnn_type)(ninp, nhid, nlayers, dropout=dropout)
        else:
            nonlinearity = {"RNN_TANH": "tanh", "RNN_RELU": "relu"}[rnn_type]
            self.rnn = nn.RNN(ninp, nhid, nlayers, nonlinearity=nonlinearity, dropout=dropout)
        self.decoder = nn.Linear(nhid, ntoken)
        if tie_weights:
            if nhid != ninp:
                raise ValueError("tied weights need nhid == ninp")
            self.decoder.weight = self.encoder.weight
        self.rnn_type, self.nhid, self.nlayers = rnn_type, nhid, nlayers
        nn.init.uniform_(self.encoder.weight, -0.1, 0.1)
        nn.init.zeros_(self.decoder.bias)
        nn.init.uniform_(self.decoder.weight, -0.1, 0.1)

    def forward(self, ids, hidden):
        emb = self.drop(self.encoder(ids))
        output, hidden = self.rnn(emb, hidden)
        decoded = self.decoder(self.drop(output)).view(-1, self.ntoken)
        return torch.log_softmax(decoded, dim=1), hidden

    def init_hidden(self, batch):
        weight = next(self.parameters())
        zeros = weight.new_zeros(self.nlayers, batch, self.nhid)
        return (zeros, zeros.clone()) if self.rnn_type == "LSTM" else zeros


class RNNClassifier(nn.Module):
    """Embedding -> RNN/LSTM/GRU -> Linear on the last layer's final state (both directions
    concatenated, as cat(h_n[-2], h_n[-1])); time-major ids [T, B] and lengths [B] (ragged
    batches packed). Returns logits [B, classes]."""

    def __init__(self, vocabulary, embedding, hidden, classes, layers=1, bidirectional=False, cell="LSTM"):
        super().__init__()
        self.encoder = nn.Embedding(vocabulary, embedding)
        kind = {"LSTM": nn.LSTM, "GRU": nn.GRU}.get(cell)
        if kind is not None:
            self.rnn = kind(embedding, hidden, layers, bidirectional=bidirectional)
        else:
            self.rnn = nn.RNN(embedding, hidden, layers, bidirectional=bidirectional,
                              nonlinearity={"RNN_TANH": "tanh", "RNN_RELU": "relu"}[cell])
        self.decoder = nn.Linear(hidden * (2 if bidirectional else 1), classes)

    def forward(self, ids, lengths):
        packed = pack_padded_sequence(self.encoder(ids), lengths.cpu(), enforce_sorted=False)
        _, hidden = self.rnn(packed)
        h_n = hidden[0] if isinstance(hidden, tuple) else hidden
        directions = 2 if self.rnn.bidirectional else 1
        last = torch.cat([h_n[-directions + d] for d in range(directions)], dim=1)
        return self.decoder(last), hidden


# ---------------------------------------------------------------------------------------------
# Export: module -> safetensors + config


def config_for(module, pooling="none", loss="cross_entropy", source=None):
    """The config of a module named as Recurrent names things (encoder, fields.i, rnn, decoder)."""
    module = unwrap(module)
    rnn = module.rnn
    if not isinstance(rnn, nn.RNNBase):
        raise TypeError("module.rnn must be an nn.RNN, nn.LSTM or nn.GRU")
    if getattr(rnn, "proj_size", 0):
        raise ValueError("LSTM projections (proj_size > 0) have no Recurrent counterpart")
    if not rnn.bias:
        raise ValueError("recurrent layers without bias (bias=False) have no Recurrent counterpart")
    encoder = getattr(module, "encoder", None)
    fields = list(getattr(module, "fields", None) or [])
    config = {
        "format": FORMAT,
        "version": 1,
        "source": source or type(module).__name__,
        "cell": rnn.mode,
        "hidden_size": rnn.hidden_size,
        "num_layers": rnn.num_layers,
        "bidirectional": rnn.bidirectional,
        "dropout": float(rnn.dropout),
        "pooling": pooling,
        "output_size": module.decoder.out_features,
        "loss": loss,
        "tie_weights": bool(encoder is not None and module.decoder.weight is encoder.weight),
    }
    if encoder is not None:
        config["vocabulary_size"] = encoder.num_embeddings
        config["embedding_size"] = encoder.embedding_dim
        if fields:
            config["fields"] = [{"name": f"field{i}", "vocabulary_size": f.num_embeddings, "embedding_size": f.embedding_dim}
                                for i, f in enumerate(fields)]
    else:
        config["feature_size"] = rnn.input_size
    return config


def unwrap(module):
    """The module inside DistributedDataParallel / DataParallel (their keys carry 'module.')."""
    return module.module if isinstance(module, (nn.parallel.DistributedDataParallel, nn.DataParallel)) else module


def export(module, weights_path, config_path, pooling="none", loss="cross_entropy", vocabulary=None, level=None,
           labels=None, rename=None, source=None):
    """Writes module's state_dict (float32) and its config; vocabulary (a token list, index = id, with
    level "char" or "word") and labels (class names) go to *.vocabulary.json / *.labels.json beside
    the weights. Returns the list of files written."""
    module = unwrap(module)
    config = config_for(module, pooling, loss, source)
    tensors = {}
    for name, value in module.state_dict().items():
        for old, new in (rename or {}).items():
            if name.startswith(old):
                name = new + name[len(old):]
        tensors[name] = value.detach().to("cpu", torch.float32).contiguous().numpy()
    if config["tie_weights"]:
        del tensors["decoder.weight"]   # the same tensor as encoder.weight
    write_safetensors(weights_path, {k: ("F32", v) for k, v in tensors.items()}, {"format": "pt"})
    write_text(config_path, json.dumps(config, indent=2) + "\n")
    written = [weights_path, config_path]
    stem = weights_path[:-len(".safetensors")] if weights_path.endswith(".safetensors") else weights_path
    if vocabulary is not None:
        if level not in ("char", "word"):
            raise ValueError("a vocabulary needs level='char' or level='word'")
        if len(vocabulary) != config["vocabulary_size"]:
            raise ValueError(f"the vocabulary has {len(vocabulary)} tokens, the embedding {config['vocabulary_size']}")
        write_text(stem + ".vocabulary.json", json.dumps({"level": level, "tokens": list(vocabulary)}, ensure_ascii=False) + "\n")
        written.append(stem + ".vocabulary.json")
    if labels is not None:
        write_text(stem + ".labels.json", json.dumps(list(labels), ensure_ascii=False) + "\n")
        written.append(stem + ".labels.json")
    return written


# ---------------------------------------------------------------------------------------------
# Import: Recurrent's safetensors + config -> a PyTorch module


def build(config):
    """The example module a config describes (token input: RNNModel for pooling none, RNNClassifier for last)."""
    if config.get("format", FORMAT) != FORMAT:
        raise ValueError(f"not a {FORMAT} file")
    if not config.get("vocabulary_size") or config.get("fields"):
        raise ValueError("the examples read token ids without extra fields")
    cell = config["cell"]
    if config["pooling"] == "none" and not config.get("bidirectional"):
        return RNNModel(cell, config["vocabulary_size"], config["embedding_size"], config["hidden_size"], config["num_layers"],
                        dropout=config.get("dropout", 0.0), tie_weights=config.get("tie_weights", False))
    if config["pooling"] == "last":
        return RNNClassifier(config["vocabulary_size"], config["embedding_size"], config["hidden_size"], config["output_size"],
                             config["num_layers"], config.get("bidirectional", False), cell)
    raise ValueError(f"no example module for pooling {config['pooling']!r}")


def load(module, weights_path, strict=True):
    """Loads a Recurrent-written state dict into module: a tied decoder.weight is encoder.weight again;
    normalisation buffers (input_norm.*, target_norm.*) the module lacks are dropped when they are
    the identity. Returns load_state_dict's result."""
    tensors = {k: torch.from_numpy(v.copy()) for k, (_, v) in read_safetensors(weights_path)[0].items()}
    own = module.state_dict()
    for name in [k for k in tensors if k.split(".")[0] in ("input_norm", "target_norm") and k not in own]:
        identity = 0.0 if name.endswith(".mean") else 1.0
        if not torch.all(tensors[name] == identity):
            raise ValueError(f"{name} is not the identity and the module has no such buffer: normalise outside it")
        del tensors[name]
    if "decoder.weight" in own and "decoder.weight" not in tensors and module.decoder.weight is getattr(module, "encoder", None).weight:
        tensors["decoder.weight"] = tensors["encoder.weight"]
    return module.load_state_dict(tensors, strict=strict)


# ---------------------------------------------------------------------------------------------
# safetensors, by hand


def write_safetensors(path, tensors, metadata=None):
    """tensors: name -> (dtype "F32"/"F64"/"I64", numpy array). Atomic write."""
    dtypes = {"F32": "<f4", "F64": "<f8", "I64": "<i8"}
    # The reference writer's order: dtype alignment descending (its enum: ... F32 < F64 < I64), then name.
    rank = {"F32": 2, "F64": 1, "I64": 0}
    order = sorted(tensors, key=lambda n: (rank[tensors[n][0]], n))
    header, chunks, offset = {}, [], 0
    if metadata:
        header["__metadata__"] = dict(sorted(metadata.items()))
    for name in order:
        dtype, array = tensors[name]
        data = np.ascontiguousarray(array, dtype=dtypes[dtype]).tobytes(order="C")
        header[name] = {"dtype": dtype, "shape": list(np.shape(array)), "data_offsets": [offset, offset + len(data)]}
        chunks.append(data)
        offset += len(data)
    text = json.dumps(header, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    text += b" " * (-len(text) % 8)
    write_bytes(path, struct.pack("<Q", len(text)) + text + b"".join(chunks))


def read_safetensors(path):
    """Returns ({name: (dtype, numpy array)}, metadata)."""
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack_from("<Q", raw, 0)
    if n > 100_000_000 or 8 + n > len(raw):
        raise ValueError(f"{path}: invalid header length {n}")
    header = json.loads(raw[8:8 + n].decode("utf-8"))
    metadata = header.pop("__metadata__", {})
    dtypes = {"F32": "<f4", "F64": "<f8", "I64": "<i8", "I32": "<i4", "F16": "<f2"}
    data = raw[8 + n:]
    tensors = {}
    for name, info in header.items():
        begin, end = info["data_offsets"]
        array = np.frombuffer(data[begin:end], dtype=dtypes[info["dtype"]]).reshape(info["shape"])
        tensors[name] = (info["dtype"], array)
    return tensors, metadata


def write_bytes(path, data):
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=folder, prefix="." + os.path.basename(path) + ".", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def write_text(path, text):
    write_bytes(path, text.encode("utf-8"))


# ---------------------------------------------------------------------------------------------
# Commands

CHARS = list(" .,;:!?'abcdefghijklmnopqrstuvwxyz")   # a char vocabulary sorted by code point, as Recurrent builds one
WORDS = ["<eos>", "<unk>", "the", "of", "and", "to", "a", "in", "is", "it", "that", "was", "he", "for", "on", "with", "as"]


def demo(out_dir):
    os.makedirs(out_dir, exist_ok=True)
    torch.manual_seed(0)
    lm = RNNModel("LSTM", len(CHARS), 16, 32, 2, dropout=0.2)
    for path in export(lm, os.path.join(out_dir, "rnnmodel.safetensors"), os.path.join(out_dir, "rnnmodel.json"),
                       vocabulary=CHARS, level="char"):
        print("wrote", path)
    classifier = RNNClassifier(len(WORDS), 8, 16, 3, layers=1, bidirectional=True)
    for path in export(classifier, os.path.join(out_dir, "classifier.safetensors"), os.path.join(out_dir, "classifier.json"),
                       pooling="last", vocabulary=WORDS, level="word", labels=["negative", "neutral", "positive"]):
        print("wrote", path)
    print(f"next: recurrent import --weights {out_dir}/rnnmodel.safetensors --config {out_dir}/rnnmodel.json "
          f"--vocabulary {out_dir}/rnnmodel.vocabulary.json --out {out_dir}/rnnmodel.ckpt")


def check(weights_path, config_path, ids):
    with open(config_path, encoding="utf-8") as f:
        config = json.load(f)
    module = build(config).eval()
    print(load(module, weights_path))
    ids = torch.tensor([int(i) for i in ids] or [0], dtype=torch.long).view(-1, 1)
    with torch.no_grad():
        if isinstance(module, RNNModel):
            log_probs, _ = module(ids, module.init_hidden(1))
            top = torch.topk(log_probs[-1].exp(), min(5, config["output_size"]))
        else:
            logits, _ = module(ids, torch.tensor([ids.shape[0]]))
            top = torch.topk(torch.softmax(logits[0], 0), min(5, config["output_size"]))
    for p, i in zip(top.values.tolist(), top.indices.tolist()):
        print(f"{i:6d}  {p:.4f}")


def reference(module, ids, lengths=None):
    """float64 outputs of module (converted) on ids [T, B]: (main output, h_n, c_n or None)."""
    module = module.double().eval()
    with torch.no_grad():
        if isinstance(module, RNNModel):
            out, hidden = module(ids, module.init_hidden(ids.shape[1]))
        else:
            out, hidden = module(ids, lengths)
    h_n, c_n = hidden if isinstance(hidden, tuple) else (hidden, None)
    module.float()
    return out, h_n, c_n


def save_expected(path, module, ids, lengths, out, h_n, c_n, extra_metadata=None):
    tensors = {"ids": ("I64", ids.numpy()), "output": ("F64", out.numpy()), "h_n": ("F64", h_n.numpy())}
    if lengths is not None:
        tensors["lengths"] = ("I64", lengths.numpy())
    if c_n is not None:
        tensors["c_n"] = ("F64", c_n.numpy())
    # PyTorch's own state_dict names and shapes (tied decoder.weight included), for the name check.
    state = {k: list(v.shape) for k, v in module.state_dict().items()}
    metadata = {"state_dict": json.dumps(state), "torch": torch.__version__}
    metadata.update(extra_metadata or {})
    write_safetensors(path, tensors, metadata)
    print("wrote", path)


def fixtures(out_dir):
    os.makedirs(out_dir, exist_ok=True)
    torch.set_num_threads(1)
    cases = [
        # name, module factory, vocabulary, level, pooling, T, lengths or None
        ("rnnmodel_lstm", lambda: RNNModel("LSTM", len(CHARS), 8, 10, 2, dropout=0.2), CHARS, "char", "none", 7, None),
        ("rnnmodel_gru_tied", lambda: RNNModel("GRU", len(WORDS), 12, 12, 1, dropout=0.0, tie_weights=True), WORDS, "word", "none", 6, None),
        ("rnnmodel_rnn_relu", lambda: RNNModel("RNN_RELU", len(WORDS), 6, 9, 3, dropout=0.0), WORDS, "word", "none", 5, None),
        ("classifier_lstm_bi", lambda: RNNClassifier(len(WORDS), 6, 8, 3, layers=2, bidirectional=True), WORDS, "word", "last", 7, [7, 2, 5, 4]),
    ]
    for name, factory, vocabulary, level, pooling, T, lengths in cases:
        torch.manual_seed(zlib.crc32(name.encode()))
        module = factory()
        B = len(lengths) if lengths else 3
        ids = torch.randint(0, len(vocabulary), (T, B), dtype=torch.long)
        lengths_tensor = torch.tensor(lengths, dtype=torch.long) if lengths else None
        stem = os.path.join(out_dir, name)
        export(module, stem + ".safetensors", stem + ".json", pooling=pooling, vocabulary=vocabulary, level=level,
               labels=["negative", "neutral", "positive"] if pooling == "last" else None, source=type(module).__name__)
        out, h_n, c_n = reference(module, ids, lengths_tensor)
        save_expected(stem + ".expected.safetensors", module, ids, lengths_tensor, out, h_n, c_n)

    # The reverse direction: files Recurrent wrote (recurrent export --torch), read by PyTorch.
    for stem in sorted(p[:-len(".json")] for p in os.listdir(out_dir) if p.startswith("recurrent_") and p.endswith(".json")
                       and not p.endswith(".vocabulary.json") and not p.endswith(".labels.json")):
        stem = os.path.join(out_dir, stem)
        with open(stem + ".json", encoding="utf-8") as f:
            config = json.load(f)
        module = build(config)
        result = load(module, stem + ".safetensors", strict=True)
        if result.missing_keys or result.unexpected_keys:
            raise ValueError(f"{stem}: {result}")
        torch.manual_seed(zlib.crc32(os.path.basename(stem).encode()))
        ids = torch.randint(0, config["vocabulary_size"], (6, 2), dtype=torch.long)
        out, h_n, c_n = reference(module, ids)
        save_expected(stem + ".expected.safetensors", module, ids, None, out, h_n, c_n, {"loaded_strictly": "true"})


def main(args):
    if not args or args[0] in ("-h", "--help"):
        print(__doc__.strip())
        return 0 if args else 2
    command, rest = args[0], args[1:]
    if command == "demo" and len(rest) == 1:
        demo(rest[0])
    elif command == "check" and len(rest) >= 2:
        check(rest[0], rest[1], rest[2:])
    elif command == "fixtures" and len(rest) <= 1:
        fixtures(rest[0] if rest else os.path.join(REPO_ROOT, "tests", "fixtures", "torch"))
    else:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
