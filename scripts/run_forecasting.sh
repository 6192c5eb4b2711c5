#!/usr/bin/env bash
# The forecasting runs behind docs/APPLICATIONS.md ("Forecasting"), exactly as they were run:
# `recurrent forecast train` and its PyTorch twin (scripts/train_torch_forecast.py) with the same
# recipe and split, one after the other, 1 thread each, under /usr/bin/time -v (wall time and
# peak resident memory of the whole process).
#
#   scripts/run_forecasting.sh [OUT_DIR] [SEEDS] [NAMES]   (defaults: runs/forecasting, "1", all)
#
# SEEDS="1 2 3" repeats every run with each seed (the tables report seed 1; the spread over
# seeds goes into the text); NAMES picks runs, e.g. "airline temperatures sunspots". Per run it writes NAME-recurrent.log, NAME-recurrent.json (eval
# --json on the test segment), NAME-recurrent.time, NAME.png (forecast vs actual),
# NAME-pytorch.json and NAME-pytorch.time; seeds other than 1 get a -sN suffix.
# Needs the .NET SDK and Debian's PyTorch (python3-torch, python3-numpy; run as /usr/bin/python3).
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-runs/forecasting}
seeds=${2:-1}
names=${3:-airline temperatures sunspots pm25-1h pm25-24h}
data=../shared/data
mkdir -p "$out"
dotnet build src/Recurrent.Cli -c Release -v q -nologo >/dev/null
rm -rf "$out/bin" && cp -r src/Recurrent.Cli/bin/Release/net10.0 "$out/bin"
recurrent() { dotnet "$out/bin/Recurrent.Cli.dll" "$@"; }
export OMP_WAIT_POLICY=PASSIVE

# run NAME DATA ARGS...: both implementations on one recipe, for every seed.
run() {
    local name=$1 file=$2; shift 2
    [[ " $names " == *" $name "* ]] || return 0
    for seed in $seeds; do
        local tag=$name; [ "$seed" = 1 ] || tag=$name-s$seed
        rm -rf "$out/$tag-recurrent"
        /usr/bin/time -v -o "$out/$tag-recurrent.time" \
            dotnet "$out/bin/Recurrent.Cli.dll" forecast train --data "$file" "$@" --seed "$seed" --threads 1 --out "$out/$tag-recurrent" \
            > "$out/$tag-recurrent.log"
        recurrent forecast eval --model "$out/$tag-recurrent" --json --plot "$out/$tag.png" > "$out/$tag-recurrent.json"
        /usr/bin/time -v -o "$out/$tag-pytorch.time" \
            /usr/bin/python3 scripts/train_torch_forecast.py --data "$file" "$@" --seed "$seed" --threads 1 > "$out/$tag-pytorch.json"
        echo "$tag: recurrent $(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["targets"][0]["model"])' "$out/$tag-recurrent.json")"
        echo "$tag: pytorch   $(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["model"])' "$out/$tag-pytorch.json")"
    done
}

# Airline passengers: 12 months ahead from 24, log values over the seasonal naive forecast.
run airline $data/timeseries/airline-passengers.csv --target Passengers --window 24 --horizon 12 --season 12 \
    --split 0.65,0.15 --log --residual seasonal --hidden 16 --batch 8 --epochs 100 --lr 0.005
# Daily minimum temperatures: the next day from 30; season 365 (the annual cycle; no 29 February in the file).
run temperatures $data/timeseries/daily-min-temperatures.csv --target Temp --window 30 --horizon 1 --season 365 \
    --split 0.7,0.1 --hidden 32 --batch 32 --epochs 30 --lr 0.003
# Sunspots: the next month from 60, over the naive forecast; season 132 (the ~11-year solar cycle).
run sunspots $data/timeseries/monthly-sunspots.csv --target Sunspots --window 60 --horizon 1 --season 132 \
    --split 0.7,0.1 --residual naive --hidden 32 --batch 32 --epochs 30 --lr 0.003
# Beijing PM2.5: all weather inputs, wind one-hot, gaps filled forward (filled targets not scored);
# train 2010-2012, validate 2013, test 2014; the next hour from 24, and the next day from 48.
pm=(--target pm2.5 --inputs pm2.5,DEWP,TEMP,PRES,Iws,Is,Ir --one-hot cbwd --missing fill-forward --season 24
    --split 2013-01-01,2014-01-01 --batch 64 --lr 0.002 --epochs 10 --loss huber)
run pm25-1h $data/beijing-pm25/pollution.csv "${pm[@]}" --window 24 --horizon 1 --hidden 32
run pm25-24h $data/beijing-pm25/pollution.csv "${pm[@]}" --window 48 --horizon 24 --hidden 64
