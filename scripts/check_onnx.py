#!/usr/bin/python3
"""Checks ONNX files with the onnx package's checker (full_check=True: also strict shape inference).

Usage:
    /usr/bin/python3 scripts/check_onnx.py FILE.onnx [FILE.onnx ...]
    /usr/bin/python3 scripts/check_onnx.py --from-tests [FOLDER]

Needs Debian's python3-onnx (apt-get install -y python3-onnx). --from-tests runs the ONNX export
tests (tests/Recurrent.Tests, filter OnnxExportTests) with RECURRENT_ONNX_DIR set, so that every
model they compare against Recurrent in ONNX Runtime is also saved (to FOLDER, default a
temporary folder), then checks them all: bare stacks (stack_*), language models (lm_*) and
whole sequence models of every head, input and task (seq_*). The same by hand:

    RECURRENT_ONNX_DIR=/tmp/onnx dotnet test tests/Recurrent.Tests -c Release --filter "FullyQualifiedName~OnnxExportTests"
    /usr/bin/python3 scripts/check_onnx.py /tmp/onnx/*.onnx

Besides the checker, every file must declare its graph outputs with the rank shape inference
finds, and a file's metadata must name its cell. Prints one line per file and a count per
kind; exits with 1 if any file fails, 2 on a usage error.
"""
import collections
import glob
import os
import subprocess
import sys
import tempfile

import onnx


def check(path):
    model = onnx.load(path)
    onnx.checker.check_model(model, full_check=True)
    inferred = onnx.shape_inference.infer_shapes(model, check_type=True, strict_mode=True)
    ranks = {v.name: len(v.type.tensor_type.shape.dim) for v in inferred.graph.value_info}
    for output in model.graph.output:
        declared = len(output.type.tensor_type.shape.dim)
        # An output that is an Identity of a tensor with an inferred shape must agree with it.
        for node in model.graph.node:
            if node.op_type == "Identity" and node.output[0] == output.name and node.input[0] in ranks:
                if ranks[node.input[0]] != declared:
                    raise ValueError(f"output {output.name} is declared with rank {declared}, inferred {ranks[node.input[0]]}")
    metadata = {p.key: p.value for p in model.metadata_props}
    if "cell" not in metadata:
        raise ValueError("metadata_props lack 'cell'")
    opsets = ", ".join(f"{o.domain or 'ai.onnx'} {o.version}" for o in model.opset_import)
    inputs = ", ".join(i.name for i in model.graph.input)
    outputs = ", ".join(o.name for o in model.graph.output)
    return f"IR {model.ir_version}, opset {opsets}, {len(model.graph.node)} nodes; {inputs} -> {outputs}"


def run_tests(folder):
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = dict(os.environ, RECURRENT_ONNX_DIR=folder)
    command = ["dotnet", "test", os.path.join(root, "tests", "Recurrent.Tests"), "-c", "Release",
               "--filter", "FullyQualifiedName~OnnxExportTests"]
    print("running: RECURRENT_ONNX_DIR=" + folder + " " + " ".join(command), flush=True)
    result = subprocess.run(command, env=env, cwd=root)
    if result.returncode != 0:
        print("the ONNX export tests failed; checking what they saved anyway", file=sys.stderr)
    return result.returncode


def main(args):
    if not args or args[0] in ("-h", "--help"):
        print(__doc__.strip(), file=sys.stderr)
        return 2
    test_status = 0
    if args[0] == "--from-tests":
        if len(args) > 2:
            print(__doc__.strip(), file=sys.stderr)
            return 2
        folder = args[1] if len(args) == 2 else tempfile.mkdtemp(prefix="recurrent-onnx-")
        os.makedirs(folder, exist_ok=True)
        test_status = run_tests(folder)
        paths = sorted(glob.glob(os.path.join(folder, "*.onnx")))
        if not paths:
            print(f"no .onnx files in {folder}", file=sys.stderr)
            return 1
    else:
        paths = args
    failed = 0
    kinds = collections.Counter()
    for path in paths:
        kinds[os.path.basename(path).split("_")[0]] += 1
        try:
            print(f"ok    {path} ({check(path)})")
        except Exception as error:  # the checker raises several exception types; report each and go on
            failed += 1
            print(f"FAIL  {path}: {type(error).__name__}: {error}")
    print(f"{len(paths) - failed} of {len(paths)} files passed onnx {onnx.__version__} checker (full_check)"
          + " [" + ", ".join(f"{kind}: {count}" for kind, count in sorted(kinds.items())) + "]")
    return 1 if failed or test_status else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
