# -*- coding: utf-8 -*-
"""One exception base for flinkfleet's module_utils: library code raises, modules report."""

from __future__ import annotations


class FlinkfleetError(Exception):
    """An error with a message meant for the user; modules turn it into fail_json."""

    def __init__(self, msg, **details):
        super().__init__(msg)
        self.msg = msg
        self.details = details
