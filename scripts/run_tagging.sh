#!/usr/bin/env bash
# The runs behind docs/APPLICATIONS.md ("Sequence tagging"): UD English EWT UPOS tagging with Recurrent
# (`recurrent tag train`) and its PyTorch twin (scripts/train_torch_tagger.py), the same recipe,
# one after the other, each with 2 threads, under /usr/bin/time -v for the peak resident memory.
#
#   scripts/run_tagging.sh [OUT_DIR] [both|recurrent|pytorch]      (defaults: runs/tagging, both)
#
# Needs the .NET SDK and Debian's PyTorch (apt-get install -y python3-torch libopenblas0-pthread;
# run as /usr/bin/python3). Run it on an otherwise idle machine: the times are wall-clock. The CLI is
# copied out of the build folder first so that a rebuild during a run cannot replace the DLLs under
# it. PyTorch runs with OMP_WAIT_POLICY=PASSIVE (see scripts/run_results.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-runs/tagging}
which=${2:-both}
data=../shared/data/ud-english-ewt
mkdir -p "$out"
dotnet build src/Recurrent.Cli -c Release -v q -nologo >/dev/null
rm -rf "$out/bin" && cp -r src/Recurrent.Cli/bin/Release/net10.0 "$out/bin"

# Word key (lowercased, digits -> 0, min count 2) 64 + suffixes 1..3 and prefix 1 (16 each) + shape (8)
# -> 2-layer bidirectional LSTM, 128 per direction, dropout 0.33 -> 17 UPOS tags. Adam 2e-3, clip 5,
# batches of 32 sentences; dev accuracy after each epoch picks the best weights, stop after 3
# epochs without improvement, at most 30 epochs or 20 minutes.
features=(--min-count 2 --suffixes 3 --prefixes 1 --affix-embed 16 --shape-embed 8 --word-dropout 0)
model=(--layers 2 --hidden 128 --embed 64 --dropout 0.33)
training=(--batch 32 --lr 0.002 --clip 5 --epochs 30 --stop-patience 3 --minutes 20 --seed 1 --threads 2)

if [[ $which != pytorch ]]; then
rm -rf "$out/recurrent"
echo "recurrent: start $(date -u +%FT%TZ), $(cat /proc/loadavg | cut -d' ' -f1-3) load" | tee "$out/load.txt"
/usr/bin/time -v -o "$out/recurrent.time" dotnet "$out/bin/Recurrent.Cli.dll" tag train \
    --data $data/en_ewt-ud-train.conllu.gz --valid $data/en_ewt-ud-dev.conllu --test $data/en_ewt-ud-test.conllu \
    "${features[@]}" "${model[@]}" "${training[@]}" --out "$out/recurrent" | tee "$out/recurrent.log"
dotnet "$out/bin/Recurrent.Cli.dll" tag eval --model "$out/recurrent" --data $data/en_ewt-ud-test.conllu | tee "$out/recurrent-test.txt"
dotnet "$out/bin/Recurrent.Cli.dll" tag eval --model "$out/recurrent" --data $data/en_ewt-ud-test.conllu --json > "$out/recurrent-test.json"
fi

if [[ $which != recurrent ]]; then
echo "pytorch: start $(date -u +%FT%TZ), $(cat /proc/loadavg | cut -d' ' -f1-3) load" | tee -a "$out/load.txt"
OMP_WAIT_POLICY=PASSIVE /usr/bin/time -v -o "$out/pytorch.time" /usr/bin/python3 scripts/train_torch_tagger.py \
    --train $data/en_ewt-ud-train.conllu.gz --valid $data/en_ewt-ud-dev.conllu --test $data/en_ewt-ud-test.conllu \
    "${features[@]}" "${model[@]}" "${training[@]}" | tee "$out/pytorch.log"
fi

echo "end $(date -u +%FT%TZ), $(cat /proc/loadavg | cut -d' ' -f1-3) load" | tee -a "$out/load.txt"
grep -H -E "Elapsed \(wall clock\)|Maximum resident set size" "$out"/*.time
