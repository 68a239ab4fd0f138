"""The pooling and reshaping families against Keras itself: random arguments and input
shapes give the static shape Keras computes (or are refused by both), and specs that use
every new kind build, generate and read back as Keras's own layers."""

from __future__ import annotations

import importlib.util

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import archspec
from archspec.core.ops import OPS, ShapeError

# ---- strategies: a kind's arguments (as a spec writes them) and an input shape ----------

SIZE = st.one_of(st.none(), st.integers(1, 12))  # a spatial size, sometimes unknown
CHANNELS = st.integers(1, 4)


def _shape(rank: int):
    return st.tuples(*[SIZE] * rank, CHANNELS)


def _n_or_list(rank: int, lo: int, hi: int):
    """One int for all axes, or one per axis (as Keras's standardize_tuple takes them)."""
    return st.one_of(
        st.integers(lo, hi), st.lists(st.integers(lo, hi), min_size=rank, max_size=rank)
    )


def _pair_per_axis(rank: int, hi: int):
    """n, one n per axis, or per axis an int or a (before, after) pair."""
    entry = st.one_of(st.integers(0, hi), st.lists(st.integers(0, hi), min_size=2, max_size=2))
    return st.one_of(st.integers(0, hi), st.lists(entry, min_size=rank, max_size=rank))


def _maybe(**fields):
    """Each argument present or left to its default."""
    return st.fixed_dictionaries({}, optional=fields)


def _window(rank: int, required: bool):
    size = _n_or_list(rank, 1, 4)
    optional = _maybe(
        strides=st.one_of(st.none(), _n_or_list(rank, 1, 3)),
        padding=st.sampled_from(["valid", "same"]),
    )
    if required:
        return st.builds(lambda s, rest: {"pool_size": s, **rest}, size, optional)
    return st.builds(lambda s, rest: {**s, **rest}, _maybe(pool_size=size), optional)


def _permute():
    return st.builds(
        lambda dims: {"dims": list(dims)},
        st.integers(1, 4).flatmap(lambda r: st.permutations(range(1, r + 1))),
    )


GLOBAL = _maybe(keepdims=st.booleans())
# kind → (strategy of its arguments, the input's spatial rank); None: any rank (permute,
# identity, whose dims decide it) or a vector (repeat_vector).
CASES = {
    "max_pool": (_window(2, False), 2),
    "avg_pool": (_window(2, True), 2),  # archspec defaults it; Keras requires it
    "max_pooling1d": (_window(1, False), 1),
    "max_pooling3d": (_window(3, False), 3),
    "average_pooling1d": (_window(1, True), 1),
    "average_pooling3d": (_window(3, True), 3),
    "global_avg_pool": (GLOBAL, 2),
    "global_max_pool": (GLOBAL, 2),
    "global_average_pooling1d": (GLOBAL, 1),
    "global_average_pooling3d": (GLOBAL, 3),
    "global_max_pooling1d": (GLOBAL, 1),
    "global_max_pooling3d": (GLOBAL, 3),
    "zero_padding": (_maybe(padding=_pair_per_axis(2, 3)), 2),
    "zero_padding1d": (_maybe(padding=_n_or_list(2, 0, 3)), 1),
    "zero_padding3d": (_maybe(padding=_pair_per_axis(3, 3)), 3),
    "cropping1d": (_maybe(cropping=_n_or_list(2, 0, 5)), 1),
    "cropping2d": (_maybe(cropping=_pair_per_axis(2, 5)), 2),
    "cropping3d": (_maybe(cropping=_pair_per_axis(3, 5)), 3),
    "up_sampling1d": (_maybe(size=st.integers(1, 3)), 1),
    "up_sampling2d": (
        _maybe(size=_n_or_list(2, 1, 3), interpolation=st.sampled_from(["nearest", "bilinear"])),
        2,
    ),
    "up_sampling3d": (_maybe(size=_n_or_list(3, 1, 3)), 3),
    "permute": (_permute(), None),
    "repeat_vector": (st.builds(lambda n: {"n": n}, st.integers(1, 5)), None),
    "identity": (st.just({}), None),
}


def _input_shape(kind: str, args: dict, rank, data) -> tuple:
    if kind == "permute":
        return data.draw(st.tuples(*[SIZE] * len(args["dims"])))
    if kind == "repeat_vector":
        return data.draw(st.tuples(SIZE))
    if kind == "identity":
        return data.draw(st.lists(SIZE, min_size=1, max_size=4).map(tuple))
    return data.draw(_shape(rank))


def test_every_new_kind_is_compared():
    pooling = {
        k
        for k, op in OPS.items()
        if op.keras_class.endswith(("Pooling1D", "Pooling2D", "Pooling3D"))
    }
    assert pooling <= set(CASES)
    for cls in ("ZeroPadding", "Cropping", "UpSampling"):
        assert {k for k, op in OPS.items() if op.keras_class.startswith(cls)} <= set(CASES)


@pytest.mark.keras
@pytest.mark.parametrize("kind", sorted(CASES))
def test_static_shape_is_keras_shape(kind):
    import keras

    strategy, rank = CASES[kind]
    op = OPS[kind]

    @settings(max_examples=25, deadline=None)
    @given(args=strategy, data=st.data())
    def check(args, data):
        shape = _input_shape(kind, args, rank, data)
        validated = op.args.model_validate(args)
        layer = getattr(keras.layers, op.keras_class)(**args)
        try:
            ours = op.shape(validated, [shape])
        except ShapeError:
            # What archspec refuses at check time, Keras refuses too.
            with pytest.raises(ValueError):
                layer.compute_output_shape((None, *shape))
            return
        assert tuple(layer.compute_output_shape((None, *shape))) == (None, *ours)
        out = layer(keras.Input(shape=shape))
        assert tuple(out.shape) == (None, *ours)
        assert layer.count_params() == 0
        assert op.params(validated, [shape], ours) == (0, 0)
        assert op.macs(validated.model_dump(), [shape], ours) == 0
        # archspec's normalized arguments make the same layer as the spec's own
        normalized = getattr(keras.layers, op.keras_class)(**validated.model_dump())
        assert normalized.get_config() | {"name": ""} == layer.get_config() | {"name": ""}

    check()


# (kind, arguments Keras refuses, what that Keras layer is given)
REFUSED = [
    ("max_pooling1d", {"pool_size": 0}),
    ("average_pooling3d", {"pool_size": [2, 2]}),
    ("zero_padding3d", {"padding": [1, 1]}),
    ("zero_padding1d", {"padding": -1}),
    ("cropping2d", {"cropping": -1}),
    ("cropping3d", {"cropping": [1, [1, 2, 3], 0]}),
    ("up_sampling1d", {"size": 0}),
    ("up_sampling1d", {"size": [2]}),
    ("up_sampling3d", {"size": [2, 0, 2]}),
    ("permute", {"dims": [1, 3]}),
    ("permute", {"dims": [0, 1]}),
    ("repeat_vector", {"n": 0}),
    ("repeat_vector", {"n": True}),
]


@pytest.mark.keras
@pytest.mark.parametrize(("kind", "args"), REFUSED, ids=[f"{k}-{a}" for k, a in REFUSED])
def test_what_keras_refuses_is_refused_at_check_time(kind, args):
    import keras
    import pydantic

    with pytest.raises((ValueError, TypeError)):
        getattr(keras.layers, OPS[kind].keras_class)(**args)
    with pytest.raises(pydantic.ValidationError):
        OPS[kind].args.model_validate(args)


@pytest.mark.parametrize(
    ("kind", "args", "shape", "message"),
    [
        ("cropping1d", {"cropping": [2, 3]}, (5, 1), "crops 2 + 3 from an axis of size 5"),
        ("cropping3d", {}, (4, 2, 4, 1), "crops 1 + 1 from an axis of size 2"),
        ("average_pooling1d", {"pool_size": 4}, (3, 1), "does not fit an input of size 3"),
        ("max_pooling3d", {}, (4, 4, 1), "expects an input of shape (d1, d2, d3, channels)"),
        ("permute", {"dims": [2, 1]}, (4, 4, 1), "expects an input of 2 axes"),
        ("repeat_vector", {"n": 2}, (4, 4), "expects an input of shape (features,)"),
        ("up_sampling1d", {}, (4, 4, 1), "expects an input of shape (steps, channels)"),
    ],
)
def test_check_time_shape_errors(kind, args, shape, message):
    op = OPS[kind]
    with pytest.raises(ShapeError) as info:
        op.shape(op.args.model_validate(args), [shape])
    assert message in str(info.value)


def test_interpolation_is_checked():
    import pydantic

    args = OPS["up_sampling2d"].args
    assert args.model_validate({"interpolation": "Bilinear"}).interpolation == "bilinear"
    with pytest.raises(pydantic.ValidationError, match="'nearest', 'bilinear' or 'bicubic'"):
        args.model_validate({"interpolation": "lanczos3"})


def test_a_block_shadows_a_kind_of_its_name(write):
    # The seed's identity block, called as a layer item, is still the block beside
    # Keras's Identity; without the import, identity is the layer.
    block = write(
        """
        name: T
        imports: [resnet]
        input: {shape: [8, 8, 16]}
        layers:
          - identity: {f: 3, filters: [4, 4, 16]}
        """,
        "block.yaml",
    )
    assert len(archspec.lower(block).nodes) > 2
    layer = write("name: T\ninput: {shape: [8, 8, 16]}\nlayers: [identity]\n", "layer.yaml")
    assert [n.op for n in archspec.lower(layer).nodes] == ["input", "identity"]


# ---- specs that use every new kind ------------------------------------------------------

SPECS = {
    "one_d": """
        name: OneD
        input: {shape: [16, 4]}
        layers:
          - zero_padding1d: [1, 3]
          - cropping1d: {cropping: 2}
          - max_pooling1d: {pool_size: 3, strides: 1}
          - average_pooling1d: 2
          - up_sampling1d: 3
          - permute: [2, 1]
          - permute: {dims: [2, 1]}
          - identity
          - global_average_pooling1d
          - repeat_vector: 3
          - global_max_pooling1d: {keepdims: true}
          - flatten
        """,
    "two_d": """
        name: TwoD
        input: {shape: [12, 10, 3]}
        layers:
          - cropping2d: [[1, 2], 3]
          - up_sampling2d: {size: [2, 1], interpolation: bilinear}
          - up_sampling2d
          - max_pool: 2
          - flatten
        """,
    "three_d": """
        name: ThreeD
        input: {shape: [8, 6, 6, 2]}
        layers:
          - zero_padding3d: {padding: [1, [0, 2], 0]}
          - cropping3d
          - max_pooling3d
          - up_sampling3d: [2, 1, 2]
          - average_pooling3d: {pool_size: [1, 2, 2], padding: same}
          - global_average_pooling3d: {keepdims: true}
          - global_max_pooling3d
        """,
}

# The same models written with Keras itself: (class, arguments) per layer.
BY_HAND = {
    "one_d": [
        ("ZeroPadding1D", {"padding": (1, 3)}),
        ("Cropping1D", {"cropping": 2}),
        ("MaxPooling1D", {"pool_size": 3, "strides": 1}),
        ("AveragePooling1D", {"pool_size": 2}),
        ("UpSampling1D", {"size": 3}),
        ("Permute", {"dims": (2, 1)}),
        ("Permute", {"dims": (2, 1)}),
        ("Identity", {}),
        ("GlobalAveragePooling1D", {}),
        ("RepeatVector", {"n": 3}),
        ("GlobalMaxPooling1D", {"keepdims": True}),
        ("Flatten", {}),
    ],
    "two_d": [
        ("Cropping2D", {"cropping": ((1, 2), 3)}),
        ("UpSampling2D", {"size": (2, 1), "interpolation": "bilinear"}),
        ("UpSampling2D", {}),
        ("MaxPooling2D", {"pool_size": 2}),
        ("Flatten", {}),
    ],
    "three_d": [
        ("ZeroPadding3D", {"padding": (1, (0, 2), 0)}),
        ("Cropping3D", {}),
        ("MaxPooling3D", {}),
        ("UpSampling3D", {"size": (2, 1, 2)}),
        ("AveragePooling3D", {"pool_size": (1, 2, 2), "padding": "same"}),
        ("GlobalAveragePooling3D", {"keepdims": True}),
        ("GlobalMaxPooling3D", {}),
    ],
}


def _import(path):
    spec = importlib.util.spec_from_file_location(f"generated_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.keras
@pytest.mark.parametrize("name", sorted(SPECS))
def test_specs_build_generate_and_read_back(name, write, tmp_path):
    import keras
    from keras_compare import assert_same_model, assert_same_outputs

    from archspec.backends.keras.read import load_saved
    from archspec.backends.python.codegen import module_source

    path = write(SPECS[name], f"{name}.yaml")
    graph = archspec.lower(path)
    built = archspec.build(path)

    x = inputs = keras.Input(shape=graph.nodes[0].attrs["shape"])
    for cls, kwargs in BY_HAND[name]:
        x = getattr(keras.layers, cls)(**kwargs)(x)
    assert_same_model(built, keras.Model(inputs, x, name=built.name), names="explicit")
    # every kind of the spec is the one its Keras class reads back as
    assert {OPS[n.op].keras_class for n in graph.nodes[1:]} == {cls for cls, _ in BY_HAND[name]}

    for style, source in (
        ("structured", archspec.codegen(path)),
        ("flat", module_source(path, "flat")),
    ):
        target = tmp_path / f"{name}_{style}.py"
        target.write_text(source)
        generated = getattr(_import(target), built.name)()
        assert_same_model(generated, built, names="all")
        assert_same_outputs(generated, built, atol=1e-6)

    saved = tmp_path / f"{name}.keras"
    built.save(saved)
    back, _ = load_saved(saved)
    assert [(n.name, n.op, n.attrs, n.output_shape) for n in back.nodes] == [
        (n.name, n.op, n.attrs, n.output_shape) for n in graph.nodes
    ]
