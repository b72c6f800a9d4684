# -*- coding: utf-8 -*-
"""File helpers shared by flinkfleet's module_utils."""

from __future__ import annotations

import hashlib


def file_sha256(path):
    """sha256 hex digest of a file, read in 1 MiB blocks (wheels and jars can be large)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
