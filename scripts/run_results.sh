#!/usr/bin/env bash
# The training runs behind docs/RESULTS.md, exactly as they were run: Recurrent and its PyTorch
# twin (scripts/train_torch_lm.py) on the same recipe, one after the other, each alone on the
# machine with 2 threads and the same wall-clock budget.
#
#   scripts/run_results.sh shakespeare|ptb|cells [OUT_DIR]     (default OUT_DIR: runs/results)
#
# Needs the .NET SDK and Debian's PyTorch (apt-get install -y python3-torch python3-numpy
# libopenblas0-pthread; run as /usr/bin/python3). Run it on an otherwise idle machine: these are
# wall-clock budgets. The CLI is copied out of the build folder first so that a rebuild during a
# run cannot replace the DLLs under it. PyTorch runs with OMP_WAIT_POLICY=PASSIVE: with 2
# intra-op threads and OpenBLAS's 2 threads the default (active) policy oversubscribes the 2
# cores and runs 2-3x slower (scripts/bench_peers.py measures every setting; this was its best).
set -euo pipefail
cd "$(dirname "$0")/.."
stage=${1:?usage: scripts/run_results.sh shakespeare|ptb|cells [OUT_DIR]}
out=${2:-runs/results}
data=../shared/data
mkdir -p "$out"
dotnet build src/Recurrent.Cli -c Release -v q -nologo >/dev/null
rm -rf "$out/bin" && cp -r src/Recurrent.Cli/bin/Release/net10.0 "$out/bin"
recurrent() { dotnet "$out/bin/Recurrent.Cli.dll" "$@"; }
torch_lm() { /usr/bin/python3 scripts/train_torch_lm.py "$@"; }

case "$stage" in
shakespeare)
    # Character level, first 90% train / last 10% validation, 30 minutes each.
    recipe=(--level char --cell lstm --layers 2 --hidden 512 --embed 64 --dropout 0.25 --batch 32 --bptt 128
            --lr 0.002 --clip 5 --schedule plateau --decay-factor 0.5 --patience 1 --minutes 30 --seed 1 --threads 2)
    recurrent train --data $data/tinyshakespeare/input.txt "${recipe[@]}" --epochs 1000 --optimizer adam \
        --out "$out/shakespeare-recurrent" | tee "$out/shakespeare-recurrent.log"
    OMP_WAIT_POLICY=PASSIVE torch_lm --data $data/tinyshakespeare/input.txt "${recipe[@]}" | tee "$out/shakespeare-pytorch.log"
    recurrent sample --model "$out/shakespeare-recurrent" --prime "ROMEO:" --length 600 --temperature 0.8 --seed 1 \
        | tee "$out/shakespeare-sample.txt"
    ;;
ptb)
    # Word level, the substitute split of ../shared/data/ptb/README.md: train on the first 90% of
    # the lines of ptb.valid.txt, validate on the rest, test on ptb.test.txt with the best weights.
    recipe=(--level word --cell lstm --layers 2 --hidden 256 --embed 256 --tie --dropout 0.5 --batch 20 --bptt 35
            --lr 0.002 --clip 5 --schedule plateau --decay-factor 0.5 --patience 0 --minutes 5 --seed 1 --threads 2)
    recurrent train --data $data/ptb/ptb.valid.txt "${recipe[@]}" --epochs 1000 --optimizer adam \
        --out "$out/ptb-recurrent" | tee "$out/ptb-recurrent.log"
    recurrent eval --model "$out/ptb-recurrent" --data $data/ptb/ptb.test.txt --batch 10 --bptt 35 --json \
        | tee "$out/ptb-recurrent-test.json"
    OMP_WAIT_POLICY=PASSIVE torch_lm --data $data/ptb/ptb.valid.txt "${recipe[@]}" --test $data/ptb/ptb.test.txt | tee "$out/ptb-pytorch.log"
    ;;
cells)
    # The PTB recipe above with each cell type, same 5-minute budget (Recurrent only).
    for cell in gru rnn; do
        recurrent train --data $data/ptb/ptb.valid.txt --level word --cell $cell --layers 2 --hidden 256 --embed 256 --tie \
            --dropout 0.5 --batch 20 --bptt 35 --lr 0.002 --clip 5 --schedule plateau --decay-factor 0.5 --patience 0 \
            --minutes 5 --seed 1 --threads 2 --epochs 1000 --optimizer adam --out "$out/ptb-$cell" | tee "$out/ptb-$cell.log"
        recurrent eval --model "$out/ptb-$cell" --data $data/ptb/ptb.test.txt --batch 10 --bptt 35 --json \
            | tee "$out/ptb-$cell-test.json"
    done
    ;;
*) echo "unknown stage '$stage' (shakespeare, ptb or cells)" >&2; exit 2 ;;
esac
