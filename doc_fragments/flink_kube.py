# -*- coding: utf-8 -*-
"""Documentation shared by the modules that reach a Kubernetes cluster.

DOCUMENTATION: how the modules that reach a Flink JobManager (flink_drill, flink_health_gate,
flink_job) find it; their argspec shares _flink_kube.FLINK_REST_ARGS the same way.
AUTH (flink_kube.auth): the way to the Kubernetes API, kubernetes.core's authentication options
(its k8s_auth_options fragment) as _flink_kube.AUTH_ARGS takes them, for every module of the
action group (flink_attributes.action_group)."""

from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
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

    # The options, aliases and environment variables of kubernetes.core's k8s_auth_options, so
    # that what reaches a cluster with kubernetes.core.k8s reaches it with these modules.
    AUTH = r"""
options:
  kubeconfig:
    description:
      - Path of the kubeconfig; several paths separated by C(:) are merged, as with E(KUBECONFIG).
      - Can also be given by the E(K8S_AUTH_KUBECONFIG) environment variable.
      - Unlike the C(kubernetes.core) modules' C(kubeconfig), a path only, not a dictionary.
      - Without C(kubeconfig), C(context) or C(host) with credentials, the client's default
        kubeconfig (E(KUBECONFIG), else C(~/.kube/config)) when it exists, else the pod's service
        account when the module runs in a pod (see the notes).
    type: path
  context:
    description:
      - The context in the kubeconfig (default its current-context).
      - Can also be given by the E(K8S_AUTH_CONTEXT) environment variable.
    type: str
  host:
    description:
      - URL of the Kubernetes API server. With C(api_key), or C(client_cert) and C(client_key), no
        kubeconfig is read; else it overrides the server of the kubeconfig's context.
      - Can also be given by the E(K8S_AUTH_HOST) environment variable.
    type: str
  api_key:
    description:
      - Bearer token for the API server.
      - Can also be given by the E(K8S_AUTH_API_KEY) environment variable.
    type: str
  validate_certs:
    description:
      - Whether to verify the API server's TLS certificate (default what the kubeconfig says, else yes).
      - Can also be given by the E(K8S_AUTH_VALIDATE_CERTS) or E(K8S_AUTH_VERIFY_SSL) environment variable.
    type: bool
    aliases: [verify_ssl]
  ca_cert:
    description:
      - Path of the CA certificate (the full chain) that signed the API server's certificate.
      - Can also be given by the E(K8S_AUTH_CA_CERT) or E(K8S_AUTH_SSL_CA_CERT) environment variable.
    type: path
    aliases: [ssl_ca_cert]
  client_cert:
    description:
      - Path of a client certificate for the API server.
      - Can also be given by the E(K8S_AUTH_CLIENT_CERT) or E(K8S_AUTH_CERT_FILE) environment variable.
    type: path
    aliases: [cert_file]
  client_key:
    description:
      - Path of the key of C(client_cert).
      - Can also be given by the E(K8S_AUTH_CLIENT_KEY) or E(K8S_AUTH_KEY_FILE) environment variable.
    type: path
    aliases: [key_file]
  proxy:
    description:
      - URL of an HTTP proxy to the API server; E(HTTPS_PROXY) and the like are not read.
      - Can also be given by the E(K8S_AUTH_PROXY) environment variable.
    type: str
  no_proxy:
    description:
      - Comma-separated hosts, domains and CIDRs that C(proxy) is not used for.
      - Can also be given by the E(K8S_AUTH_NO_PROXY) environment variable.
    type: str
  proxy_headers:
    description: Headers for C(proxy).
    type: dict
    suboptions:
      proxy_basic_auth:
        description:
          - C(username:password) for the proxy's basic authentication.
          - Can also be given by the E(K8S_AUTH_PROXY_HEADERS_PROXY_BASIC_AUTH) environment variable.
        type: str
      basic_auth:
        description:
          - C(username:password) for a basic authentication header.
          - Can also be given by the E(K8S_AUTH_PROXY_HEADERS_BASIC_AUTH) environment variable.
        type: str
      user_agent:
        description:
          - The User-Agent header.
          - Can also be given by the E(K8S_AUTH_PROXY_HEADERS_USER_AGENT) environment variable.
        type: str
  persist_config:
    description:
      - Whether a token the client refreshes (OIDC, for one) is written back to the kubeconfig
        (default yes, the Python client's default; the C(kubernetes.core) modules' is no).
      - Can also be given by the E(K8S_AUTH_PERSIST_CONFIG) environment variable.
    type: bool
  impersonate_user:
    description:
      - User to act as (the Impersonate-User header).
      - Can also be given by the E(K8S_AUTH_IMPERSONATE_USER) environment variable.
    type: str
  impersonate_groups:
    description:
      - Groups to act as (Impersonate-Group headers).
      - Can also be given by the E(K8S_AUTH_IMPERSONATE_GROUPS) environment variable, comma-separated.
    type: list
    elements: str
notes:
  - The connection options are C(kubernetes.core)'s (its C(kubernetes.core.k8s_auth_options)) but for
    C(username) and C(password), which the Kubernetes API server no longer takes. Each one not given
    comes from its E(K8S_AUTH_*) environment variable when that is set.
  - "The way to the cluster: (1) C(host) with C(api_key), or with C(client_cert) and C(client_key):
    that host with those credentials, no kubeconfig; (2) else, with C(kubeconfig) or C(context): that
    kubeconfig (default E(KUBECONFIG), else C(~/.kube/config)) and context (default its
    current-context); (3) else the default kubeconfig when it exists, else the service account of
    the pod the module runs in (E(KUBERNETES_SERVICE_HOST) and the token Kubernetes mounts). The
    C(kubernetes.core) modules try the pod before the default kubeconfig; these take the kubeconfig
    first, as kubectl does. The options that are set then override what the kubeconfig or the pod
    says (C(host), C(api_key), C(validate_certs), the certificates, the proxy)."
  - A failure to reach the cluster names the kubeconfig, context, host or in-cluster service account
    it tried, and the E(K8S_AUTH_*) variable an option came from.
"""
