"""archspec export: each format is run by its own runtime (TensorFlow's SavedModel
loader, the TFLite interpreter, onnxruntime) and must compute what Keras computes with
the model it came from; and its outputs are checked before any model is built."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import warnings

import numpy as np
import pytest

from archspec.cli.main import main

# 16×16×3, a conv, a pool and a dense layer; seeded initializers, so that a spec builds
# the same weights every time (the spec route is compared with archspec.build)
TINY = """\
name: TinyNet
params: {input_shape: [16, 16, 3], classes: 5}
input: {shape: "{{ input_shape }}", name: image}
defaults:
  conv2d: {kernel_initializer: {glorot_uniform: {seed: 1}}, bias_initializer: {random_normal: {seed: 2}}}
  dense: {kernel_initializer: {glorot_uniform: {seed: 3}}}
layers:
  - conv2d: {filters: 8, kernel_size: 3, padding: same, activation: relu}
  - max_pool
  - flatten
  - dense: {units: "{{ classes }}", activation: softmax}
"""
# float32 conversions: the same arithmetic in another order (Keras measured 7e-8)
EXACT = 1e-5
# float16 weights: each weight rounded to 11 significant bits (relative error 2**-11),
# on softmax outputs in [0, 1]
FLOAT16 = 2e-3
# dynamic range: int8 weights (a 255-step scale per tensor), float activations
DYNAMIC = 3e-2


@pytest.fixture
def run(tmp_path, monkeypatch, capsys):
    def go(*args: str):
        monkeypatch.chdir(tmp_path)
        code = main(list(args))
        out = capsys.readouterr()
        return code, out.out, out.err

    return go


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """The tiny spec, a .keras file of its model, that model's outputs on a batch."""
    import keras

    import archspec

    folder = tmp_path_factory.mktemp("export")
    spec = folder / "tiny.yaml"
    spec.write_text(TINY, encoding="utf-8")
    model = archspec.build(str(spec))
    # random biases too: zero ones would hide an input wired to the wrong place
    model.set_weights(
        [w + np.random.default_rng(4).normal(0, 0.1, w.shape) for w in model.get_weights()]
    )
    model.save(folder / "tiny.keras")
    x = np.random.default_rng(0).random((4, 16, 16, 3), dtype=np.float32)
    reloaded = keras.models.load_model(folder / "tiny.keras")
    return folder, x, np.asarray(reloaded(x))


def _tflite(path, x) -> np.ndarray:
    import tensorflow as tf

    with warnings.catch_warnings():  # TF 2.21 points to ai_edge_litert; this one still runs
        warnings.simplefilter("ignore")
        interpreter = tf.lite.Interpreter(model_path=str(path))
    (given,) = interpreter.get_input_details()
    interpreter.resize_tensor_input(given["index"], x.shape)  # saved with batch 1
    interpreter.allocate_tensors()
    interpreter.set_tensor(given["index"], x)
    interpreter.invoke()
    return interpreter.get_tensor(interpreter.get_output_details()[0]["index"])


@pytest.mark.keras
def test_savedmodel_serves_what_keras_computes(saved, tmp_path, capsys):
    import tensorflow as tf

    folder, x, expected = saved
    target = tmp_path / "tiny"
    for _ in range(2):  # the second export replaces the first SavedModel
        assert (
            main(
                ["export", str(folder / "tiny.keras"), "--format", "savedmodel", "-o", str(target)]
            )
            == 0
        )
    assert f"wrote {target.as_posix()} (savedmodel)" in capsys.readouterr().out
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tiny"]  # nothing left beside it
    serve = tf.saved_model.load(str(target)).signatures["serving_default"]
    (name,) = serve.structured_input_signature[1]
    assert name == "image"  # the spec's input name is the signature's argument
    (got,) = serve(image=tf.constant(x)).values()
    np.testing.assert_allclose(got.numpy(), expected, atol=EXACT)


@pytest.mark.keras
def test_tflite_interpreter_computes_what_keras_computes(saved, tmp_path):
    folder, x, expected = saved
    sizes = {}
    for quantize, bound in ((None, EXACT), ("float16", FLOAT16), ("dynamic", DYNAMIC)):
        target = tmp_path / f"tiny-{quantize}.tflite"
        args = ["--quantize", quantize] if quantize else []
        assert (
            main(
                [
                    "export",
                    str(folder / "tiny.keras"),
                    "--format",
                    "tflite",
                    *args,
                    "-o",
                    str(target),
                ]
            )
            == 0
        )
        got = _tflite(target, x)
        np.testing.assert_allclose(got, expected, atol=bound, err_msg=str(quantize))
        sizes[quantize] = target.stat().st_size
    # the dense kernel (2,560 weights) dominates: half the bytes in float16, a quarter in int8
    assert sizes["float16"] < 0.7 * sizes[None] and sizes["dynamic"] < 0.5 * sizes[None], sizes


@pytest.mark.keras
def test_onnxruntime_computes_what_keras_computes(saved, tmp_path):
    import onnxruntime

    folder, x, expected = saved
    target = tmp_path / "tiny.onnx"
    assert main(["export", str(folder / "tiny.keras"), "--format", "onnx", "-o", str(target)]) == 0
    session = onnxruntime.InferenceSession(str(target), providers=["CPUExecutionProvider"])
    (given,) = session.get_inputs()
    assert given.name == "image" and given.shape[1:] == [16, 16, 3]
    (got,) = session.run(None, {"image": x})
    np.testing.assert_allclose(got, expected, atol=EXACT)


@pytest.mark.keras
def test_a_spec_is_built_with_its_overrides(saved, tmp_path):
    import onnxruntime

    import archspec

    folder, x, _ = saved
    target = tmp_path / "three.onnx"
    args = ["export", str(folder / "tiny.yaml"), "--set", "classes=3", "--format", "onnx"]
    assert main([*args, "-o", str(target)]) == 0
    expected = np.asarray(archspec.build(str(folder / "tiny.yaml"), classes=3)(x))
    session = onnxruntime.InferenceSession(str(target), providers=["CPUExecutionProvider"])
    (got,) = session.run(None, {"image": x})
    assert got.shape == (4, 3)
    np.testing.assert_allclose(got, expected, atol=EXACT)


@pytest.mark.keras
def test_a_failed_conversion_is_one_line_at_exit_1(saved, tmp_path, monkeypatch, capsys):
    import keras

    folder, _, _ = saved

    def refuse(self, *args, **kwargs):
        raise ValueError("Unsupported ops: FancyOp\nfull trace follows")

    monkeypatch.setattr(keras.Model, "export", refuse)
    target = tmp_path / "tiny.onnx"
    code = main(["export", str(folder / "tiny.keras"), "--format", "onnx", "-o", str(target)])
    err = capsys.readouterr().err
    assert code == 1
    assert (
        err
        == f"{folder / 'tiny.keras'}: error: cannot export to onnx: ValueError: Unsupported ops: FancyOp\n"
    )
    assert list(tmp_path.iterdir()) == []  # no partial file


# ---- checks before any model is built (no TensorFlow) ----------------------------------------


def test_outputs_are_checked_first(run, tmp_path):
    (tmp_path / "tiny.yaml").write_text(TINY, encoding="utf-8")
    (tmp_path / "plain").mkdir()
    (tmp_path / "plain" / "notes.txt").write_text("mine")
    (tmp_path / "inside").mkdir()
    (tmp_path / "inside" / "tiny.yaml").write_text(TINY, encoding="utf-8")
    cases = [
        (
            ["tiny.yaml", "--format", "savedmodel", "-o", "tiny.yaml"],
            "refusing to write over an input",
        ),
        (
            ["tiny.yaml", "--format", "tflite", "-o", "no/tiny.tflite"],
            "there is no folder no (create it first)",
        ),
        (
            ["tiny.yaml", "--format", "savedmodel", "-o", "no/tiny"],
            "there is no folder no (create it first)",
        ),
        (
            ["tiny.yaml", "--format", "onnx", "-o", "tiny.tflite"],
            "the output of --format onnx must be a .onnx file",
        ),
        (
            ["tiny.yaml", "--format", "onnx", "--quantize", "float16", "-o", "t.onnx"],
            "only tflite is quantized",
        ),
        (
            ["tiny.yaml", "--format", "savedmodel", "-o", "plain"],
            "is a folder that is not a SavedModel",
        ),
        (
            ["inside/tiny.yaml", "--format", "savedmodel", "-o", "inside"],
            "holds an input of this command",
        ),
        (
            ["tiny.keras", "--set", "classes=3", "--format", "onnx", "-o", "t.onnx"],
            "--set applies to specs",
        ),
    ]
    for args, fragment in cases:
        code, _, err = run("export", *args)
        assert code == 2 and fragment in err and err.count("\n") == 1, (args, err)
    assert (tmp_path / "plain" / "notes.txt").read_text() == "mine"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["inside", "plain", "tiny.yaml"]


def test_a_missing_tf2onnx_names_the_extra(run, tmp_path, monkeypatch):
    (tmp_path / "tiny.yaml").write_text(TINY, encoding="utf-8")
    monkeypatch.setitem(sys.modules, "tf2onnx", None)  # import machinery: "not installed"
    code, _, err = run("export", "tiny.yaml", "--format", "onnx", "-o", "t.onnx")
    assert code == 2
    assert (
        err == "archspec: error: exporting to onnx needs tf2onnx: pip install 'archspec[export]'\n"
    )


def test_refusals_import_no_tensorflow(tmp_path):
    spec = tmp_path / "tiny.yaml"
    spec.write_text(TINY, encoding="utf-8")
    code = textwrap.dedent(
        f"""
        import sys
        from archspec.cli.main import main
        assert main(["export", {str(spec)!r}, "--format", "onnx", "-o", {str(spec)!r}]) == 2
        assert not [m for m in ("tensorflow", "keras", "tf2onnx") if m in sys.modules]
        """
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=tmp_path)
