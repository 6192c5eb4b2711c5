#!/usr/bin/env bash
# The vanishing/exploding-gradient experiment of docs/GRADIENTS.md:
#   1. the adding problem at T = 50, 100, 200: every cell (tanh RNN, IRNN, LSTM, GRU) gets the
#      same budget of updates, with global-norm clipping at 1 and without;
#   2. the exploding case: recurrent weights initialised 3x too large (--init-scale 3) at T = 100,
#      trained with plain SGD (whose step grows with the gradient, unlike Adam's), with and
#      without clipping.
# Writes docs/gradients/adding-T{50,100,200}/ and docs/gradients/exploding-T100/ (PNGs,
# gradients.json, table.txt). Budgets are updates, not time, so the numbers do not depend on the
# machine's speed; the same seed and thread count give the same numbers.
#   scripts/gradients_experiment.sh                 the full experiment (~25 minutes on 2 shared cores, mostly the T = 200 GRU runs)
#   STEPS=10 EXPLODING_STEPS=10 LENGTHS="10 20" EXPLODING_LENGTH=10 OUT=/tmp/g scripts/gradients_experiment.sh   a smoke run
set -euo pipefail
cd "$(dirname "$0")/.."

STEPS=${STEPS:-3000}
EXPLODING_STEPS=${EXPLODING_STEPS:-1000}
LENGTHS=${LENGTHS:-"50 100 200"}
EXPLODING_LENGTH=${EXPLODING_LENGTH:-100}
EXPLODING_SCALE=${EXPLODING_SCALE:-3}
EXPLODING_LR=${EXPLODING_LR:-0.05}
OUT=${OUT:-docs/gradients}
SEED=${SEED:-1}
THREADS=${THREADS:-1}
NICE=${NICE:-nice -n 19}

dotnet build src/Recurrent.Cli -c Release -v quiet -nologo >/dev/null
CLI="$NICE dotnet src/Recurrent.Cli/bin/Release/net10.0/Recurrent.Cli.dll"
export COLUMNS=${COLUMNS:-120}   # a wide enough table when the output is a file

run() {   # run DIR ARGS...: one `recurrent gradients` run, its table kept in DIR/table.txt
    local dir=$1; shift
    mkdir -p "$dir"
    echo "== recurrent gradients $* --out $dir"
    $CLI gradients "$@" --seed "$SEED" --threads "$THREADS" --out "$dir" | tee "$dir/table.txt"
}

for T in $LENGTHS; do
    run "$OUT/adding-T$T" --task adding --length "$T" --steps "$STEPS" --clip 1
done
run "$OUT/exploding-T$EXPLODING_LENGTH" --task adding --length "$EXPLODING_LENGTH" --steps "$EXPLODING_STEPS" \
    --clip 1 --init-scale "$EXPLODING_SCALE" --optimizer sgd --lr "$EXPLODING_LR"
