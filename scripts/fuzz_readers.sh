#!/usr/bin/env bash
# Long fuzz run of the safetensors and checkpoint readers (tests/Recurrent.Tests/ReaderFuzzTests.cs):
# N seeded mutations per reader (default 100000), then the counts. CI runs 2500 of each.
#
#   scripts/fuzz_readers.sh [iterations] [seed]
#
# Writes one JSON line per reader to fuzz-report.jsonl in the current directory and prints them.
set -euo pipefail
cd "$(dirname "$0")/.."
iterations=${1:-100000}
seed=${2:-20251}
report="$PWD/fuzz-report.jsonl"
rm -f "$report"
dotnet build tests/Recurrent.Tests -c Release -v quiet -nologo >/dev/null
RECURRENT_FUZZ_ITERATIONS=$iterations RECURRENT_FUZZ_SEED=$seed RECURRENT_FUZZ_REPORT=$report \
  dotnet test tests/Recurrent.Tests -c Release --no-build --filter "FullyQualifiedName~ReaderFuzzTests" --logger "console;verbosity=normal"
cat "$report"
