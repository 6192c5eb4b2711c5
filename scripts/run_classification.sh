#!/usr/bin/env bash
# The classification runs behind docs/APPLICATIONS.md: Recurrent (the CLI) and its PyTorch twin on the same split.
# Usage: scripts/run_classification.sh [OUT]   (default OUT=runs/classification; needs Debian's python3-torch)
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-runs/classification}
DATA=../shared/data
mkdir -p "$OUT"
dotnet build src/Recurrent.Cli -c Release -v q >/dev/null
R="dotnet src/Recurrent.Cli/bin/Release/net10.0/Recurrent.Cli.dll"
TIME="/usr/bin/time -v"

# Surnames -> language (18 classes), seeded stratified 80/10/10 split of the distinct (name, language) pairs.
rm -rf "$OUT/names"
$TIME $R classify train --data $DATA/names --cell gru --layers 2 --hidden 128 --embed 64 --dropout 0.4 --epochs 40 \
  --schedule plateau --patience 1 --decay-factor 0.5 --stop-patience 8 --threads 2 --out "$OUT/names" 2> "$OUT/names.time" | tail -3
$R classify eval --model "$OUT/names" --data $DATA/names --part test --confusion "$OUT/names/confusion.png" --json > "$OUT/names.eval.json"
$TIME /usr/bin/python3 scripts/train_torch_classifier.py --run "$OUT/names" --cell gru --layers 2 --hidden 128 --embed 64 --dropout 0.4 --epochs 40 \
  --plateau --stop-patience 8 --threads 2 > "$OUT/names.torch.json" 2> "$OUT/names.torch.time"

# Indoor movement: 4-channel RSS traces of 19-129 steps -> room change or not; environment 3 held out (split (a) of the data's README).
IM=$DATA/indoor-movement
rm -rf "$OUT/indoor"
$TIME $R classify train --sequences $IM/dataset --labels $IM/dataset/MovementAAL_target.csv --pattern "MovementAAL_RSS_{id}.csv" \
  --groups $IM/groups/MovementAAL_DatasetGroup.csv --test-group 3 --hidden 32 --epochs 60 --batch 16 --stop-patience 15 --threads 2 \
  --out "$OUT/indoor" 2> "$OUT/indoor.time" | tail -2
$TIME /usr/bin/python3 scripts/train_torch_classifier.py --run "$OUT/indoor" --sequences $IM/dataset --labels $IM/dataset/MovementAAL_target.csv \
  --pattern "MovementAAL_RSS_{id}.csv" --hidden 32 --epochs 60 --batch 16 --stop-patience 15 --threads 2 > "$OUT/indoor.torch.json" 2> "$OUT/indoor.torch.time"
grep -h -E "Elapsed|Maximum resident" "$OUT"/*.time
cat "$OUT"/*.torch.json
