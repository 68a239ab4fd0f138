"""From a spec file to a resolved spec: ``extends`` merged, imports loaded, params set.

``extends: base.yaml`` deep-merges the spec onto its base: mappings merge key by key,
anything else (a list, a scalar) replaces the base's value, and ``imports`` add up.
An import is a shipped library by name (``resnet``) or a YAML file by path relative to
the importing file (``./my_blocks.yaml``). Files are read through a ``read`` function
so that a spec can also be resolved at a git revision.
"""

from __future__ import annotations

import copy
import os
import posixpath
import re
import typing
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pydantic

from archspec.diagnostics import (
    Problem,
    SpecError,
    UsageError,
    Where,
    did_you_mean,
    received,
    validation_problems,
)
from archspec.files import STDIN
from archspec.frontend.loader import Document, load_document, read_text
from archspec.frontend.schema import PRESETS, BlockDef, Library, NamingScheme, Spec
from archspec.limits import LIMITS
from archspec.project import PROJECT

LIBRARY_DIR = Path(__file__).parent.parent / "blocks"
# The specs archspec ships (keras/resnet50, examples/unet), which ``extends`` names:
# specs/ of the source tree, which the package links as archspec/zoo (and a wheel copies).
_PACKAGED_ZOO = Path(__file__).parent.parent / "zoo"
ZOO_DIR = _PACKAGED_ZOO if _PACKAGED_ZOO.is_dir() else Path(__file__).parents[2] / "specs"
_SHIPPED_NAME = re.compile(r"^[a-z0-9_]+(/[a-z0-9_]+)*$")

Reader = Callable[[str], str]


def shipped_libraries() -> list[str]:
    """The names of the block libraries shipped with archspec, sorted."""
    return sorted(p.stem for p in LIBRARY_DIR.glob("*.yaml"))


def shipped_specs() -> list[str]:
    """The names of the specs archspec ships: ``keras/resnet50``, ``resnet50``."""
    return sorted(
        p.relative_to(ZOO_DIR).with_suffix("").as_posix() for p in ZOO_DIR.rglob("*.yaml")
    )


@dataclass(frozen=True)
class BlockEntry:
    """A block definition and where it came from."""

    name: str
    definition: BlockDef
    doc: Document  # the file that defines it, for positions
    path: tuple  # its path in that file: ("blocks", name)
    defaults: dict  # the defining library's layer defaults (empty for a spec's own blocks)
    defaults_path: tuple = ("defaults",)


@dataclass
class ResolvedSpec:
    """A spec ready to lower."""

    spec: Spec
    doc: Document  # the spec merged with its bases, positions per node
    params: dict
    blocks: dict[str, BlockEntry]
    naming: NamingScheme
    path: str
    files: dict[str, str] = field(default_factory=dict)  # every file read → its text
    base: str | None = None  # the spec it extends, if any

    def digest(self) -> str:
        """sha256 over the spec and every base and library it uses, in a stable order."""
        import hashlib  # only codegen and diff need it; OpenSSL costs check ~3 ms to load

        h = hashlib.sha256()
        for name, text in sorted(self.files.items(), key=lambda kv: _digest_key(kv[0])):
            h.update(_digest_key(name).encode() + b"\0" + text.encode() + b"\0")
        return h.hexdigest()


def display_name(path: str) -> str:
    """How a file is named in messages: shipped libraries as ``archspec/blocks/x.yaml``,
    shipped specs as ``archspec/zoo/keras/x.yaml``, standard input as ``<stdin>``."""
    if path == STDIN:
        return "<stdin>"
    p = Path(path)
    if p.parent == LIBRARY_DIR:
        return f"archspec/blocks/{p.name}"
    if p.is_relative_to(ZOO_DIR) and p.is_absolute():
        return f"archspec/zoo/{p.relative_to(ZOO_DIR).as_posix()}"
    return path


def _digest_key(file: str) -> str:
    # Shipped libraries are named by their library name, so the digest does not depend
    # on where archspec is installed.
    p = Path(file)
    if p.parent == LIBRARY_DIR:
        return f"archspec:{p.name}"
    return p.name


def _read_file(path: str) -> str:
    return read_text(path)


class _Files:
    """Reads and parses each file once; counts them against the imports limit."""

    def __init__(self, read: Reader):
        self.read = read
        self.texts: dict[str, str] = {}
        self.bases: dict[str, str] = {}  # a spec → the spec it extends

    def document(self, path: str, where: Where | None) -> Document:
        if path not in self.texts:
            if len(self.texts) >= LIMITS.max_imports:
                raise SpecError.of(
                    "limit-exceeded",
                    where or Where(path),
                    detail=f"more than {LIMITS.max_imports} files imported",
                    limit="max_imports",
                )
            try:
                self.texts[path] = self.read(path)
            except UsageError as exc:
                if where is None:
                    raise
                # A base or library that cannot be read is the spec's error, at its entry.
                raise SpecError.at(where, str(exc), "file-not-found") from None
        return load_document(display_name(path), self.texts[path])


def load(
    path: str | os.PathLike,
    params: dict | None = None,
    *,
    read: Reader = _read_file,
    param_where: Where | None = None,
) -> ResolvedSpec:
    """Resolve a spec file: merge ``extends``, load imports, apply params overrides."""
    path = str(path)
    files = _Files(read)
    doc, imports = _load_with_bases(path, files, ())
    data = doc.data
    try:
        spec = Spec.model_validate(data)
    except pydantic.ValidationError as exc:
        raise validation_error(exc, doc, Spec) from None
    blocks: dict[str, BlockEntry] = {}
    for name, definition in spec.blocks.items():
        blocks[name] = BlockEntry(name, definition, doc, ("blocks", name), {})
    seen: set[str] = set()
    for lib_path, where in imports:
        _load_library(lib_path, where, files, blocks, seen, ())
    naming = _naming(spec, doc)
    values = _apply_params(spec.params, params or {}, doc, param_where)
    return ResolvedSpec(
        spec, doc, values, blocks, naming, path, dict(files.texts), files.bases.get(path)
    )


def load_library(path: str | os.PathLike, *, read: Reader = _read_file) -> dict[str, BlockEntry]:
    """Validate a block library file on its own (its imports too), as a spec importing
    it would; its blocks by name. The language server checks an open library this way."""
    path = str(path)
    blocks: dict[str, BlockEntry] = {}
    _load_library(path, Where(path), _Files(read), blocks, set(), ())
    return blocks


def _load_with_bases(path: str, files: _Files, chain: tuple) -> tuple[Document, list]:
    doc = files.document(path, chain[-1][1] if chain else None)
    if not isinstance(doc.data, dict):
        raise doc.problem(
            "wrong-type", (), expected="a YAML mapping (a spec)", received=_kind_of(doc.data)
        )
    imports = _import_paths(doc, path)
    doc.data.pop("imports", None)
    if "extends" not in doc.data:
        return doc, imports
    ref = doc.data.pop("extends")
    where = doc.where(("extends",))
    if not isinstance(ref, str):
        raise SpecError.of("wrong-type", where, expected="a file path", received=received(ref))
    # a path (base.yaml, ../x), or the name of a shipped spec (keras/resnet50)
    base_path = posixpath.normpath(posixpath.join(posixpath.dirname(path), ref))
    if not ref.endswith((".yaml", ".yml")) and _SHIPPED_NAME.match(ref):
        if (ZOO_DIR / f"{ref}.yaml").is_file():
            base_path = str(ZOO_DIR / f"{ref}.yaml")
        elif not os.path.exists(base_path):
            hint = did_you_mean(ref, shipped_specs())
            raise SpecError.of("unknown-spec", where, name=ref, hint=hint)
    if base_path == path or base_path in [p for p, _ in chain]:
        cycle = " -> ".join([p for p, _ in chain] + [path, base_path])
        raise SpecError.of("extends-cycle", where, cycle=cycle)
    files.bases[path] = base_path
    base, base_imports = _load_with_bases(base_path, files, chain + ((path, where),))
    merged = _merge(base, doc)
    return merged, base_imports + [i for i in imports if i[0] not in dict(base_imports)]


def _import_paths(doc: Document, path: str) -> list[tuple[str, Where]]:
    refs = doc.data.get("imports", [])
    if not isinstance(refs, list):
        raise doc.problem("wrong-type", ("imports",), expected="a list", received=received(refs))
    out = []
    for i, ref in enumerate(refs):
        where = doc.where(("imports", i))
        if not isinstance(ref, str) or not ref:
            raise SpecError.of(
                "wrong-type", where, expected="a library name or path", received=received(ref)
            )
        if "/" in ref or ref.endswith((".yaml", ".yml")):
            out.append((posixpath.normpath(posixpath.join(posixpath.dirname(path), ref)), where))
        elif (LIBRARY_DIR / f"{ref}.yaml").is_file():
            out.append((str(LIBRARY_DIR / f"{ref}.yaml"), where))
        else:
            raise SpecError.of(
                "unknown-library", where, name=ref, hint=did_you_mean(ref, shipped_libraries())
            )
    return out


def _merge(base: Document, over: Document) -> Document:
    """Deep-merge ``over`` onto ``base``: mappings merge, everything else replaces."""
    out = Document(
        over.file, copy.deepcopy(base.data), over.text, dict(base.values), dict(base.keys)
    )

    def merge(target: dict, source: dict, path: tuple):
        for key, value in source.items():
            kpath = path + (key,)
            if isinstance(value, dict) and isinstance(target.get(key), dict):
                merge(target[key], value, kpath)
            else:
                target[key] = copy.deepcopy(value)
                for table in (out.values, out.keys):
                    for p in [p for p in table if p[: len(kpath)] == kpath]:
                        del table[p]
            for table, src in ((out.values, over.values), (out.keys, over.keys)):
                for p, pos in src.items():
                    if p[: len(kpath)] == kpath:
                        table[p] = pos

    merge(out.data, over.data, ())
    out.values[()] = over.values.get((), (over.file, 1, 1))
    return out


def _load_library(
    path: str, where: Where, files: _Files, blocks: dict, seen: set, chain: tuple
) -> None:
    if path in chain:
        cycle = " -> ".join(display_name(p) for p in (*chain, path))
        raise SpecError.of("import-cycle", where, cycle=cycle)
    if path in seen:
        return
    seen.add(path)
    doc = files.document(path, where)
    if not isinstance(doc.data, dict):
        raise doc.problem(
            "wrong-type",
            (),
            expected="a YAML mapping (a block library)",
            received=_kind_of(doc.data),
        )
    nested = _import_paths(doc, path)
    doc.data.pop("imports", None)
    try:
        library = Library.model_validate(doc.data)
    except pydantic.ValidationError as exc:
        raise validation_error(exc, doc, Library) from None
    for name, definition in library.blocks.items():
        if name in blocks:
            first = blocks[name]
            raise doc.problem(
                "duplicate-block",
                ("blocks", name),
                key=True,
                name=name,
                first=first.doc.where(first.path, key=True),
            )
        blocks[name] = BlockEntry(name, definition, doc, ("blocks", name), library.defaults)
    for lib_path, lib_where in nested:
        _load_library(lib_path, lib_where, files, blocks, seen, (*chain, path))


def _naming(spec: Spec, doc: Document) -> NamingScheme:
    if isinstance(spec.naming, NamingScheme):
        return spec.naming
    if "naming" not in spec.model_fields_set and PROJECT.naming is not None:
        # the project's default (pyproject.toml), for a spec that names no scheme
        if PROJECT.naming not in PRESETS:
            raise UsageError(
                f"{PROJECT.file}: [tool.archspec] naming: unknown preset "
                f"'{PROJECT.naming}'" + did_you_mean(PROJECT.naming, PRESETS)
            )
        return PRESETS[PROJECT.naming]
    if spec.naming not in PRESETS:
        raise doc.problem(
            "unknown-preset", ("naming",), name=spec.naming, hint=did_you_mean(spec.naming, PRESETS)
        )
    return PRESETS[spec.naming]


def _same_kind(default, value) -> bool:
    if default is None or value is None:  # null: "none", as for classifier_activation=None
        return True
    if isinstance(default, bool) or isinstance(value, bool):
        return isinstance(default, bool) and isinstance(value, bool)
    if isinstance(default, float):
        return isinstance(value, int | float)
    return isinstance(value, type(default))


def _apply_params(declared: dict, overrides: dict, doc: Document, where: Where | None) -> dict:
    values = dict(declared)
    problems = []
    for key, value in overrides.items():
        at = where or doc.where(("params",), key=True)
        if key not in declared:
            known = did_you_mean(key, declared) if declared else "; the spec declares no params"
            problems.append(Problem.of("unknown-param", at, key=key, owner="", hint=known))
        elif not _same_kind(declared[key], value):
            kind = type(declared[key]).__name__
            problems.append(
                Problem.of(
                    "invalid-param",
                    at,
                    key=key,
                    owner="",
                    expected=f"{'an' if kind[0] in 'aeiou' else 'a'} {kind} like its default "
                    f"{declared[key]!r}",
                    received=received(value, key),
                )
            )
        else:
            values[key] = value
    if problems:
        raise SpecError(problems)
    return values


# ---- pydantic errors to positioned spec errors --------------------------------------------


def validation_error(exc: pydantic.ValidationError, doc: Document, model) -> SpecError:
    """pydantic's errors for a spec or library document, at their nodes (the mapping is
    diagnostics.validation_problems; this says where pydantic's locations are)."""

    def locate(loc: tuple, key: bool) -> tuple[Where, bool]:
        path, _ = _document_path(doc.data, loc, model)
        return doc.where(path, key=key), len(loc) > len(path)

    def known(loc: tuple) -> list[str]:
        return _fields(_document_path(doc.data, loc, model)[1])

    return SpecError(validation_problems(exc.errors(), locate, known=known))


def _kind_of(value) -> str:
    return f". Received: a {type(value).__name__}"


def _document_path(data, loc: tuple, model) -> tuple[tuple, object]:
    """pydantic locations name union members ('str', 'dict[str,any]'); keep only the
    parts that exist in the document, and find the model that holds the last key."""
    path = []
    node = data
    owner = parent = model
    for part in loc:
        if (isinstance(node, dict) and part in node) or (
            isinstance(node, list) and isinstance(part, int) and part < len(node)
        ):
            parent, owner = owner, _child_model(owner, part)
            node = node[part]
            path.append(part)
        elif isinstance(node, dict) and isinstance(part, str) and not _is_union_tag(part):
            path.append(part)  # a missing key
            parent = owner
            break
    return tuple(path), parent


def _is_union_tag(part: str) -> bool:
    return (
        "[" in part or part in ("str", "int", "float", "bool", "list", "dict") or part[:1].isupper()
    )


def _child_model(owner, part):
    """The pydantic model that validates ``owner``'s child ``part``, if any."""
    if owner is None:
        return None
    if isinstance(owner, type) and issubclass(owner, pydantic.BaseModel):
        by_alias = {(f.alias or n): f for n, f in owner.model_fields.items()}
        info = by_alias.get(part)
        return _model_in(info.annotation) if info else None
    return _model_in(owner)


def _model_in(annotation):
    """Unwrap list[X], dict[str, X], X | Y to the model class X, else keep the container."""
    if isinstance(annotation, type) and issubclass(annotation, pydantic.BaseModel):
        return annotation
    args = typing.get_args(annotation)
    origin = typing.get_origin(annotation)
    if origin in (list, dict):
        return _model_in(args[-1]) if args else None
    for arg in args:
        found = _model_in(arg)
        if found is not None:
            return found
    return None


def _fields(owner) -> list[str]:
    if isinstance(owner, type) and issubclass(owner, pydantic.BaseModel):
        return [f.alias or n for n, f in owner.model_fields.items()]
    return []
