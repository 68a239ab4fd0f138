"""Makers of hostile saved models and data files, for the tests and the corpus.

Each ``make_*(path)`` writes one file at ``path`` (name it ``.keras``, ``.h5`` as the
case needs) in well under half a second, under 2 MB on disk, and needs no archspec and
no Keras: only ``zipfile``, ``h5py`` and ``numpy``.
"""

from __future__ import annotations

import json
import os
import struct
import zipfile
import zlib

import numpy as np

_METADATA = json.dumps({"keras_version": "3.0.0", "date_saved": "2024-01-01@00:00:00"})


def make_keras_zip_bomb(path) -> None:
    """A ``.keras`` whose ``config.json`` inflates from about 1 MB to 1 GiB of spaces
    (its zip directory says so honestly). Deflating 1 GiB takes seconds, so the stream is
    one deflated MiB of spaces repeated: after a full flush, deflate encodes each equal
    MiB the same way."""
    chunk = b" " * 2**20
    deflate = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = deflate.compress(chunk) + deflate.flush(zlib.Z_FULL_FLUSH)
    end = deflate.flush()  # the final, empty block
    # zlib.crc32 of 2**30 spaces, computed once (it takes half a second).
    crc = 0x9AC47FA6
    members = [
        ("metadata.json", 0, zlib.crc32(_METADATA.encode()), [_METADATA.encode()], len(_METADATA)),
        ("config.json", 8, crc, [block] * 1024 + [end], 2**30),
    ]
    with open(path, "wb") as fp:
        directory = b""
        for name, method, checksum, parts, size in members:
            stored = sum(map(len, parts))
            fields = struct.pack("<HHHHHLLLHH", 20, 0, method, 0, 0x21, checksum, stored, size,
                                 len(name), 0)  # fmt: skip
            offset = fp.tell()
            fp.write(b"PK\x03\x04" + fields + name.encode())
            fp.writelines(parts)
            directory += (
                b"PK\x01\x02" + struct.pack("<H", 20) + fields
                + struct.pack("<HHHLL", 0, 0, 0, 0, offset) + name.encode()
            )  # fmt: skip
        start = fp.tell()
        fp.write(directory)
        fp.write(b"PK\x05\x06" + struct.pack("<HHHHLLH", 0, 0, 2, 2, len(directory), start, 0))


def make_keras_lying_size(path, size: int = 16 * 2**20) -> None:
    """A ``.keras`` whose ``config.json`` declares 100 bytes in the zip's directory and
    its own header, but inflates to ``size`` bytes (16 MiB) of spaces."""
    chunk = b" " * 2**20
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        zf.writestr("metadata.json", _METADATA)
        with zf.open("config.json", "w") as member:
            for _ in range(size // len(chunk)):
                member.write(chunk)
        local = zf.getinfo("config.json").header_offset
    with open(path, "r+b") as fp:
        data = fp.read()
        central = data.rindex(b"PK\x01\x02", 0, data.rindex(b"config.json"))
        for at in (local + 22, central + 24):  # the uncompressed size in each header
            fp.seek(at)
            fp.write((100).to_bytes(4, "little"))


def make_truncated_keras(path) -> None:
    """A ``.keras`` cut in the middle: a zip's first members without its directory."""
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("metadata.json", _METADATA)
        zf.writestr("config.json", json.dumps({"class_name": "Functional", "config": {}}))
        zf.writestr("model.weights.h5", b"\0" * 4096)
    size = os.path.getsize(path)
    with open(path, "r+b") as fp:
        fp.truncate(size // 2)


def make_not_a_zip_keras(path) -> None:
    """A ``.keras`` that is text, not a zip archive."""
    with open(path, "w") as fp:
        fp.write("this is not a Keras model\n")


def make_keras_without_config(path) -> None:
    """A ``.keras`` zip archive with metadata and weights but no ``config.json``."""
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("metadata.json", _METADATA)
        zf.writestr("model.weights.h5", b"\0" * 64)


def make_keras_config_not_json(path) -> None:
    """A ``.keras`` whose ``config.json`` is not JSON."""
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("metadata.json", _METADATA)
        zf.writestr("config.json", "{'class_name': Functional")
        zf.writestr("model.weights.h5", b"")


def make_h5_model_huge_config(path, size: int = 1_000_000) -> None:
    """A legacy ``.h5`` model whose ``model_config`` attribute is a fixed-length string
    of ``size`` bytes (HDF5 stores an attribute's data whole, so the file is as large:
    run it with ``--limit max_model_config_bytes=`` below ``size``)."""
    import h5py

    with h5py.File(path, "w", libver="latest") as f:
        space = h5py.h5s.create(h5py.h5s.SCALAR)
        kind = h5py.h5t.C_S1.copy()
        kind.set_size(size)
        h5py.h5a.create(f.id, b"model_config", kind, space)


def make_h5_huge_declared(path, images: int = 10**8) -> None:
    """Seed-layout training data (4 KB) whose ``train_set_x`` declares ``images``
    64x64x3 uint8 images (1.2 TB) in chunks never written; the other datasets are sound."""
    import h5py

    with h5py.File(path, "w") as f:
        f.create_dataset(
            "train_set_x", shape=(images, 64, 64, 3), dtype="uint8", chunks=(1, 64, 64, 3)
        )
        f["train_set_y"] = np.zeros(images if images < 10 else 4, dtype="int64")
        f["test_set_x"] = np.zeros((2, 64, 64, 3), dtype="uint8")
        f["test_set_y"] = np.zeros(2, dtype="int64")
        f["list_classes"] = np.arange(6, dtype="int64")


def make_h5_never_written(path, images: int = 1000) -> None:
    """Seed-layout training data whose ``train_set_x`` declares ``images`` images (12 MB,
    within every limit) but stores none: created, never written."""
    import h5py

    with h5py.File(path, "w") as f:
        f.create_dataset("train_set_x", shape=(images, 64, 64, 3), dtype="uint8")
        f["train_set_y"] = np.zeros(images, dtype="int64")
        f["test_set_x"] = np.zeros((2, 64, 64, 3), dtype="uint8")
        f["test_set_y"] = np.zeros(2, dtype="int64")
        f["list_classes"] = np.arange(6, dtype="int64")


def make_h5_external_link(path, target: str = "/dev/zero") -> None:
    """Seed-layout training data whose ``train_set_x`` is an external link to ``target``
    (a FIFO there would block a reader that follows it)."""
    import h5py

    with h5py.File(path, "w") as f:
        f["train_set_x"] = h5py.ExternalLink(str(target), "/x")
        f["train_set_y"] = np.zeros(2, dtype="int64")
        f["test_set_x"] = np.zeros((2, 64, 64, 3), dtype="uint8")
        f["test_set_y"] = np.zeros(2, dtype="int64")


def make_h5_external_storage(path, target: str = "/dev/zero") -> None:
    """Seed-layout training data whose ``train_set_x`` stores its bytes in ``target``
    (an HDF5 external dataset)."""
    import h5py

    with h5py.File(path, "w") as f:
        f.create_dataset(
            "train_set_x", shape=(2, 64, 64, 3), dtype="uint8",
            external=[(str(target), 0, h5py.h5f.UNLIMITED)],
        )  # fmt: skip
        f["train_set_y"] = np.zeros(2, dtype="int64")
        f["test_set_x"] = np.zeros((2, 64, 64, 3), dtype="uint8")
        f["test_set_y"] = np.zeros(2, dtype="int64")
