"""The command line: ``main(argv) -> exit code`` owns parsing and error reporting.

Exit codes: 0 ok, 1 invalid spec (or differences, for checks), 2 usage or I/O error.
Problems go to stderr as ``PATH:LINE:COL: error: MESSAGE``; no traceback unless
``--traceback``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import traceback

from archspec._version import __version__
from archspec.diagnostics import SpecError, UsageError, format_path
from archspec.limits import ENVIRONMENT_PROBLEMS, LIMITS

# Each command's examples, shown in its --help; the first of each also in archspec --help.
EXAMPLES = {
    "check": ["archspec check specs/resnet50.yaml --set classes=10 --layers"],
    "build": ["archspec build specs/resnet50.yaml -o resnet50.keras"],
    "codegen": [
        "archspec codegen specs/resnet50.yaml    # writes generated/resnet50.py",
        "archspec codegen --check",
    ],
    "diff": [
        "archspec diff specs/keras/resnet50.yaml specs/keras/resnet152.yaml",
        "archspec diff specs/resnet50.yaml --against HEAD --layers",
        "archspec diff specs/resnet50.yaml resnet50.keras --format json",
        "archspec diff specs/resnet50.yaml specs/resnet50.yaml --set-b classes=10",
    ],
    "graph": [
        "archspec graph specs/resnet50.yaml -o resnet50.svg",
        "archspec graph specs/resnet50.yaml --layers -o layers.png",
    ],
    "render": [
        "archspec render specs/keras/resnet101.yaml --set classes=10 > resnet101-resolved.yaml"
    ],
    "schema": [
        "archspec schema -o schema/    # spec.schema.json, library.schema.json",
        "# then, on a spec's first line: # yaml-language-server: $schema=../schema/spec.schema.json",
    ],
    "completion": ['eval "$(archspec completion bash)"    # in ~/.bashrc'],
    "train": [
        "archspec train specs/resnet50.yaml --data signs.h5 --epochs 2 -o resnet50.keras",
        "archspec train specs/resnet50.yaml --data data/ --strategy mirrored    # every GPU, else every CPU device",
    ],
    "evaluate": [
        "archspec evaluate resnet50.keras --data signs.h5",
        "archspec evaluate specs/resnet50.yaml --data signs.h5",
    ],
    "data": ["archspec data synth-signs -o signs.h5    # 1080 train, 120 test images, 6 classes"],
    "synth-signs": [
        "archspec data synth-signs -o signs.h5    # 1080 train, 120 test images, 6 classes",
        "archspec data synth-signs --pair -o data/    # data/train_signs.h5, data/test_signs.h5",
    ],
}


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        raise UsageError(message)


def _epilog(examples: list[str]) -> str:
    return ("example:" if len(examples) == 1 else "examples:") + "".join(
        f"\n  {e}" for e in examples
    )


def _command(sub, name: str, help_text: str, parents: list, **kwargs) -> argparse.ArgumentParser:
    """A subcommand with its examples in its help."""
    return sub.add_parser(
        name,
        parents=parents,
        help=help_text,
        epilog=_epilog(EXAMPLES[name]),
        formatter_class=argparse.RawDescriptionHelpFormatter,
        **kwargs,
    )


def _parser() -> argparse.ArgumentParser:
    common = _Parser(add_help=False)
    common.add_argument("--traceback", action="store_true", help="show Python tracebacks on errors")
    common.add_argument(
        "--limit",
        action="append",
        default=[],
        metavar="NAME=N",
        help="raise one of archspec's safety limits for this run (see docs/errors.md)",
    )
    spec_args = _Parser(add_help=False)
    spec_args.add_argument("spec", help="the spec file (YAML)")
    spec_args.add_argument(
        "--set",
        dest="sets",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a spec param; VALUE is parsed as YAML (--set input_shape=[224,224,3])",
    )
    static = [common, spec_args]

    parser = _Parser(
        prog="archspec",
        description="Compile declarative architecture specs into Keras models and Python.",
        epilog=_epilog(
            [examples[0] for name, examples in EXAMPLES.items() if name != "synth-signs"]
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
        parents=[common],
    )
    parser.add_argument("--version", action="version", version=f"archspec {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    check = _command(sub, "check", "validate a spec and print its summary (no TensorFlow)", static)
    check.add_argument("--layers", action="store_true", help="one row per layer")
    check.add_argument(
        "--format",
        choices=["text", "json", "github"],
        default="text",
        help="text (default); json: the summary or the errors as JSON on stdout; "
        "github: errors also as GitHub Actions annotations",
    )

    build = _command(
        sub, "build", "build the Keras model, print its summary, optionally save it", static
    )
    build.add_argument("-o", "--output", help="save the model to this .keras file")
    build.add_argument("--layers", action="store_true", help="one row per layer")

    graph = _command(sub, "graph", "draw the architecture with Graphviz (no TensorFlow)", static)
    graph.add_argument("-o", "--output", required=True, help="FILE.svg, .png, .pdf or .dot")
    graph.add_argument("--layers", action="store_true", help="every layer, blocks as clusters")

    _command(
        sub,
        "render",
        "print the spec with extends, imports, params and defaults applied (YAML)",
        static,
    )

    completion = _command(
        sub, "completion", "print a shell completion script (bash or zsh)", [common]
    )
    completion.add_argument("shell", choices=["bash", "zsh"])

    schema = _command(
        sub, "schema", "write the JSON Schema of the spec language, for editors", [common]
    )
    schema.add_argument(
        "-o", "--output", default="schema", help="output directory (default: schema/)"
    )
    schema.add_argument("--check", action="store_true", help="exit 1 if the files there are stale")

    codegen = _command(
        sub, "codegen", "generate Python modules from specs (no TensorFlow)", [common]
    )
    codegen.add_argument("specs", nargs="*", help="spec files (default: every spec under specs/)")
    codegen.add_argument(
        "-o", "--output", default="generated", help="output directory (default: generated/)"
    )
    codegen.add_argument(
        "--style",
        choices=["structured", "flat"],
        default="structured",
        help="a function per block kind (default), or one statement per layer",
    )
    codegen.add_argument(
        "--check",
        action="store_true",
        help="write nothing; exit 1 naming every stale, missing or extra module",
    )

    data_args = _Parser(add_help=False)
    data_args.add_argument(
        "--data",
        action="append",
        required=True,
        metavar="FILE.h5",
        help="HDF5 data in the seed's layout (train_set_x, train_set_y, test_set_x, test_set_y, "
        "list_classes): one file, the train_signs.h5/test_signs.h5 pair, or their folder",
    )
    data_args.add_argument(
        "--batch-size", type=_positive, metavar="N", help="override training.batch_size"
    )
    train = _command(
        sub,
        "train",
        "compile, fit and evaluate the spec's model on HDF5 data, then save it",
        [*static, data_args],
    )
    train.add_argument("--epochs", type=_positive, metavar="N", help="override training.epochs")
    train.add_argument(
        "-o", "--output", help="save the trained model here (default: SPEC_NAME.keras)"
    )
    train.add_argument(
        "--strategy",
        choices=["default", "mirrored", "multi-worker"],
        default="default",
        help="tf.distribute strategy: mirrored over local devices, or multi-worker from TF_CONFIG",
    )
    evaluate = _command(
        sub,
        "evaluate",
        "print the test loss and metrics of a saved model or of a spec",
        [common, data_args],
    )
    evaluate.add_argument("model", metavar="MODEL_OR_SPEC", help="a .keras file, or a spec (YAML)")
    evaluate.add_argument(
        "--set",
        dest="sets",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a spec param",
    )
    data = _command(sub, "data", "make data sets (no TensorFlow)", [common])
    data_sub = data.add_subparsers(dest="data_command", required=True, parser_class=_Parser)
    synth = _command(
        data_sub,
        "synth-signs",
        "a synthetic SIGNS set: hands raising 0 to 5 fingers, in the seed's HDF5 layout",
        [common],
    )
    synth.add_argument("-o", "--output", required=True, help="the .h5 file (with --pair: a folder)")
    synth.add_argument(
        "--train", type=_positive, default=1080, metavar="N", help="train images (default 1080)"
    )
    synth.add_argument(
        "--test", type=_positive, default=120, metavar="N", help="test images (default 120)"
    )
    synth.add_argument(
        "--size", type=_positive, default=64, metavar="PX", help="image side (default 64)"
    )
    synth.add_argument(
        "--seed", type=int, default=0, help="random seed (default 0); same seed, same data"
    )
    synth.add_argument(
        "--pair", action="store_true", help="write train_signs.h5 and test_signs.h5 as the seed has"
    )

    diff = _command(
        sub,
        "diff",
        "what changes between two models, and whether A's weights load into B",
        [common],
        description="Compare two models, each a spec, a generated module (.py) or a saved model "
        "(.keras): layers added, removed, renamed and changed, shapes, params, and whether "
        "every weight of A loads into B by layer name. Two specs are compared without "
        "TensorFlow. Exit 0 identical, 1 different, 2 error.",
    )
    diff.add_argument(
        "a", help="model A: a spec, a generated module (.py) or a saved model (.keras)"
    )
    diff.add_argument("b", nargs="?", help="model B (omitted with --against)")
    diff.add_argument(
        "--against",
        metavar="REV",
        help="compare spec A as it is at git revision REV (A) with the file as it is now (B)",
    )
    for flag, dest, which in (
        ("--set", "sets", "both sides"),
        ("--set-a", "sets_a", "A"),
        ("--set-b", "sets_b", "B"),
    ):
        diff.add_argument(
            flag,
            dest=dest,
            action="append",
            default=[],
            metavar="KEY=VALUE",
            help=f"override a param of {which}",
        )
    diff.add_argument(
        "--layers", action="store_true", help="also every changed layer, by stage and block"
    )
    diff.add_argument(
        "--format",
        choices=["text", "json"],
        default="text",
        help="text (default) or json (docs/diff.md)",
    )
    return parser


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a positive integer. Received: {text!r}"
        ) from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive integer. Received: {value}")
    return value


def parse_sets(pairs: list[str]) -> dict:
    """``["classes=10", "input_shape=[32,32,3]"]`` → {"classes": 10, ...} (YAML values)."""
    from archspec.frontend.loader import parse_value

    out = {}
    for pair in pairs:
        key, sep, text = pair.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"--set expects KEY=VALUE. Received: {pair!r}")
        try:
            out[key.strip()] = parse_value(text)
        except SpecError as exc:
            raise UsageError(
                f"--set {key}: the value is not valid YAML: {exc.problems[0].message}"
            ) from None
    return out


def _lower(args):
    from archspec.frontend.resolve import load

    return _lower_resolved(load(args.spec, parse_sets(args.sets)))


def _lower_resolved(resolved):
    from archspec.core.lowering import lower

    return lower(resolved)


def cmd_check(args) -> int:
    from archspec.analysis.summary import as_json, render

    graph = _lower(args)
    if args.format == "json":
        print(json.dumps(as_json(graph), indent=2))
    else:
        print(render(graph, layers=args.layers, color=sys.stdout.isatty()), end="")
    return 0


def cmd_build(args) -> int:
    from archspec.analysis.summary import render
    from archspec.backends.keras.build import build_model

    graph = _lower(args)
    model = build_model(graph)
    if args.output:
        from archspec.files import save_model

        save_model(model, args.output)
    print(render(graph, layers=args.layers, color=sys.stdout.isatty()), end="")
    if args.output:
        print(f"Saved {args.output}")
    return 0


def cmd_codegen(args) -> int:
    from archspec.backends.python import codegen as codegen

    specs = args.specs or codegen.discover()
    if not specs:
        raise UsageError("no specs given and none found under specs/")
    modules = codegen.plan(specs, args.output, args.style)
    if args.check:
        drift = codegen.check(modules, args.output, extras=not args.specs)
        for item in drift:
            print(f"{item.path.as_posix()}: {item.why}", file=sys.stderr)
        if drift:
            print(
                f"{len(drift)} generated module(s) out of date; run: archspec codegen",
                file=sys.stderr,
            )
            return 1
        print(f"{len(modules)} generated module(s) up to date")
        return 0
    written = codegen.write(modules)
    for path in written:
        print(f"wrote {path.as_posix()}")
    print(f"{len(modules)} module(s), {len(written)} changed")
    return 0


def cmd_graph(args) -> int:
    from archspec.analysis.draw import write

    path = write(_lower(args), args.output, layers=args.layers)
    print(f"wrote {path}")
    return 0


def cmd_render(args) -> int:
    from archspec.analysis.render import render_yaml
    from archspec.frontend.resolve import load

    resolved = load(args.spec, parse_sets(args.sets))
    _lower_resolved(resolved)  # a spec that does not lower is not rendered
    print(render_yaml(resolved), end="")
    return 0


def cmd_completion(args) -> int:
    from archspec.cli.completion import script

    print(script(_parser(), args.shell), end="")
    return 0


def cmd_schema(args) -> int:
    from pathlib import Path

    from archspec.analysis.json_schema import schemas
    from archspec.files import write_text

    stale = []
    for name, text in schemas().items():
        path = Path(args.output, name)
        current = path.read_text(encoding="utf-8") if path.is_file() else None
        if args.check:
            if current != text:
                stale.append(path)
                print(f"{path.as_posix()}: {'stale' if current else 'missing'}", file=sys.stderr)
        elif current != text:
            write_text(path, text)
            print(f"wrote {path.as_posix()}")
    return 1 if stale else 0


def cmd_train(args) -> int:
    from archspec.frontend.resolve import load
    from archspec.train.fit import train

    train(
        load(args.spec, parse_sets(args.sets)),
        args.data,
        epochs=args.epochs,
        batch_size=args.batch_size,
        strategy=args.strategy,
        output=args.output,
    )
    return 0


def cmd_evaluate(args) -> int:
    from archspec.train.fit import evaluate

    evaluate(args.model, args.data, params=parse_sets(args.sets), batch_size=args.batch_size)
    return 0


def cmd_data(args) -> int:
    from archspec.train.synthetic import write_synth_signs

    paths = write_synth_signs(
        args.output,
        train=args.train,
        test=args.test,
        size=args.size,
        seed=args.seed,
        pair=args.pair,
    )
    for path in paths:
        print(f"wrote {path.as_posix()}")
    print(
        f"{args.train} train and {args.test} test images of {args.size}x{args.size}x3, "
        "6 classes (hands raising 0 to 5 fingers)"
    )
    return 0


def cmd_diff(args) -> int:
    from archspec.analysis.diff.sources import diff

    if (args.b is None) == (args.against is None):
        raise UsageError("diff needs two models A and B, or one spec and --against REV")
    try:
        result = diff(
            args.a,
            args.b,
            against=args.against,
            params=parse_sets(args.sets),
            params_a=parse_sets(args.sets_a),
            params_b=parse_sets(args.sets_b),
        )
    except SpecError as exc:  # for diff an invalid spec is an error (2); 1 means "different"
        if args.traceback:
            traceback.print_exc()
        report(exc.problems, args.format)
        return 2
    if args.format == "json":
        print(json.dumps(result.as_json(), indent=2))
    else:
        print(result.render(layers=args.layers, color=sys.stdout.isatty()), end="")
    return result.exit_code


COMMANDS = {
    "check": cmd_check,
    "build": cmd_build,
    "codegen": cmd_codegen,
    "diff": cmd_diff,
    "graph": cmd_graph,
    "schema": cmd_schema,
    "render": cmd_render,
    "completion": cmd_completion,
    "train": cmd_train,
    "evaluate": cmd_evaluate,
    "data": cmd_data,
}


def report(problems, fmt: str) -> None:
    """Spec problems: ``PATH:LINE:COL: error: ...`` on stderr; with ``--format json`` a
    JSON list on stdout, with ``--format github`` also workflow annotations."""
    if fmt == "json":
        errors = [
            {
                "file": p.where.file,
                "line": p.where.line,
                "column": p.where.col,
                "path": format_path(p.where.path),
                "message": p.message,
            }
            for p in problems
        ]
        print(json.dumps({"errors": errors}, indent=2))
        return
    for problem in problems:
        print(problem, file=sys.stderr)
        if fmt == "github":
            where = problem.where
            message = str(problem).split(": error: ", 1)[-1]
            for old, new in (("%", "%25"), ("\r", "%0D"), ("\n", "%0A")):
                message = message.replace(old, new)
            print(f"::error file={where.file},line={where.line},col={where.col}::{message}")


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    show_traceback = "--traceback" in argv
    fmt = "text"
    saved_limits = vars(LIMITS).copy()
    try:
        args = _parser().parse_args(argv)
        fmt = getattr(args, "format", "text")
        if ENVIRONMENT_PROBLEMS:
            raise UsageError(ENVIRONMENT_PROBLEMS[0])
        for item in args.limit:
            name, _, value = item.partition("=")
            try:
                LIMITS.set(name.strip(), value.strip())
            except ValueError as exc:
                raise UsageError(f"--limit {item}: {exc}") from None
        return COMMANDS[args.command](args)
    except SpecError as exc:
        if show_traceback:
            traceback.print_exc()
        report(exc.problems, fmt)
        return 1
    except UsageError as exc:
        if show_traceback:
            traceback.print_exc()
        print(f"archspec: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except OSError as exc:  # an output that cannot be written: disk full, permissions
        if show_traceback:
            traceback.print_exc()
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"archspec: error: {where}{exc.strerror or exc}", file=sys.stderr)
        return 2
    except Exception as exc:  # a bug in archspec: say so plainly
        if show_traceback:
            traceback.print_exc()
        else:
            print(
                f"archspec: internal error: {type(exc).__name__}: {exc} (rerun with --traceback)",
                file=sys.stderr,
            )
        return 3
    finally:
        vars(LIMITS).update(
            saved_limits
        )  # --limit holds for this run only (main may run in-process)
