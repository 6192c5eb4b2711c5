#!/usr/bin/env bash
# Packs Recurrent and the recurrent tool from a clean clone of this repository's HEAD, checks the
# packages (license expression, readme, license file, symbols, repository commit), installs the
# tool from the local folder into a temporary tool path and runs it: --help, a one-epoch training
# run (whose loss plot needs the tool's native SkiaSharp) and an ONNX export. Prints the sizes.
# Not part of .ci/run (it takes a few minutes). Usage: bash scripts/check_package.sh
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
git clone --quiet "$repo" "$work/clone"
cd "$work/clone"
version="$(sed -n 's:.*<Version>\(.*\)</Version>.*:\1:p' Directory.Build.props)"
dotnet pack src/Recurrent -c Release -o "$work/packages" --nologo -v quiet
dotnet pack src/Recurrent.Cli -c Release -o "$work/packages" --nologo -v quiet
for id in Recurrent Recurrent.Cli; do
  nupkg="$work/packages/$id.$version.nupkg"
  test -f "${nupkg%.nupkg}.snupkg" || { echo "FAIL: no symbols package for $id"; exit 1; }
  nuspec="$(unzip -p "$nupkg" "$id.nuspec")"
  for needle in '<license type="expression">MIT</license>' '<readme>README.md</readme>' '<repository type="git"' 'commit="'; do
    grep -qF "$needle" <<<"$nuspec" || { echo "FAIL: $id.nuspec lacks $needle"; exit 1; }
  done
  unzip -l "$nupkg" | grep -qE ' (README\.md|LICENSE)$' || { echo "FAIL: $id lacks README.md or LICENSE"; exit 1; }
  echo "ok    $id $version: $(du -h "$nupkg" | cut -f1) (+ symbols $(du -h "${nupkg%.nupkg}.snupkg" | cut -f1)), MIT, README, LICENSE, repository commit"
done
dotnet tool install --tool-path "$work/tool" --add-source "$work/packages" Recurrent.Cli --version "$version" >/dev/null
"$work/tool/recurrent" --help | grep -q "export" || { echo "FAIL: recurrent --help"; exit 1; }
printf 'to be or not to be, that is the question. %.0s' {1..40} > "$work/corpus.txt"
"$work/tool/recurrent" train --data "$work/corpus.txt" --hidden 16 --embed 8 --layers 1 --batch 4 --bptt 16 --epochs 1 --out "$work/run" -q
test -s "$work/run/loss.png" || { echo "FAIL: the installed tool drew no loss plot"; exit 1; }
"$work/tool/recurrent" export --onnx "$work/run" "$work/lm.onnx" >/dev/null
echo "ok    dotnet tool install --add-source: recurrent --help, train (with its plot), export --onnx; installed size $(du -sh "$work/tool" | cut -f1)"
