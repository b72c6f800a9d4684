# -*- coding: utf-8 -*-
"""What the attributes every flinkfleet module declares mean (each module says its support),
and the action group of the modules that reach a Kubernetes cluster (meta/runtime.yml)."""

from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
attributes:
  check_mode:
    description: Can run in check mode and predicts whether it would change something, changing nothing.
  idempotent:
    description: A second run with the same arguments changes nothing when the first one succeeded.
"""

    # module_defaults: {group/flinkfleet.flink.flink: {kubeconfig: ..., context: ...}}
    ACTION_GROUP = r"""
attributes:
  action_group:
    description: Part of the action group, for setting the connection options (kubeconfig, context, host, api_key, ...) once with module_defaults.
    support: full
    membership:
      - flinkfleet.flink.flink
"""
