#!/usr/bin/python3
"""Checks ONNX files with the onnx package's checker (full_check=True: also shape inference).

Usage: /usr/bin/python3 scripts/check_onnx.py FILE.onnx [FILE.onnx ...]

Needs Debian's python3-onnx (apt-get install -y python3-onnx). To check what Recurrent exports,
let the ONNX tests save every model they run into a folder, then check the folder:

    RECURRENT_ONNX_DIR=/tmp/onnx dotnet test tests/Recurrent.Tests -c Release --filter "FullyQualifiedName~Onnx"
    /usr/bin/python3 scripts/check_onnx.py /tmp/onnx/*.onnx

Prints one line per file and exits with 1 if any file fails, 2 on a usage error.
"""
import sys

import onnx


def main(paths):
    if not paths:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    failed = 0
    for path in paths:
        try:
            model = onnx.load(path)
            onnx.checker.check_model(model, full_check=True)
            opsets = ", ".join(f"{o.domain or 'ai.onnx'} {o.version}" for o in model.opset_import)
            print(f"ok    {path} (IR {model.ir_version}, opset {opsets}, {len(model.graph.node)} nodes)")
        except Exception as error:  # the checker raises several exception types; report each and go on
            failed += 1
            print(f"FAIL  {path}: {type(error).__name__}: {error}")
    print(f"{len(paths) - failed} of {len(paths)} files passed onnx {onnx.__version__} checker (full_check)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
