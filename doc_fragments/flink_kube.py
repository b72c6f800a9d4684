# -*- coding: utf-8 -*-
"""Documentation shared by the modules that reach a Flink JobManager on Kubernetes
(flink_health_gate, flink_job); their argspec shares _flink_kube.KUBE_ARGS the same way."""

from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  kubeconfig:
    description: Kubeconfig file; the client's default when omitted.
    type: path
  context:
    description: Kubeconfig context.
    type: str
  namespace:
    description: Namespace of the deployment.
    type: str
    required: true
  jobmanager_pod:
    description: The JobManager pod.
    type: str
  rest_port:
    description: Flink REST port of the JobManager pod.
    type: int
    default: 8081
  base_url:
    description: Reach Flink REST here directly instead of through the Kubernetes API server's pod proxy.
    type: str
  request_timeout:
    description: Seconds per REST request.
    type: int
    default: 10
"""
