# -*- coding: utf-8 -*-
"""File helpers shared by flinkfleet's module_utils."""

from __future__ import annotations

import hashlib
import os
import tempfile


def file_sha256(path):
    """sha256 hex digest of a file, read in 1 MiB blocks (wheels and jars can be large)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def write_atomically(path, data, mode=None):
    """Write bytes to path through a temp file in the same directory, fsync, rename: readers see
    the old file or the new one, never a part. The temp file is created 0600 (keys are safe from
    the first byte); mode, when given, is set before the rename."""
    fd, temp = tempfile.mkstemp(dir=os.path.dirname(os.path.abspath(path)), prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        if mode is not None:
            os.chmod(temp, mode)
        os.replace(temp, path)
        temp = None
    finally:
        if temp and os.path.exists(temp):
            os.unlink(temp)
