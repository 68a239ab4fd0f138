"""The editor schema as an editor sees it: yaml-language-server itself, driven over stdio
(LSP's JSON-RPC by hand), and the same checks with the jsonschema package alone.

The server is .ci/node/node_modules/.bin/yaml-language-server (``.ci/run`` installs it with
npm) or the one ARCHSPEC_YAML_LS names; without node or the server those tests skip."""

from __future__ import annotations

import json
import os
import queue
import shutil
import subprocess
import threading
import time
from functools import cache

import jsonschema
import pytest
from conftest import ROOT

from archspec.analysis.json_schema import schemas as make_schemas
from archspec.core.ops import OPS
from archspec.core.ops.docs import argument_doc
from archspec.frontend.schema import METRICS, NAME_DOCS, OPTIMIZERS, Spec

HEAD = "name: M\ninput: {shape: [8, 8, 3]}\n"
GOOD = HEAD + "layers:\n  - conv2d: {filters: 3, kernel_size: 3}\n  - flatten\n"
# text → (line, column) of the mistake, 0-based as LSP counts
BAD = {
    HEAD + "layers:\n  - flaten\n": (3, 4),
    HEAD + "layers:\n  - flatten\ntraining:\n  optimizer: adma\n": (5, 13),
    HEAD + "layers:\n  - conv2dd: {filters: 3}\n": (3, 4),
    HEAD + "imports: [resnet]\nlayers:\n  - stage: {id: 2, blocks: [identiy]}\n": (4, 28),
    HEAD + "layers:\n  - flatten\ntraining:\n  metrics: [acuracy]\n": (5, 12),
}


schemas = cache(make_schemas)  # about a second each time it is made


def validator(name: str = "spec.schema.json"):
    return jsonschema.Draft202012Validator(json.loads(schemas()[name]))


def load(text: str):
    import yaml

    return yaml.safe_load(text)


# ---- jsonschema alone ------------------------------------------------------------------


@pytest.mark.parametrize("text", list(BAD))
def test_jsonschema_rejects_the_bad_specs(text):
    assert list(validator().iter_errors(load(text)))


@pytest.mark.parametrize(
    "text",
    [
        GOOD,
        # the spec's own block: a schema cannot know it, so any name is admitted there
        HEAD + "blocks:\n  mine: {layers: [relu]}\nlayers:\n  - mine\n  - {mine: {}}\n",
        HEAD + "imports: [./mine.yaml]\nlayers:\n  - mine x 2\n",
        "extends: base.yaml\nlayers:\n  - mine\n",
        # shipped blocks and kinds, repeated, in stages
        HEAD + "imports: [resnet]\nlayers:\n  - stage: {id: 2, f: 3, filters: [1, 2, 3], "
        "blocks: [convolutional: {s: 1}, identity x 2, 'identity x {{ n }}']}\n  - relu x 2\n",
        HEAD + "layers:\n  - flatten\ntraining:\n  optimizer: {adam: {learning_rate: 0.01}}\n"
        "  loss: sparse_categorical_crossentropy\n  metrics: [accuracy, {auc: null}]\n",
    ],
)
def test_jsonschema_admits_the_good_specs(text):
    assert list(validator().iter_errors(load(text))) == []


def test_the_training_names_are_those_training_accepts():
    """Each enum is the names the pydantic model accepts; a name beside them is refused
    by both."""
    training = validator().schema["$defs"]["Training"]["properties"]
    assert (
        training["optimizer"]["anyOf"][0]["enum"]
        == sorted(OPTIMIZERS)
        == sorted(NAME_DOCS["optimizer"])
    )
    assert training["metrics"]["items"]["anyOf"][0]["enum"] == sorted(METRICS)
    spec = load(GOOD)
    for name in OPTIMIZERS:
        Spec.model_validate({**spec, "training": {"optimizer": name}})
    with pytest.raises(ValueError):
        Spec.model_validate({**spec, "training": {"optimizer": "adma"}})


def test_every_argument_has_a_one_line_doc():
    for kind, op in OPS.items():
        if op.module is None:
            for name in op.args.model_fields:
                doc = argument_doc(kind, name)
                assert doc and "\n" not in doc and "`" not in doc, (kind, name)


def test_hovers_are_one_plain_line():
    """No title (an editor shows it as a heading over the description), no RST, one line."""
    text = schemas()["spec.schema.json"]
    assert '"title"' not in text and "``" not in text

    def descriptions(node):
        if isinstance(node, dict):
            for key, value in node.items():
                if key in ("description", "enumDescriptions"):
                    yield from [value] if isinstance(value, str) else value
                else:
                    yield from descriptions(value)
        elif isinstance(node, list):
            for value in node:
                yield from descriptions(value)

    found = list(descriptions(json.loads(text)))
    assert len(found) > 500
    assert all(d and "\n" not in d and "`" not in d for d in found)


# ---- yaml-language-server --------------------------------------------------------------


def _server() -> str:
    if shutil.which("node") is None:
        pytest.skip("node is not installed")
    server = os.environ.get("ARCHSPEC_YAML_LS") or str(
        ROOT / ".ci" / "node" / "node_modules" / ".bin" / "yaml-language-server"
    )
    if not os.access(server, os.X_OK):
        pytest.skip(f"yaml-language-server is not installed at {server} (see .ci/run)")
    return server


class Client:
    """A language client over the server's stdio: requests wait for their answer; the
    server's own requests (configuration) are answered with nothing."""

    def __init__(self, argv):
        self.process = subprocess.Popen(
            argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
        )
        self.messages: queue.Queue = queue.Queue()
        self.id = 0
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        stream = self.process.stdout
        while True:
            headers = {}
            while (line := stream.readline().decode()).strip():
                key, _, value = line.partition(":")
                headers[key.lower()] = value.strip()
            if not headers:
                self.messages.put(None)  # the server ended
                return
            self.messages.put(json.loads(stream.read(int(headers["content-length"]))))

    def send(self, message: dict):
        body = json.dumps({"jsonrpc": "2.0", **message}).encode()
        self.process.stdin.write(b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
        self.process.stdin.flush()

    def wait(self, wanted, timeout: float = 60):
        deadline = time.monotonic() + timeout
        while True:
            message = self.messages.get(timeout=max(0.1, deadline - time.monotonic()))
            assert message is not None, "yaml-language-server ended"
            if "method" in message and "id" in message:
                items = message.get("params", {}).get("items", [])
                self.send({"id": message["id"], "result": [None] * len(items) or None})
            elif wanted(message):
                return message

    def request(self, method: str, params: dict):
        self.id += 1
        number = self.id
        self.send({"id": number, "method": method, "params": params})
        return self.wait(lambda m: m.get("id") == number and "method" not in m)["result"]

    def notify(self, method: str, params: dict):
        self.send({"method": method, "params": params})


@pytest.fixture(scope="module")
def editor(tmp_path_factory):
    server = _server()
    folder = tmp_path_factory.mktemp("editor")
    for name, text in schemas().items():
        (folder / name).write_text(text)
    client = Client([server, "--stdio"])
    capabilities = {
        "textDocument": {
            "hover": {"contentFormat": ["markdown", "plaintext"]},
            "completion": {"completionItem": {"documentationFormat": ["plaintext"]}},
        }
    }
    client.request(
        "initialize",
        {"processId": os.getpid(), "rootUri": folder.as_uri(), "capabilities": capabilities},
    )
    client.notify("initialized", {})
    settings = {"validate": True, "hover": True, "completion": True}
    client.notify("workspace/didChangeConfiguration", {"settings": {"yaml": settings}})
    opened = iter(range(1_000_000))

    def open_(text: str) -> tuple[str, list]:
        """Open a spec that names the schema on its first line; its URI and diagnostics."""
        path = folder / f"spec{next(opened)}.yaml"
        text = "# yaml-language-server: $schema=./spec.schema.json\n" + text
        path.write_text(text)
        uri = path.as_uri()
        document = {"uri": uri, "languageId": "yaml", "version": 1, "text": text}
        client.notify("textDocument/didOpen", {"textDocument": document})
        published = client.wait(
            lambda m: (
                m.get("method") == "textDocument/publishDiagnostics" and m["params"]["uri"] == uri
            )
        )
        return uri, published["params"]["diagnostics"]

    def at(method: str, uri: str, line: int, character: int):
        # lines as the test writes them: the modeline is line 0
        position = {"line": line + 1, "character": character}
        return client.request(method, {"textDocument": {"uri": uri}, "position": position})

    yield open_, at
    client.process.kill()
    client.process.wait()


def test_the_server_finds_no_mistake_in_a_good_spec(editor):
    open_, _ = editor
    assert open_(GOOD)[1] == []


@pytest.mark.parametrize("text", list(BAD))
def test_the_server_flags_the_bad_specs(editor, text):
    open_, _ = editor
    line, column = BAD[text]
    _, diagnostics = open_(text)
    starts = {
        (d["range"]["start"]["line"] - 1, d["range"]["start"]["character"]) for d in diagnostics
    }
    assert (line, column) in starts, diagnostics


def test_the_server_completes_optimizers_with_a_line_each(editor):
    open_, at = editor
    uri, _ = open_(HEAD + "layers:\n  - flatten\ntraining:\n  optimizer: a\n")
    result = at("textDocument/completion", uri, 5, 14)
    items = result["items"] if isinstance(result, dict) else result
    docs = {item["label"]: item.get("documentation") for item in items}
    assert {"adam", "adamw", "adagrad", "adamax"} <= set(docs) <= set(OPTIMIZERS)
    assert docs["adamw"] == NAME_DOCS["optimizer"]["adamw"]


@pytest.mark.parametrize(
    ("line", "character", "expected"),
    [
        (3, 15, argument_doc("conv2d", "filters")),
        (3, 4, "keras.layers.Conv2D; a value alone sets filters"),
        (0, 1, "the spec's name"),
    ],
)
def test_the_server_hovers_one_clean_line(editor, line, character, expected):
    open_, at = editor
    uri, _ = open_(GOOD)
    value = at("textDocument/hover", uri, line, character)["contents"]["value"]
    # the server adds where the schema is; what the schema says comes before it
    said = value.split("\n\nSource: ")[0]
    assert said == expected
