"""``archspec lsp``, driven over stdio by pytest-lsp's client as an editor would drive it."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import pytest
import pytest_lsp
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient

ROOT = Path(__file__).resolve().parent.parent
RESNET50 = ROOT / "specs" / "resnet50.yaml"
RESNET_BLOCKS = ROOT / "archspec" / "blocks" / "resnet.yaml"

# This checkout's archspec, whatever the environment has installed
ENV = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}


@pytest_lsp.fixture(
    config=ClientServerConfig(
        server_command=[sys.executable, "-m", "archspec", "lsp"], server_env=ENV
    )
)
async def client(lsp_client: LanguageClient):
    params = types.InitializeParams(capabilities=types.ClientCapabilities())
    await lsp_client.initialize_session(params)
    yield
    await lsp_client.shutdown_session()


async def diagnostics(client: LanguageClient, *uris: str, until=None, timeout: float = 30):
    """Wait until the server has published diagnostics for every uri (since the last
    ``client.diagnostics.clear()``), and ``until(client.diagnostics)`` holds if given."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout

    def done() -> bool:
        found = client.diagnostics
        return all(u in found for u in uris) and (until is None or until(found))

    while not done():
        assert loop.time() < deadline, f"no diagnostics for {uris}"
        try:
            await asyncio.wait_for(
                client.wait_for_notification(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS), 0.5
            )
        except TimeoutError:
            pass
    return [client.diagnostics[u] for u in uris]


def open_doc(client: LanguageClient, path: Path, text: str | None = None) -> str:
    uri = path.as_uri()
    text = path.read_text() if text is None else text
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(
            types.TextDocumentItem(uri=uri, language_id="yaml", version=1, text=text)
        )
    )
    return uri


GOOD = """\
name: Tiny
input: {shape: [8, 8, 3]}
layers:
  - conv2d: {filters: 4, kernel_size: 3}
  - flatten
"""
# line 4 (0-based 3), the kind at column 5 (0-based 4)
BROKEN = GOOD.replace("conv2d:", "conv2q:")


@pytest.mark.asyncio
async def test_diagnostics_on_the_unsaved_text_and_cleared_after_a_fix(client, tmp_path):
    path = (tmp_path / "tiny.yaml").resolve()
    path.write_text(GOOD)  # on disk it is fine; the editor's text is not
    client.diagnostics.clear()
    uri = open_doc(client, path, BROKEN)
    [found] = await diagnostics(client, uri)
    assert len(found) == 1
    assert found[0].code == "unknown-kind"
    assert found[0].source == "archspec"
    assert found[0].range.start == types.Position(line=3, character=4)
    assert "conv2q" in found[0].message

    client.diagnostics.clear()
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            types.VersionedTextDocumentIdentifier(version=2, uri=uri),
            [types.TextDocumentContentChangeWholeDocument(text=GOOD)],
        )
    )
    [cleared] = await diagnostics(client, uri)
    assert list(cleared) == []


@pytest.mark.asyncio
async def test_a_library_problem_is_published_for_the_library(client, tmp_path):
    lib = (tmp_path / "lib.yaml").resolve()
    # line 3 (0-based 2): a block key that the schema does not know
    lib.write_text("blocks:\n  twice:\n    layerz: [relu, relu]\n")
    spec = tmp_path / "spec.yaml"
    spec.write_text(GOOD.replace("layers:", "imports: [./lib.yaml]\nlayers:"))
    client.diagnostics.clear()
    uri = open_doc(client, spec.resolve())
    found_spec, found_lib = await diagnostics(client, uri, lib.as_uri())
    assert list(found_spec) == []
    assert [d.code for d in found_lib] == ["unknown-key"]
    assert found_lib[0].range.start.line == 2


@pytest.mark.asyncio
async def test_an_open_library_is_checked_and_its_edits_reach_its_specs(client, tmp_path):
    lib = (tmp_path / "lib.yaml").resolve()
    lib.write_text("blocks:\n  twice:\n    layers: [relu, batch_norm]\n")
    spec = (tmp_path / "spec.yaml").resolve()
    spec.write_text(
        GOOD.replace("  - flatten", "  - twice\n  - flatten").replace(
            "layers:", "imports: [./lib.yaml]\nlayers:"
        )
    )
    client.diagnostics.clear()
    spec_uri, lib_uri = open_doc(client, spec), open_doc(client, lib)
    assert [list(d) for d in await diagnostics(client, spec_uri, lib_uri)] == [[], []]

    client.diagnostics.clear()
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(version=2, uri=lib_uri),
            content_changes=[
                types.TextDocumentContentChangeWholeDocument(
                    text="blocks:\n  twice:\n    layers: [relu, batch_nrom]\n"
                )
            ],
        )
    )
    # the library alone is valid to its schema; the spec that calls it finds the kind,
    # which is shown on the library
    _, found = await diagnostics(client, spec_uri, lib_uri, until=lambda d: d[lib_uri])
    assert [d.code for d in found] == ["unknown-kind"]
    column = "    layers: [relu, batch_nrom]".index("batch_nrom")
    assert found[0].range.start == types.Position(line=2, character=column)


@pytest.mark.asyncio
async def test_hover_on_a_layer_line_gives_its_shape(client):
    import archspec

    uri = open_doc(client, RESNET50)
    await diagnostics(client, uri)
    line = (
        RESNET50.read_text()
        .splitlines()
        .index("  - conv2d: {filters: 64, kernel_size: 7, strides: 2, name: conv1}")
    )
    hover = await client.text_document_hover_async(
        types.HoverParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            position=types.Position(line=line, character=8),
        )
    )
    # 64x64 padded by 3 to 70, a 7x7 window at stride 2: (70 - 7) // 2 + 1 = 32
    assert archspec.lower(RESNET50).node("conv1").output_shape == (None, 32, 32, 64)
    text = hover.contents.value
    assert "conv1" in text and "(None, 32, 32, 64)" in text
    # 7*7*3*64 weights and 64 biases; each of the 32*32*64 outputs sums 7*7*3 products
    assert f"params: {7 * 7 * 3 * 64 + 64:,}" in text
    assert f"MACs: {32 * 32 * 64 * 7 * 7 * 3:,}" in text


@pytest.mark.asyncio
async def test_definition_of_a_block_call_is_in_the_library(client):
    uri = open_doc(client, RESNET50)
    await diagnostics(client, uri)
    lines = RESNET50.read_text().splitlines()
    line = next(i for i, t in enumerate(lines) if "stage: {id: 2" in t)
    col = lines[line].index("identity") + 3
    found = await client.text_document_definition_async(
        types.DefinitionParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            position=types.Position(line=line, character=col),
        )
    )
    library = RESNET_BLOCKS.read_text().splitlines()
    expected = next(i for i, t in enumerate(library) if t.strip() == "identity:")
    assert found.uri == RESNET_BLOCKS.as_uri()
    assert found.range.start == types.Position(
        line=expected, character=library[expected].index("identity")
    )


@pytest.mark.asyncio
async def test_completion_offers_kinds_and_blocks_at_a_layer_item(client):
    uri = open_doc(client, RESNET50)
    await diagnostics(client, uri)
    line = RESNET50.read_text().splitlines().index("  - flatten")
    found = await client.text_document_completion_async(
        types.CompletionParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            position=types.Position(line=line, character=6),
        )
    )
    labels = {item.label for item in found.items}
    assert {"conv2d", "batch_norm", "identity", "convolutional", "stage"} <= labels


async def hover_at(client: LanguageClient, uri: str, line: int, character: int) -> str:
    found = await client.text_document_hover_async(
        types.HoverParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            position=types.Position(line=line, character=character),
        )
    )
    return found.contents.value if found else ""


async def complete_at(client: LanguageClient, uri: str, line: int, character: int) -> dict:
    found = await client.text_document_completion_async(
        types.CompletionParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            position=types.Position(line=line, character=character),
        )
    )
    return {item.label: item for item in found.items}


def change(client: LanguageClient, uri: str, text: str, version: int = 2) -> None:
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            types.VersionedTextDocumentIdentifier(version=version, uri=uri),
            [types.TextDocumentContentChangeWholeDocument(text=text)],
        )
    )


@pytest.mark.asyncio
async def test_hover_on_a_kind_gives_its_keras_class_and_arguments(client, tmp_path):
    uri = open_doc(client, (tmp_path / "tiny.yaml").resolve(), GOOD)
    await diagnostics(client, uri)
    text = await hover_at(client, uri, 3, 6)  # on "conv2d"
    # Keras's documented Conv2D(filters, kernel_size, strides=(1, 1), padding="valid", ...)
    assert "keras.layers.Conv2D" in text
    assert "`filters` (required)" in text and "`kernel_size` (required)" in text
    assert "`padding` = `'valid'`" in text and "`use_bias` = `True`" in text
    # the layer line's own hover is still there: 8 - 3 + 1 = 6
    assert "(None, 6, 6, 4)" in text


@pytest.mark.asyncio
async def test_hover_on_block_and_spec_params(client):
    uri = open_doc(client, RESNET50)
    await diagnostics(client, uri)
    lines = RESNET50.read_text().splitlines()
    line = next(i for i, t in enumerate(lines) if "stage: {id: 3" in t)
    text = await hover_at(client, uri, line, lines[line].index(" f:") + 1)
    # resnet.yaml declares f: {type: int, doc: kernel size of the middle convolution}
    assert "**f**: `int`, required" in text and "kernel size of the middle convolution" in text
    line = lines.index("  classes: 6")
    text = await hover_at(client, uri, line, 4)
    assert "**classes**: `int`, default `6`" in text


@pytest.mark.asyncio
async def test_completion_of_arguments_params_and_names(client, tmp_path):
    path = (tmp_path / "spec.yaml").resolve()
    good = GOOD.replace("layers:", "imports: [resnet]\nparams: {width: 4}\nlayers:")
    uri = open_doc(client, path, good)
    await diagnostics(client, uri)

    async def at_end_of(line_text: str, version: int) -> dict:
        # the edited text need not check: completion uses the last good lowering
        edited = good + line_text + "\n"
        change(client, uri, edited, version)
        last = edited.splitlines()
        return await complete_at(client, uri, len(last) - 1, len(last[-1]))

    found = await at_end_of("  - conv2d: {filters: 4, ", 2)
    assert {"kernel_size", "strides", "padding"} <= found.keys()
    assert found["padding"].detail == "'valid'"  # Keras's Conv2D default
    found = await at_end_of("  - convolutional: {f: 3, ", 3)
    assert set(found) == {"f", "filters", "s"}  # resnet.yaml's declarations
    assert found["s"].detail == "int = 2"
    found = await at_end_of("  - dense: {units: '{{ wi", 4)
    assert set(found) == {"width"}
    found = await at_end_of("training: {optimizer: adam}\nnaming: ", 5)
    assert set(found) == {"caffe", "keras"}
    found = await at_end_of("training:\n  optimizer: ", 6)
    assert {"adam", "sgd", "rmsprop"} <= found.keys() and found["adam"].detail == "Adam"


@pytest.mark.asyncio
async def test_definition_from_extends_is_the_base_spec(client, tmp_path):
    (tmp_path / "base.yaml").write_text(GOOD)
    path = (tmp_path / "wide.yaml").resolve()
    uri = open_doc(client, path, "extends: base.yaml\nname: Wide\n")
    await diagnostics(client, uri)
    found = await client.text_document_definition_async(
        types.DefinitionParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            position=types.Position(line=0, character=3),
        )
    )
    assert found.uri == (tmp_path / "base.yaml").resolve().as_uri()


OUTLINED = """\
name: Outlined
input: {shape: [8, 8, 3]}
blocks:
  pair:
    params: {n: int}
    layers: [relu, relu]
layers:
  - conv2d: {filters: 4, kernel_size: 3}
  - pair: {n: 1}
  - flatten
"""


@pytest.mark.asyncio
async def test_document_symbols_are_blocks_and_layer_items(client, tmp_path):
    uri = open_doc(client, (tmp_path / "o.yaml").resolve(), OUTLINED)
    found = await client.text_document_document_symbol_async(
        types.DocumentSymbolParams(text_document=types.TextDocumentIdentifier(uri=uri))
    )
    assert [(s.name, s.range.start.line) for s in found] == [
        ("pair", 3),
        ("conv2d", 7),
        ("pair", 8),
        ("flatten", 9),
    ]
    assert [c.name for c in found[0].children] == ["n"]
    assert found[0].range.start.character == 2


async def inlay_hints(client: LanguageClient, uri: str) -> list[types.InlayHint]:
    return await client.text_document_inlay_hint_async(
        types.InlayHintParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            range=types.Range(types.Position(0, 0), types.Position(100, 0)),
        )
    )


@pytest_lsp.fixture(
    config=ClientServerConfig(
        server_command=[sys.executable, "-m", "archspec", "lsp"], server_env=ENV
    )
)
async def shapes_client(lsp_client: LanguageClient):
    params = types.InitializeParams(
        capabilities=types.ClientCapabilities(), initialization_options={"inlayShapes": True}
    )
    await lsp_client.initialize_session(params)
    yield
    await lsp_client.shutdown_session()


@pytest.mark.asyncio
async def test_inlay_shapes_only_when_asked(shapes_client, tmp_path):
    uri = open_doc(shapes_client, (tmp_path / "tiny.yaml").resolve(), GOOD)
    await diagnostics(shapes_client, uri)
    found = {h.position.line: h.label for h in await inlay_hints(shapes_client, uri)}
    # a 3x3 window over 8x8: 6x6 by 4 filters; flattened 6 * 6 * 4 = 144
    assert "(None, 6, 6, 4)" in found[3] and "(None, 144)" in found[4]
    assert found[3] == " → (None, 6, 6, 4)"


@pytest.mark.asyncio
async def test_no_inlay_shapes_by_default(client, tmp_path):
    uri = open_doc(client, (tmp_path / "tiny.yaml").resolve(), GOOD)
    await diagnostics(client, uri)
    assert not await inlay_hints(client, uri)


@pytest.mark.asyncio
async def test_quick_changes_are_checked_once_the_last_wins(client, tmp_path):
    uri = open_doc(client, (tmp_path / "tiny.yaml").resolve(), GOOD)
    await diagnostics(client, uri)
    client.diagnostics.clear()
    # sent back to back, well inside the server's 0.2 s pause: only the last is checked,
    # so the broken text's error is never published
    change(client, uri, BROKEN, 2)
    change(client, uri, GOOD, 3)
    [found] = await diagnostics(client, uri)
    assert list(found) == []
    client.diagnostics.clear()
    change(client, uri, BROKEN, 4)
    [found] = await diagnostics(client, uri)
    assert [d.code for d in found] == ["unknown-kind"]


def test_the_server_never_imports_tensorflow():
    code = (
        "import sys, archspec.lsp.server as s; s.lower(s.load(sys.argv[1])); "
        "sys.exit(any(m in sys.modules for m in ('tensorflow', 'keras')))"
    )
    assert subprocess.run([sys.executable, "-c", code, str(RESNET50)], env=ENV).returncode == 0


@pytest.mark.asyncio
async def test_completion_offers_blocks_in_a_stages_blocks(client):
    uri = open_doc(client, RESNET50)
    await diagnostics(client, uri)
    lines = RESNET50.read_text().splitlines()
    line = next(i for i, t in enumerate(lines) if "stage: {id: 2" in t)
    found = await client.text_document_completion_async(
        types.CompletionParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            position=types.Position(line=line, character=lines[line].index("blocks: [") + 9),
        )
    )
    labels = {item.label for item in found.items}
    assert {"identity", "convolutional"} <= labels and "conv2d" not in labels


@pytest.mark.asyncio
async def test_hover_on_a_stage_line_gives_its_blocks_shape_and_totals(client):
    uri = open_doc(client, RESNET50)
    await diagnostics(client, uri)
    lines = RESNET50.read_text().splitlines()
    line = next(i for i, t in enumerate(lines) if "stage: {id: 2" in t)
    text = await hover_at(client, uri, line, lines[line].index("stage"))
    # the seed's stage 2 on 64x64 inputs: 70 -> conv 7/2 -> 32 -> max pool 3/2 -> 15;
    # a convolutional block (76,928 params) and two identity blocks (71,552 each), by hand
    assert "3 block(s)" in text, text
    assert "(None, 15, 15, 256)" in text and "params: 220,032" in text, text
