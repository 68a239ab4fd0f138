"""The command line's grammar: every command, its options and examples (argparse).

The parser raises ``UsageError`` instead of exiting, so ``main`` owns every exit code.
"""

from __future__ import annotations

import argparse
import re

from archspec._version import __version__
from archspec.diagnostics import SpecError, UsageError, close_match

# Each command's examples, shown in its --help; the first of each also in archspec --help.
EXAMPLES = {
    "check": [
        "archspec check specs/resnet50.yaml --set classes=10 --layers",
        "archspec check specs/resnet50.yaml --depth 2 --dtype float16",
    ],
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
    "lsp": [
        "archspec lsp    # an editor starts it; it speaks LSP on stdin/stdout (docs/editor.md)"
    ],
    "completion": ['eval "$(archspec completion bash)"    # in ~/.bashrc'],
    "train": [
        "archspec train specs/resnet50.yaml --data signs.h5 --epochs 2 -o resnet50.keras",
        "archspec train specs/resnet50.yaml --data data/ --strategy mirrored    # every GPU, else every CPU device",
        "archspec train specs/resnet50.yaml --data signs.h5 --epochs 4 --resume resnet50.run    # two more epochs",
    ],
    "evaluate": [
        "archspec evaluate resnet50.keras --data signs.h5",
        "archspec evaluate specs/resnet50.yaml --data signs.h5",
    ],
    "export": [
        "archspec export resnet50.keras --format onnx -o resnet50.onnx",
        "archspec export specs/resnet50.yaml --format tflite --quantize float16 -o resnet50.tflite",
        "archspec export specs/resnet50.yaml --format savedmodel -o resnet50/",
    ],
    "data": [
        "archspec data synth-signs -o signs.h5    # 1080 train, 120 test images, 6 classes",
        "archspec data digits -o digits.h5    # scikit-learn's handwritten digits, 32x32",
    ],
    "synth-signs": [
        "archspec data synth-signs -o signs.h5    # 1080 train, 120 test images, 6 classes",
        "archspec data synth-signs --pair -o data/    # data/train_signs.h5, data/test_signs.h5",
    ],
    "digits": [
        "archspec data digits -o digits.h5    # 1437 train, 360 test images of 32x32x1, 10 classes",
        "archspec data digits --size 16 --channels 3 -o digits.h5",
    ],
}
_DATA_COMMANDS = ("synth-signs", "digits")  # under `data`: not in archspec --help's examples


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        raise UsageError(message + self._suggestion(message))

    def _suggestion(self, message: str) -> str:
        """ "; did you mean 'check'?" for a misspelt command or option."""
        choice = re.match(r"argument \S+: invalid choice: '([^']*)'", message)
        if choice:
            commands = [c for a in self._subparsers_actions() for c in a.choices]
            return close_match(choice[1], commands)
        unknown = re.match(r"unrecognized arguments: (\S+)", message)
        if unknown and unknown[1].startswith("-"):
            return close_match(unknown[1].partition("=")[0], self._all_options())
        return ""

    def _subparsers_actions(self) -> list:
        return [a for a in self._actions if isinstance(a, argparse._SubParsersAction)]

    def _all_options(self) -> set[str]:
        """Every option string of this parser and of its commands (an unrecognized
        argument is reported by the top parser, whatever command it followed)."""
        options = set(self._option_string_actions)
        for action in self._subparsers_actions():
            for parser in action.choices.values():
                options |= parser._all_options()
        return options


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


def _common(before_command: bool) -> argparse.ArgumentParser:
    """The options every command takes, before or after its name. A subcommand's
    defaults would overwrite what was given before it, so there flags default to nothing
    and ``--limit`` has a destination of its own."""
    common = _Parser(add_help=False)
    flag = {"default": False} if before_command else {"default": argparse.SUPPRESS}
    common.add_argument(
        "--traceback", action="store_true", help="show Python tracebacks on errors", **flag
    )
    common.add_argument(
        "--verbose",
        action="store_true",
        help="let TensorFlow print its own log lines (quiet by default)",
        **flag,
    )
    common.add_argument(
        "--limit",
        dest="limit_before_command" if before_command else "limit",
        action="append",
        default=[],
        metavar="NAME=N",
        help="raise one of archspec's safety limits for this run (see docs/errors.md)",
    )
    return common


def build_parser() -> argparse.ArgumentParser:
    """The ``archspec`` parser with all its subcommands."""
    common = _common(before_command=False)
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
            [examples[0] for name, examples in EXAMPLES.items() if name not in _DATA_COMMANDS]
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
        parents=[_common(before_command=True)],
    )
    parser.add_argument("--version", action="version", version=f"archspec {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    _spec_commands(sub, static)
    _tool_commands(sub, common)
    _data_commands(sub, common, static)
    _diff_command(sub, common)
    _export_command(sub, common)
    return parser


def _spec_commands(sub, static: list[argparse.ArgumentParser]) -> None:
    """The commands that read one spec: check, build, graph, render."""
    check = _command(sub, "check", "validate a spec and print its summary (no TensorFlow)", static)
    _summary_options(check)
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
    _summary_options(build)

    graph = _command(sub, "graph", "draw the architecture with Graphviz (no TensorFlow)", static)
    graph.add_argument("-o", "--output", required=True, help="FILE.svg, .png, .pdf or .dot")
    graph.add_argument("--layers", action="store_true", help="every layer, blocks as clusters")

    _command(
        sub,
        "render",
        "print the spec with extends, imports, params and defaults applied (YAML)",
        static,
    )


def _summary_options(command: argparse.ArgumentParser) -> None:
    """How check and build print the summary."""
    view = command.add_mutually_exclusive_group()
    view.add_argument("--layers", action="store_true", help="one row per layer")
    view.add_argument(
        "--depth",
        type=_positive,
        metavar="N",
        help="nested view to N levels: 1 stages, 2 their blocks (and the stem's and head's "
        "layers), 3 the blocks' layers (or nested blocks), ...",
    )
    command.add_argument(
        "--dtype",
        choices=["float32", "float16", "bfloat16", "float64"],
        default="float32",
        help="the value type of parameter and activation memory (default float32)",
    )


def _tool_commands(sub, common: argparse.ArgumentParser) -> None:
    """Completion, the editor schema and code generation."""
    completion = _command(
        sub, "completion", "print a shell completion script (bash or zsh)", [common]
    )
    completion.add_argument("shell", choices=["bash", "zsh"])

    _command(
        sub,
        "lsp",
        "run the language server on stdio: diagnostics, hover, definitions (needs archspec[lsp])",
        [common],
    )

    schema = _command(
        sub, "schema", "write the JSON Schema of the spec language, for editors", [common]
    )
    schema.add_argument(
        "-o", "--output", default="schema", help="output directory (default: schema/)"
    )
    schema.add_argument("--check", action="store_true", help="exit 1 if the files there are stale")
    schema.add_argument(
        "--plugins",
        action="store_true",
        help="know the installed plugins' layer kinds too (a schema for this machine)",
    )

    codegen = _command(
        sub, "codegen", "generate Python modules from specs (no TensorFlow)", [common]
    )
    codegen.add_argument(
        "specs",
        nargs="*",
        help="spec files (default: every spec under specs/, or [tool.archspec] specs)",
    )
    codegen.add_argument(
        "-o",
        "--output",
        help="output directory (default: generated/, or [tool.archspec] generated)",
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


def _data_commands(
    sub, common: argparse.ArgumentParser, static: list[argparse.ArgumentParser]
) -> None:
    """Training and evaluating on HDF5 data, and making data sets."""
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
    train.add_argument(
        "--run-dir",
        metavar="DIR",
        help="keep the run's record here: history, curves, checkpoints, summary "
        "(default: beside the output, OUTPUT_NAME.run/)",
    )
    train.add_argument(
        "--resume",
        metavar="RUN_DIR",
        help="continue the run in RUN_DIR from its last checkpoint, optimizer state included",
    )
    train.add_argument(
        "--tensorboard",
        action="store_true",
        help="also write TensorBoard logs into RUN_DIR/tensorboard (as training.tensorboard)",
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
    _digits_command(data_sub, common)


def _digits_command(data_sub, common: argparse.ArgumentParser) -> None:
    digits = _command(
        data_sub,
        "digits",
        "scikit-learn's 8x8 handwritten digits, resized, in the seed's HDF5 layout",
        [common],
    )
    digits.add_argument("-o", "--output", required=True, help="the .h5 file")
    digits.add_argument(
        "--size", type=_positive, default=32, metavar="PX", help="image side (default 32)"
    )
    digits.add_argument(
        "--channels",
        type=int,
        choices=[1, 3],
        default=1,
        help="1 (default, grey) or 3 (the grey level in each)",
    )
    digits.add_argument(
        "--test", type=_positive, default=360, metavar="N", help="test images (default 360)"
    )
    digits.add_argument(
        "--seed", type=int, default=0, help="seed of the split (default 0); same seed, same data"
    )


def _export_command(sub, common: argparse.ArgumentParser) -> None:
    export = _command(
        sub,
        "export",
        "write a saved model or a spec's model as a SavedModel, TFLite or ONNX",
        [common],
    )
    export.add_argument(
        "model", metavar="MODEL_OR_SPEC", help="a saved model (.keras, .h5), or a spec (YAML)"
    )
    export.add_argument(
        "--format",
        required=True,
        choices=["savedmodel", "tflite", "onnx"],
        help="savedmodel (a folder), tflite or onnx (needs archspec[export])",
    )
    export.add_argument(
        "-o",
        "--output",
        required=True,
        help="a folder for savedmodel, FILE.tflite or FILE.onnx",
    )
    export.add_argument(
        "--quantize",
        choices=["float16", "dynamic"],
        help="tflite only: float16 weights, or int8 weights with float activations",
    )
    export.add_argument(
        "--set",
        dest="sets",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a spec param",
    )


def _diff_command(sub, common: argparse.ArgumentParser) -> None:
    diff = _command(
        sub,
        "diff",
        "what changes between two models, and whether A's weights load into B",
        [common],
        description="Compare two models, each a spec, a generated module (.py) or a saved model "
        "(.keras): layers added, removed, renamed and changed, shapes, params, and whether "
        "every weight of A loads into B by layer name. Two specs are compared without "
        "TensorFlow; a generated module is compared through the spec its header names, "
        "without running it (--execute runs it). Exit 0 identical, 1 different, 2 error.",
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
        "--execute",
        action="store_true",
        help="import a .py model and call its model function: this RUNS the file's code, so "
        "use it only on files you trust. Without it a .py must be a module archspec "
        "generated, and its spec is compared",
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
