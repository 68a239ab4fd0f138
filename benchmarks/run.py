"""archspec's benchmarks: what it costs next to Keras, and how it scales.

    python benchmarks/run.py [--repeat 5] [--json results.json] [--skip-build]
        [--skip-lsp | --only-lsp]

Every figure is the median of ``--repeat`` runs (spread: min–max), measured side by
side in one run; ratios compare medians taken in that same run. Whole-process timings
run the installed ``archspec`` command; in-process builds alternate archspec and the
reference so that machine load hits both alike.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))

ZOO = {
    "resnet50": "ResNet50",
    "resnet101": "ResNet101",
    "resnet152": "ResNet152",
    "resnet50v2": "ResNet50V2",
    "vgg16": "VGG16",
    "vgg19": "VGG19",
    "mobilenetv2": "MobileNetV2",
    "densenet121": "DenseNet121",
}
SCALES = {1_000: 87, 10_000: 987, 100_000: 9_987}  # layers -> identity blocks in stage 4


def stats(samples: list[float]) -> dict:
    return {
        "median": statistics.median(samples),
        "min": min(samples),
        "max": max(samples),
        "n": len(samples),
    }


def timed_process(command: list[str], cwd: Path = ROOT) -> float:
    start = time.perf_counter()
    subprocess.run(
        command, cwd=cwd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    return time.perf_counter() - start


def alternate(commands: dict[str, list[str]], repeat: int) -> dict[str, dict]:
    """Run each command ``repeat`` times, interleaved."""
    samples: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(repeat):
        for name, command in commands.items():
            samples[name].append(timed_process(command))
    return {name: stats(s) for name, s in samples.items()}


def startup(repeat: int) -> dict:
    python = sys.executable
    result = alternate(
        {
            "python -c pass": [python, "-c", "pass"],
            "archspec check specs/resnet50.yaml": ["archspec", "check", "specs/resnet50.yaml"],
            'python -c "import tensorflow"': [python, "-c", "import tensorflow"],
        },
        repeat,
    )
    check = result["archspec check specs/resnet50.yaml"]["median"]
    result["ratio check / import tensorflow"] = (
        check / result['python -c "import tensorflow"']["median"]
    )
    return result


def tools(repeat: int) -> dict:
    out = tempfile.mkdtemp(prefix="archspec-bench-")
    commands = {
        "python -c pass": [sys.executable, "-c", "pass"],
        "archspec codegen (all specs)": ["archspec", "codegen", "-o", out],
        "archspec diff resnet50 resnet152": [
            "archspec",
            "diff",
            "specs/keras/resnet50.yaml",
            "specs/keras/resnet152.yaml",
        ],
    }
    samples: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(repeat):
        for name, command in commands.items():
            start = time.perf_counter()
            proc = subprocess.run(
                command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
            )
            if proc.returncode not in (0, 1):  # diff exits 1 when the models differ
                raise RuntimeError(f"{' '.join(command)} exited {proc.returncode}")
            samples[name].append(time.perf_counter() - start)
    return {name: stats(s) for name, s in samples.items()}


def builds(repeat: int) -> dict:
    """In-process builds: archspec (load, lower, build) against the hand-written seed
    model and each keras.applications constructor."""
    import keras
    from seed_resnet50 import ResNet50

    import archspec

    def clocked(fn) -> float:
        keras.backend.clear_session()
        start = time.perf_counter()
        fn()
        return time.perf_counter() - start

    cases = {
        "seed resnet50": (
            "specs/resnet50.yaml",
            lambda: ResNet50(input_shape=(64, 64, 3), classes=6),
        )
    }
    for stem, constructor in ZOO.items():
        cases[stem] = (
            f"specs/keras/{stem}.yaml",
            lambda c=constructor: getattr(keras.applications, c)(weights=None),
        )
    results = {}
    for name, (spec, reference) in cases.items():
        ours, theirs = [], []
        path = ROOT / spec

        def build(path=path):
            return archspec.build(path)

        clocked(build)  # warm up both paths once
        clocked(reference)
        for _ in range(repeat):
            ours.append(clocked(build))
            theirs.append(clocked(reference))
        results[name] = {
            "archspec": stats(ours),
            "reference": stats(theirs),
            "ratio": statistics.median(ours) / statistics.median(theirs),
        }
    return results


LSP_TARGET_MS = 50  # issue 18: a re-check after an edit, in the editor's time budget


def lsp_recheck(repeat: int) -> dict:
    """The language server's check of specs/resnet50.yaml after an edit, in process with
    warm caches: each run changes the unsaved text (a different ``classes``) and times
    the server's resolve and lower of it (what a didChange does before publishing)."""
    from lsprotocol import types

    from archspec.lsp.server import ArchspecServer

    server = ArchspecServer()
    # the handler of the client's initialize request (a generator in pygls 2): run it out
    for _ in server.protocol.lsp_initialize(
        types.InitializeParams(capabilities=types.ClientCapabilities())
    ):
        pass
    path = (ROOT / "specs" / "resnet50.yaml").resolve()
    uri, text = path.as_uri(), path.read_text()
    item = types.TextDocumentItem(uri=uri, language_id="yaml", version=0, text=text)
    server.workspace.put_text_document(item)
    server.analyse(uri)  # warm up: imports, argument models, the shipped library
    samples = []
    for i in range(max(repeat, 5) * 4):  # a re-check is short: more runs for a steady median
        edited = text.replace("classes: 6", f"classes: {7 + i}")
        server.workspace.update_text_document(
            types.VersionedTextDocumentIdentifier(uri=uri, version=i + 1),
            types.TextDocumentContentChangeWholeDocument(text=edited),
        )
        start = time.perf_counter()
        analysis = server.analyse(uri)
        samples.append(time.perf_counter() - start)
        if analysis.graph is None:
            raise RuntimeError(f"resnet50 did not check: {analysis.problems[:1]}")
    result = stats(samples)
    result["target ms"] = LSP_TARGET_MS
    return result


SCALE_PROBE = """
import resource, sys, time
import archspec
start = time.perf_counter()
graph = archspec.lower(sys.argv[1])
elapsed = time.perf_counter() - start
print(len(graph.nodes), elapsed, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def scaling(repeat: int) -> dict:
    """load + lower of synthetic ResNet-style specs (the seed's, stage 4 repeated), each
    in a fresh process: time, and peak memory of the process."""
    text = (ROOT / "specs" / "resnet50.yaml").read_text()
    folder = Path(tempfile.mkdtemp(prefix="archspec-scale-"))
    results = {}
    for target, blocks in SCALES.items():
        spec = folder / f"resnet_{target}.yaml"
        spec.write_text(text.replace("identity x 5]", f"identity x {blocks}]"))
        times, peaks, layers = [], [], 0
        for _ in range(repeat):
            proc = subprocess.run(
                [sys.executable, "-c", SCALE_PROBE, str(spec)],
                capture_output=True,
                text=True,
                check=True,
            )
            n, elapsed, peak = proc.stdout.split()
            layers, times, peaks = int(n), times + [float(elapsed)], peaks + [int(peak) / 1024]
        whole = [
            timed_process(["archspec", "check", str(spec)]) for _ in range(max(1, repeat // 2))
        ]
        results[f"{layers:,} layers"] = {
            "layers": layers,
            "load+lower": stats(times),
            "peak MiB": statistics.median(peaks),
            "archspec check (whole process)": stats(whole),
        }
    medians = [r["load+lower"]["median"] for r in results.values()]
    names = list(results)
    for i in range(1, len(names)):
        results[names[i]]["time ratio to previous (10x layers)"] = medians[i] / medians[i - 1]
    return results


def fmt(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms" if seconds < 1 else f"{seconds:.2f} s"


def spread(entry: dict) -> str:
    return f"{fmt(entry['median'])} ({fmt(entry['min'])}–{fmt(entry['max'])})"


def lsp_report(entry: dict) -> list[str]:
    verdict = "within" if entry["median"] * 1000 <= entry["target ms"] else "OVER"
    return [
        "language server: re-check of resnet50 after an edit (in process, warm)",
        f"  {'check after didChange':40} {spread(entry)}  {verdict} the {entry['target ms']} ms target",
    ]


def report(results: dict) -> str:
    lines = [f"machine: {results['machine']}", ""]
    lines.append("startup (whole process, median (min–max))")
    for name, entry in results["startup"].items():
        lines.append(f"  {name:40} {spread(entry) if isinstance(entry, dict) else f'{entry:.3f}'}")
    lines += ["", "tools (whole process)"]
    for name, entry in results["tools"].items():
        lines.append(f"  {name:40} {spread(entry)}")
    if "builds" in results:
        lines += ["", "in-process build: archspec vs reference (ratio of medians)"]
        for name, entry in results["builds"].items():
            lines.append(
                f"  {name:16} archspec {spread(entry['archspec']):28} reference {spread(entry['reference']):28}"
                f" ratio {entry['ratio']:.3f}"
            )
    if "lsp" in results:
        lines += ["", *lsp_report(results["lsp"])]
    lines += ["", "scaling: load + lower (fresh process each), peak memory"]
    for name, entry in results["scaling"].items():
        ratio = entry.get("time ratio to previous (10x layers)")
        lines.append(
            f"  {name:16} {spread(entry['load+lower']):28} peak {entry['peak MiB']:.0f} MiB"
            f"  check {fmt(entry['archspec check (whole process)']['median'])}"
            + (f"  x{ratio:.2f} for 10x layers" if ratio else "")
        )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--repeat", type=int, default=5, help="repetitions per measurement (default 5)"
    )
    parser.add_argument("--json", help="also write the results to this JSON file")
    parser.add_argument(
        "--skip-build", action="store_true", help="skip the in-process Keras builds"
    )
    parser.add_argument(
        "--skip-lsp", action="store_true", help="skip the language server's re-check (needs pygls)"
    )
    parser.add_argument(
        "--only-lsp", action="store_true", help="run only the language server's re-check"
    )
    args = parser.parse_args()
    if args.only_lsp:
        print("\n".join(lsp_report(lsp_recheck(args.repeat))))
        return 0
    results = {
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, {platform.platform()}",
        "repeat": args.repeat,
        "startup": startup(args.repeat),
        "tools": tools(args.repeat),
        "scaling": scaling(args.repeat),
    }
    if not args.skip_lsp:
        results["lsp"] = lsp_recheck(args.repeat)
    if not args.skip_build:
        results["builds"] = builds(args.repeat)
    print(report(results))
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
