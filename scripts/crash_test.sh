#!/usr/bin/env bash
# Crash test: kill -9 a training run at random moments, again and again, resuming each time.
#
#   scripts/crash_test.sh [kills] [seed]          (default 25 kills, seed 1)
#
# Each round starts `recurrent train` (with --resume once latest.ckpt exists), waits a random
# 0.3–4 s, and sends SIGKILL; every third round instead waits for a checkpoint save to begin (its
# temporary file to appear) and kills the run in the middle of it. After every kill, best.ckpt and latest.ckpt (when present) must load
# and score (`recurrent eval`); the next round must take over the dead run's lock and go on. After
# the last kill the run is resumed to the end, and its final model must score exactly like a run
# that was never interrupted (resume is bit-identical at a fixed thread count). Prints one line per
# kill and a summary; exits non-zero on the first failure.
set -euo pipefail
cd "$(dirname "$0")/.."
kills=${1:-25}
RANDOM=${2:-1}
dotnet build src/Recurrent.Cli -c Release -v quiet -nologo >/dev/null
cli=(dotnet src/Recurrent.Cli/bin/Release/net10.0/Recurrent.Cli.dll)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python3 - "$work/corpus.txt" <<'PY'
import random, sys
random.seed(7)
words = "the a of to and in that is was he for it with as his on be at by i this had not are but from or have an they which one you were her all she there would their we him been has when who will more no if out so said what up its about into than them can only other new some could time these two may then do first any my now such like our over man me even most made after also did many before must through back years where much your way well down should because each just those people how too little state good very make world still own see men work long get here between both life being under never day same another know while last might us great old year off come since against go came right used take three".split()
with open(sys.argv[1], "w") as f:
    for line in range(1500):
        f.write(" ".join(random.choice(words) for _ in range(random.randint(5, 14))) + ".\n")
PY
train=(train --data "$work/corpus.txt" --level char --cell lstm --layers 2 --hidden 128 --embed 32 --batch 16 --bptt 48
       --epochs 20 --eval-every 15 --threads 1 --seed 5 --quiet)
out="$work/run"
landed_in_save=0 resumed=0 fresh=0 stale_locks=0
for ((k = 1; k <= kills; k++)); do
    extra=()
    if [[ -f "$out/latest.ckpt" ]]; then extra=(--resume); resumed=$((resumed + 1)); else fresh=$((fresh + 1)); fi
    [[ -f "$out/run.lock" ]] && stale_locks=$((stale_locks + 1))
    if ((k % 3 == 0)); then
        # Kill in the middle of a save: poll for the atomic writer's temporary file.
        delay=$(python3 - "$out" "${cli[@]}" "${train[@]}" --out "$out" "${extra[@]}" <<'PY'
import os, signal, subprocess, sys, time
out, command = sys.argv[1], sys.argv[2:]
process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
start = time.monotonic()
while process.poll() is None and time.monotonic() - start < 30:
    if os.path.isdir(out) and any(n.endswith(".tmp") and ".ckpt." in n for n in os.listdir(out)):
        break
    time.sleep(0.0002)
os.kill(process.pid, signal.SIGKILL)
process.wait()
print("save+%.3f" % (time.monotonic() - start))
PY
)
    else
        "${cli[@]}" "${train[@]}" --out "$out" "${extra[@]}" >"$work/stdout" 2>"$work/stderr" &
        pid=$!
        delay=$(printf '%d.%03d' $((RANDOM % 4)) $((RANDOM % 1000)))
        sleep "0.3"; sleep "$delay"
        if ! kill -0 "$pid" 2>/dev/null; then
            wait "$pid" && rc=0 || rc=$?
            echo "round $k: the run ended by itself (exit $rc) before the kill"; cat "$work/stderr"
            [[ $rc -eq 0 ]] || exit 1
            break
        fi
        kill -9 "$pid"; wait "$pid" 2>/dev/null || true
        delay="+0.3+${delay}s"
    fi
    temps=$(find "$out" -maxdepth 1 -name '.*.ckpt.*.tmp' 2>/dev/null | wc -l)
    [[ $temps -gt 0 ]] && landed_in_save=$((landed_in_save + 1))
    state="no checkpoint yet"
    for f in best latest; do
        if [[ -f "$out/$f.ckpt" ]]; then
            if ! "${cli[@]}" eval --model "$out/$f.ckpt" --data "$work/corpus.txt" --json >"$work/eval.json" 2>"$work/eval.err"; then
                echo "round $k: $f.ckpt does not load after kill -9 at ${delay}:"; cat "$work/eval.err"; exit 1
            fi
            state="checkpoints load"
        fi
    done
    step=$(python3 -c "import json,sys; print(sum(1 for _ in open(sys.argv[1])))" "$out/metrics.jsonl" 2>/dev/null || echo 0)
    echo "round $k: kill -9 at ${delay}; $state; ${temps} temp file(s) left; ${step} evaluations recorded"
done
# Finish the run and compare with one that was never interrupted.
extra=(); [[ -f "$out/latest.ckpt" ]] && extra=(--resume)
"${cli[@]}" "${train[@]}" --out "$out" "${extra[@]}"
"${cli[@]}" "${train[@]}" --out "$work/reference"
a=$("${cli[@]}" eval --model "$out/latest.ckpt" --data "$work/corpus.txt" --json)
b=$("${cli[@]}" eval --model "$work/reference/latest.ckpt" --data "$work/corpus.txt" --json)
c=$("${cli[@]}" eval --model "$out/best.ckpt" --data "$work/corpus.txt" --json)
d=$("${cli[@]}" eval --model "$work/reference/best.ckpt" --data "$work/corpus.txt" --json)
lines_a=$(wc -l <"$out/metrics.jsonl"); lines_b=$(wc -l <"$work/reference/metrics.jsonl")
echo "summary: $kills kills ($fresh fresh starts, $resumed resumes, $stale_locks stale locks taken over, $landed_in_save kills during a save)"
if [[ "$a" == "$b" && "$c" == "$d" && "$lines_a" == "$lines_b" ]]; then
    echo "summary: after the kills the finished run equals the uninterrupted one (latest and best score identically, $lines_a evaluations each)"
else
    echo "summary: MISMATCH: interrupted $a / $c ($lines_a lines) vs uninterrupted $b / $d ($lines_b lines)"; exit 1
fi
