"""archspec on Keras 3's other backends: a spec built by archspec, and the module codegen
writes for it, under ``KERAS_BACKEND=jax`` compute what they compute under TensorFlow,
to 1e-5, with the same weights. (PyTorch is documented, not tested here: its CPU wheel
is too large to install in CI's time.)"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from conftest import ROOT

import archspec

# the seed's ResNet-50 (convolutions, batch norm, pooling, merges); a ViT (attention,
# layer norm, an embedding layer of archspec's own)
SPECS = {
    "specs/resnet50.yaml": "generated/resnet50.py",
    "specs/examples/vit.yaml": "generated/examples/vit.py",
}

IN_JAX = textwrap.dedent(
    """
    import sys
    import numpy as np
    import keras, archspec
    from archspec.backends.python.sharing import import_module
    from archspec.backends.keras.read import model_function
    assert keras.backend.backend() == "jax", keras.backend.backend()
    for case in sys.argv[1:]:
        spec, module, data, out = case.split(",")
        saved = np.load(data)
        weights = [saved[f"w{i}"] for i in range(int(saved["count"]))]
        generated = model_function(import_module(module, "m" + str(abs(hash(module)))), module)()
        results = {}
        for name, model in (("build", archspec.build(spec)), ("module", generated)):
            model.set_weights(weights)
            results[name] = np.asarray(model.predict(saved["x"], verbose=0))
        np.savez(out, **results)
    """
)


def _random_weights(model, rng) -> list:
    weights = [rng.normal(0, 0.05, w.shape).astype(w.dtype) for w in model.get_weights()]
    # batch-norm variances must stay positive
    return [np.abs(w) + 0.5 if "variance" in v.path else w for w, v in zip(weights, model.weights)]


@pytest.fixture(scope="module")
def under_jax(tmp_path_factory):
    """Each spec's TensorFlow outputs, and its outputs under JAX (built by archspec and
    by the generated module) with the same weights, from one JAX process."""
    folder = tmp_path_factory.mktemp("backends")
    rng = np.random.default_rng(0)
    expected, cases = {}, []
    for i, (spec, module) in enumerate(SPECS.items()):
        model = archspec.build(ROOT / spec)
        weights = _random_weights(model, rng)
        model.set_weights(weights)
        x = rng.normal(0, 1, (2, *model.input_shape[1:])).astype("float32")
        expected[spec] = np.asarray(model.predict(x, verbose=0))
        data, out = folder / f"in{i}.npz", folder / f"out{i}.npz"
        np.savez(data, x=x, count=len(weights), **{f"w{j}": w for j, w in enumerate(weights)})
        cases.append((spec, f"{ROOT / spec},{ROOT / module},{data},{out}", out))
    env = {**os.environ, "KERAS_BACKEND": "jax", "PYTHONPATH": str(ROOT)}
    proc = subprocess.run(
        [sys.executable, "-c", IN_JAX, *(c[1] for c in cases)],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return {spec: (expected[spec], np.load(out)) for spec, _, out in cases}


@pytest.mark.keras
@pytest.mark.skipif(importlib.util.find_spec("jax") is None, reason="jax is not installed")
@pytest.mark.parametrize("spec", SPECS)
def test_jax_computes_what_tensorflow_computes(spec, under_jax):
    expected, got = under_jax[spec]
    for name in ("build", "module"):
        difference = float(np.max(np.abs(got[name] - expected)))
        scale = float(np.max(np.abs(expected)))
        assert difference <= 1e-5 * max(1.0, scale), json.dumps(
            {"which": name, "max difference": difference, "scale": scale}
        )
