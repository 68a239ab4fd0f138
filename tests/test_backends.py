"""archspec on Keras 3's other backends: a spec built by archspec, and the module codegen
writes for it, under ``KERAS_BACKEND=jax`` and ``torch`` compute what they compute under
TensorFlow, to 1e-5, with the same weights. Each backend is skipped, with its reason,
where its package is not installed (``.ci/run`` installs PyTorch's CPU wheel where one
installs without a CUDA download)."""

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

IN_BACKEND = textwrap.dedent(
    """
    import os, sys
    import numpy as np
    import keras, archspec
    from archspec.backends.python.sharing import import_module
    from archspec.backends.keras.read import model_function
    assert keras.backend.backend() == os.environ["KERAS_BACKEND"], keras.backend.backend()
    for case in sys.argv[1:]:
        spec, module, data, out = case.split(",")
        saved = np.load(data)
        weights = [saved[f"w{i}"] for i in range(int(saved["count"]))]
        generated = model_function(import_module(module, "m" + str(abs(hash(module)))), module)()
        results = {}
        for name, model in (("build", archspec.build(spec)), ("module", generated)):
            model.set_weights(weights)
            results[name] = keras.ops.convert_to_numpy(model.predict(saved["x"], verbose=0))
        np.savez(out, **results)
    """
)


def _random_weights(model, rng) -> list:
    weights = [rng.normal(0, 0.05, w.shape).astype(w.dtype) for w in model.get_weights()]
    # batch-norm variances must stay positive
    return [np.abs(w) + 0.5 if "variance" in v.path else w for w, v in zip(weights, model.weights)]


BACKENDS = ["jax", "torch"]


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """Each spec's TensorFlow outputs, and the weights and inputs that gave them."""
    folder = tmp_path_factory.mktemp("backends")
    rng = np.random.default_rng(0)
    expected, cases = {}, {}
    for i, (spec, module) in enumerate(SPECS.items()):
        model = archspec.build(ROOT / spec)
        weights = _random_weights(model, rng)
        model.set_weights(weights)
        x = rng.normal(0, 1, (2, *model.input_shape[1:])).astype("float32")
        expected[spec] = np.asarray(model.predict(x, verbose=0))
        data = folder / f"in{i}.npz"
        np.savez(data, x=x, count=len(weights), **{f"w{j}": w for j, w in enumerate(weights)})
        cases[spec] = (f"{ROOT / spec},{ROOT / module},{data}", folder / f"{{backend}}{i}.npz")
    return expected, cases


@pytest.fixture(scope="module")
def under(reference):
    """``under(backend)``: each spec's outputs under that backend (built by archspec and by
    the generated module) with the TensorFlow run's weights, from one process."""
    expected, cases = reference
    results = {}

    def run(backend: str) -> dict:
        if backend not in results:
            outs = {spec: str(out).format(backend=backend) for spec, (_, out) in cases.items()}
            env = {**os.environ, "KERAS_BACKEND": backend, "PYTHONPATH": str(ROOT)}
            proc = subprocess.run(
                [
                    sys.executable,
                    "-c",
                    IN_BACKEND,
                    *(f"{c},{outs[s]}" for s, (c, _) in cases.items()),
                ],
                capture_output=True,
                text=True,
                env=env,
                cwd=ROOT,
                check=False,
            )
            assert proc.returncode == 0, proc.stderr[-3000:]
            results[backend] = {spec: (expected[spec], np.load(outs[spec])) for spec in cases}
        return results[backend]

    return run


@pytest.mark.keras
@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("spec", SPECS)
def test_other_backends_compute_what_tensorflow_computes(spec, backend, under):
    if importlib.util.find_spec(backend) is None:
        pytest.skip(f"{backend} is not installed")
    expected, got = under(backend)[spec]
    for name in ("build", "module"):
        difference = float(np.max(np.abs(got[name] - expected)))
        scale = float(np.max(np.abs(expected)))
        assert difference <= 1e-5 * max(1.0, scale), json.dumps(
            {"backend": backend, "which": name, "max difference": difference, "scale": scale}
        )
