"""A Keras model in the formats it is deployed in: SavedModel, TFLite and ONNX.

Each goes through the tool its runtime's makers provide: a SavedModel through Keras's
``model.export`` (the forward pass as the ``serve`` and ``serving_default`` signatures),
TFLite through TensorFlow's converter from that SavedModel (optionally with float16 or
dynamic-range int8 weights), ONNX through Keras's ``model.export(format="onnx")``, which
drives tf2onnx and patches it for numpy 2 (tf2onnx 1.17 still uses ``np.object``).
Every output is written beside its target and renamed into place, so a failed export
leaves nothing behind. This module imports TensorFlow only inside its functions.
"""

from __future__ import annotations

import importlib.util
import os
import tempfile
import warnings
from pathlib import Path

from archspec.backends.keras.quiet import before_keras
from archspec.backends.keras.read import SAVED_SUFFIXES, load_checked, short_message
from archspec.diagnostics import SpecError, UsageError, Where
from archspec.files import atomic_folder, atomic_path, check_output, check_output_folder

# format → the suffix its output must have ("" for the SavedModel folder)
FORMATS = {"savedmodel": "", "tflite": ".tflite", "onnx": ".onnx"}
QUANTIZATIONS = ("float16", "dynamic")
_EXTRA = "pip install 'archspec[export]'"


class ExportError(SpecError):
    """A model its converter cannot convert: ``SOURCE: error: cannot export to FMT: ...``
    (exit 1, as for a model the spec language cannot express)."""

    @classmethod
    def at_source(cls, source: str, fmt: str, exc: BaseException) -> ExportError:
        """The error for a conversion that failed, in one line, at the model's file."""
        return cls.of("export-error", Where(source), format=fmt, detail=short_message(exc))


def is_saved_model(source: str | os.PathLike) -> bool:
    """Whether a MODEL_OR_SPEC argument names a saved Keras file rather than a spec."""
    return Path(source).suffix.lower() in SAVED_SUFFIXES


def check_target(output: str | os.PathLike, fmt: str, quantize: str | None = None) -> Path:
    """Refuse a format, quantization or output that cannot be, before any model is
    built: a wrong suffix, an input of this run, a missing folder, or (for a SavedModel)
    an existing folder that is not a SavedModel; a missing converter."""
    if fmt not in FORMATS:
        raise UsageError(f"unknown export format '{fmt}'; expected one of {', '.join(FORMATS)}")
    if quantize is not None and (fmt != "tflite" or quantize not in QUANTIZATIONS):
        raise UsageError(
            f"--quantize {quantize}: only tflite is quantized, to {' or '.join(QUANTIZATIONS)}"
        )
    if fmt == "onnx" and importlib.util.find_spec("tf2onnx") is None:
        raise UsageError(f"exporting to onnx needs tf2onnx: {_EXTRA}")
    target = Path(output)
    suffix = FORMATS[fmt]
    if suffix:
        if target.suffix.lower() != suffix:
            raise UsageError(f"{target}: the output of --format {fmt} must be a {suffix} file")
        return check_output(target)
    check_output_folder(target)
    if target.is_dir() and any(target.iterdir()) and not (target / "saved_model.pb").is_file():
        raise UsageError(
            f"{target}: is a folder that is not a SavedModel (no saved_model.pb); "
            "choose another output"
        )
    return target


def load_source(source: str | os.PathLike, params: dict | None = None, lower=None):
    """The ``keras.Model`` to export: a saved file (checked before Keras reads it), or a
    spec's freshly built model, ``lower(source, params)`` giving its graph (the caller's
    front end: a backend does not read specs)."""
    if is_saved_model(source):
        if params:
            raise UsageError("--set applies to specs; a saved model's params are fixed")
        return load_checked(source)
    from archspec.backends.keras.build import build_model

    return build_model(lower(source, params or {}))


def export(
    model, fmt: str, output: str | os.PathLike, *, quantize: str | None = None, source: str = ""
) -> Path:
    """Write ``model`` as ``fmt`` (``savedmodel``, ``tflite``, ``onnx``) to ``output``: a
    folder for a SavedModel, a file otherwise. ``source`` names the model in errors."""
    target = check_target(output, fmt, quantize)
    source = source or model.name
    if fmt == "savedmodel":
        with atomic_folder(target) as tmp:
            _saved_model(model, tmp, source)
    elif fmt == "tflite":
        data = _tflite(model, quantize, source)
        with atomic_path(target, suffix=".tflite") as tmp:
            tmp.write_bytes(data)
    else:
        with atomic_path(target, suffix=".onnx") as tmp:
            _onnx(model, tmp, source)
    return target


def _onnx(model, path: Path, source: str) -> None:
    before_keras()
    try:
        with warnings.catch_warnings():
            # Keras's numpy 2 patch of tf2onnx tests for np.object, which numpy warns of
            warnings.filterwarnings("ignore", "In the future `np.object`", FutureWarning)
            # the signature from the model's inputs: Keras asks for one from a model
            # that was never called, as a freshly built or loaded one is not
            model.export(str(path), format="onnx", verbose=False, input_signature=[model.input])
    except Exception as exc:  # noqa: BLE001 - tf2onnx raises many kinds
        raise ExportError.at_source(source, "onnx", exc) from None


def _saved_model(model, folder: Path, source: str) -> None:
    before_keras()
    try:
        model.export(str(folder), format="tf_saved_model", verbose=False)
    except Exception as exc:  # noqa: BLE001 - tracing a model can fail in many ways
        raise ExportError.at_source(source, "savedmodel", exc) from None


def _tflite(model, quantize: str | None, source: str) -> bytes:
    """The TFLite flatbuffer, converted from a SavedModel in a temporary folder (the
    converter's route for Keras 3 models)."""
    with tempfile.TemporaryDirectory(prefix="archspec-export-") as folder:
        _saved_model(model, Path(folder, "model"), source)
        import tensorflow as tf

        try:
            converter = tf.lite.TFLiteConverter.from_saved_model(str(Path(folder, "model")))
            if quantize:  # dynamic: int8 weights, float activations
                converter.optimizations = [tf.lite.Optimize.DEFAULT]
            if quantize == "float16":
                converter.target_spec.supported_types = [tf.float16]
            return converter.convert()
        except Exception as exc:  # noqa: BLE001 - the converter raises many kinds
            raise ExportError.at_source(source, "tflite", exc) from None
