# -*- coding: utf-8 -*-
"""Kubernetes access for the rollout modules: an API client from kubernetes.core's authentication
options (a kubeconfig, a host with a token or a client certificate, or the pod's service account),
raw JSON reads, the Flink REST client through the pod proxy, and a short status line of a pod."""

from __future__ import annotations

import json
import os
import re
from urllib.parse import quote

from ansible.module_utils._flink_rest import FlinkRestClient, HttpTransport, KubePodProxyTransport
from ansible.module_utils._flinkfleet_errors import FlinkfleetError

# kubernetes.core's authentication options (its module_utils/args_common.py AUTH_ARG_SPEC) by the
# same names, aliases and K8S_AUTH_* variables, documented in doc_fragments/flink_kube.py (AUTH):
# what reaches a cluster with kubernetes.core.k8s reaches it with our modules. Not its kubeconfig
# as a dictionary (a path here: kubernetes.core marks it no_log for the dictionary's secrets, which
# would mask the path in every message naming it), nor username and password (basic auth, which
# neither the API server since 1.19 nor the Python client's ApiClient has any more).
AUTH_ARGS = dict(
    kubeconfig=dict(type="path"),
    context=dict(type="str"),
    host=dict(type="str"),
    api_key=dict(type="str", no_log=True),
    validate_certs=dict(type="bool", aliases=["verify_ssl"]),
    ca_cert=dict(type="path", aliases=["ssl_ca_cert"]),
    client_cert=dict(type="path", aliases=["cert_file"]),
    client_key=dict(type="path", aliases=["key_file"], no_log=False),
    proxy=dict(type="str"),
    no_proxy=dict(type="str"),
    proxy_headers=dict(type="dict", options=dict(
        proxy_basic_auth=dict(type="str", no_log=True),
        basic_auth=dict(type="str", no_log=True),
        user_agent=dict(type="str"),
    )),
    persist_config=dict(type="bool"),
    impersonate_user=dict(type="str"),
    impersonate_groups=dict(type="list", elements="str"),
)
KUBE_ARGS = dict(
    AUTH_ARGS,
    namespace=dict(type="str", required=True),
)
# KUBE_ARGS plus how to reach the JobManager's REST API (documented in doc_fragments/flink_kube.py).
FLINK_REST_ARGS = dict(
    KUBE_ARGS,
    jobmanager_pod=dict(type="str"),
    rest_port=dict(type="int", default=8081),
    base_url=dict(type="str"),
    request_timeout=dict(type="int", default=10),
)

# The environment variables of an option not given, first set one wins: kubernetes.core's
# client.py reads K8S_AUTH_<option> and then K8S_AUTH_<the Python client's name for it>.
AUTH_ENV = {
    "kubeconfig": ("K8S_AUTH_KUBECONFIG",),
    "context": ("K8S_AUTH_CONTEXT",),
    "host": ("K8S_AUTH_HOST",),
    "api_key": ("K8S_AUTH_API_KEY",),
    "validate_certs": ("K8S_AUTH_VALIDATE_CERTS", "K8S_AUTH_VERIFY_SSL"),
    "ca_cert": ("K8S_AUTH_CA_CERT", "K8S_AUTH_SSL_CA_CERT"),
    "client_cert": ("K8S_AUTH_CLIENT_CERT", "K8S_AUTH_CERT_FILE"),
    "client_key": ("K8S_AUTH_CLIENT_KEY", "K8S_AUTH_KEY_FILE"),
    "proxy": ("K8S_AUTH_PROXY",),
    "no_proxy": ("K8S_AUTH_NO_PROXY",),
    "persist_config": ("K8S_AUTH_PERSIST_CONFIG",),
    "impersonate_user": ("K8S_AUTH_IMPERSONATE_USER",),
    "impersonate_groups": ("K8S_AUTH_IMPERSONATE_GROUPS",),
}
PROXY_HEADERS_ENV = {
    "proxy_basic_auth": "K8S_AUTH_PROXY_HEADERS_PROXY_BASIC_AUTH",
    "basic_auth": "K8S_AUTH_PROXY_HEADERS_BASIC_AUTH",
    "user_agent": "K8S_AUTH_PROXY_HEADERS_USER_AGENT",
}
# What Kubernetes mounts into a pod for its service account (kubernetes.config.incluster_config's
# paths; a test points this elsewhere).
SERVICE_ACCOUNT_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"
DEFAULT_KUBECONFIG = "~/.kube/config"


def auth_args(params):
    """The authentication options (AUTH_ARGS) set in module params, for api_client(**...)."""
    return {name: params[name] for name in AUTH_ARGS if _is_set(params.get(name))}


def _is_set(value):
    # An empty string or list is not given: a role passes `context: ""` for "the current one".
    return value is not None and not (isinstance(value, (str, list, dict)) and not value)


def _env_value(option, value):
    kind = AUTH_ARGS[option].get("type", "str")
    if kind == "bool":
        return value.lower() not in ("0", "false", "no")
    if kind == "list":
        return [item.strip() for item in value.split(",") if item.strip()]
    return value


def _settings(given, environ):
    """({option: value}, {option: the environment variable it came from, or None for an argument}):
    an option given wins, else its K8S_AUTH_* variable, option by option (as kubernetes.core)."""
    settings, sources = {}, {}
    for option in AUTH_ARGS:
        if _is_set(given.get(option)):
            settings[option], sources[option] = given[option], None
            continue
        if option == "proxy_headers":
            headers = {key: environ[var] for key, var in PROXY_HEADERS_ENV.items() if environ.get(var)}
            if headers:
                settings[option] = headers
                sources[option] = ", ".join(PROXY_HEADERS_ENV[key] for key in sorted(headers))
            continue
        for var in AUTH_ENV[option]:
            if environ.get(var):
                settings[option], sources[option] = _env_value(option, environ[var]), var
                break
    if settings.get("host"):
        settings["host"] = settings["host"].rstrip("/")
    for option in ("ca_cert", "client_cert", "client_key"):
        if settings.get(option):
            settings[option] = os.path.expanduser(settings[option])
    return settings, sources


class KubeTarget:
    """Where and how the modules reach a Kubernetes API, as kube_target() resolved it: mode is
    "kubeconfig", "host" (host with api_key or client_cert and client_key) or "in-cluster" (the
    pod's service account); configuration is the client's, every option applied."""

    def __init__(self, mode, server, configuration, sources, settings, context="", kubeconfig="", kubeconfig_source=None):
        self.mode = mode
        self.server = server
        self.configuration = configuration
        self.sources = sources
        self.settings = settings
        self.context = context
        self.kubeconfig = kubeconfig
        self.kubeconfig_source = kubeconfig_source

    def describe(self):
        """What chose the server, for a message: "context 'a'", "host from K8S_AUTH_HOST",
        "in-cluster service account", ..."""
        parts = []
        if self.settings.get("host"):
            parts.append("host from %s" % self.sources["host"] if self.sources.get("host") else "host option")
        if self.mode == "kubeconfig":
            part = "context '%s'%s" % (self.context, " from %s" % self.sources["context"] if self.sources.get("context") else "")
            if self.kubeconfig_source:
                part += " of kubeconfig %s from %s" % (self.kubeconfig, self.kubeconfig_source)
            parts.append(part)
        elif self.mode == "in-cluster":
            parts.append("in-cluster service account")
        return ", ".join(parts)

    def client(self):
        """An ApiClient on this target (no request made yet), with the impersonation headers."""
        from kubernetes.client import ApiClient

        client = ApiClient(configuration=self.configuration)
        if self.settings.get("impersonate_user"):
            client.set_default_header("Impersonate-User", self.settings["impersonate_user"])
        for group in self.settings.get("impersonate_groups") or []:
            # One header line per group, as the API server reads them: distinct keys of one name
            # (kubernetes.core's client.py does the same).
            client.default_headers[_HeaderName("Impersonate-Group")] = group
        return client


class _HeaderName(str):
    """A header name equal only to itself, so that a dict of headers holds one name several times."""

    __hash__ = object.__hash__

    def __eq__(self, other):
        return self is other

    def __ne__(self, other):
        return self is not other

    def lower(self):
        return _HeaderName(str.lower(self))


def _named(option, value, sources):
    return "%s %s%s" % (option, value, " (%s)" % sources[option] if sources.get(option) else "")


def kube_target(kubeconfig=None, context=None, environ=None, **options):
    """The KubeTarget of kubernetes.core's authentication options (AUTH_ARGS; each one not given
    taken from its K8S_AUTH_* variable), or an error naming what is wrong with which of them:
      1. host with api_key, or with client_cert and client_key: that host, those credentials;
      2. kubeconfig or context: that kubeconfig (default the client's: KUBECONFIG, else
         ~/.kube/config) and context (default its current-context);
      3. neither: the default kubeconfig when it exists, else the pod's service account
         (KUBERNETES_SERVICE_HOST and the token Kubernetes mounts) when running in a pod.
    The options that are set then override what the kubeconfig or the pod says (host, api_key,
    validate_certs, ca_cert, client_cert, client_key, proxy, no_proxy, proxy_headers).
    kubernetes.core looks for a pod before the default kubeconfig; this keeps the kubeconfig first
    as kubectl does (and as these modules always did)."""
    environ = os.environ if environ is None else environ
    given = dict(options, kubeconfig=kubeconfig, context=context)
    unknown = sorted(set(given) - set(AUTH_ARGS))
    if unknown:
        raise TypeError("unknown Kubernetes authentication options: %s" % ", ".join(unknown))
    settings, sources = _settings(given, environ)
    for option in ("ca_cert", "client_cert", "client_key"):
        if settings.get(option) and not os.path.isfile(settings[option]):
            raise FlinkfleetError("%s does not exist" % _named(option, settings[option], sources))
    try:
        from kubernetes.client import Configuration
    except ImportError as exc:  # pragma: no cover - the venv has it
        raise FlinkfleetError("The kubernetes Python client is needed: pip install kubernetes") from exc
    configuration = Configuration()
    host = settings.get("host")
    if host and (settings.get("api_key") or (settings.get("client_cert") and settings.get("client_key"))):
        target = KubeTarget("host", host, configuration, sources, settings)
    elif settings.get("kubeconfig") or settings.get("context") or _default_kubeconfig_exists(environ) \
            or not environ.get("KUBERNETES_SERVICE_HOST"):
        target = _kubeconfig_target(configuration, settings, sources, environ)
    else:
        target = _in_cluster_target(configuration, settings, sources, environ)
    _override(configuration, settings)
    return target


def _default_kubeconfig(environ):
    """(the client's default kubeconfig path or paths, "KUBECONFIG" when they come from it)."""
    if environ.get("KUBECONFIG"):
        return environ["KUBECONFIG"], "KUBECONFIG"
    return DEFAULT_KUBECONFIG, None


def _default_kubeconfig_exists(environ):
    paths, _source = _default_kubeconfig(environ)
    return any(os.path.exists(os.path.expanduser(p)) for p in paths.split(os.pathsep) if p)


def _kubeconfig_target(configuration, settings, sources, environ):
    from kubernetes.config.kube_config import KubeConfigLoader, KubeConfigMerger

    if settings.get("kubeconfig"):
        paths, source = settings["kubeconfig"], sources.get("kubeconfig")
    else:
        paths, source = _default_kubeconfig(environ)
    files = [os.path.expanduser(p) for p in paths.split(os.pathsep) if p]
    shown = os.pathsep.join(files)
    named = "%s%s" % (shown, " (%s)" % source if source else "")
    if not any(os.path.exists(f) for f in files):
        if settings.get("kubeconfig") or settings.get("context"):
            raise FlinkfleetError("kubeconfig %s does not exist" % named)
        if settings.get("host"):
            without = "%s comes without api_key or client_cert and client_key" % _named("host", settings["host"], sources)
        else:
            without = "no host with api_key or client_cert and client_key was given (options or K8S_AUTH_* variables)"
        raise FlinkfleetError("kubeconfig %s does not exist, %s, and this is not a pod with a service account "
                              "(KUBERNETES_SERVICE_HOST is not set)" % (named, without))
    try:
        merger = KubeConfigMerger(paths)
    except Exception as exc:
        raise FlinkfleetError("kubeconfig %s cannot be read: %s" % (named, exc)) from exc
    doc = _node(merger.config) or {}
    if not isinstance(doc, dict):
        raise FlinkfleetError("kubeconfig %s cannot be read: not a kubeconfig" % named)
    contexts = {}
    for item in doc.get("contexts") or []:
        item = _node(item) or {}
        contexts[item.get("name")] = _node(item.get("context")) or {}
    name = settings.get("context") or doc.get("current-context") or ""
    if not name:
        raise FlinkfleetError("kubeconfig %s has no current-context and no context was given (it has: %s)"
                              % (named, ", ".join(sorted(str(c) for c in contexts)) or "none"))
    context = _named("context", "'%s'" % name, sources) if settings.get("context") else "context '%s'" % name
    if name not in contexts:
        raise FlinkfleetError("%s is not in kubeconfig %s (it has: %s)"
                              % (context, named, ", ".join(sorted(str(c) for c in contexts)) or "none"))
    clusters = {}
    for item in doc.get("clusters") or []:
        item = _node(item) or {}
        clusters[item.get("name")] = _node(item.get("cluster")) or {}
    cluster = clusters.get(contexts[name].get("cluster"))
    if not cluster or not cluster.get("server"):
        raise FlinkfleetError("%s in kubeconfig %s names cluster '%s', which has no server"
                              % (context, named, contexts[name].get("cluster")))
    persist = settings.get("persist_config", True)
    try:
        KubeConfigLoader(config_dict=merger.config, active_context=name, config_base_path=None,
                         config_persister=merger.save_changes if persist else None).load_and_set(configuration)
    except Exception as exc:  # an exec plugin, OIDC, certificate data: the client's own errors
        raise FlinkfleetError("%s in kubeconfig %s cannot be used: %s" % (context, named, exc)) from exc
    return KubeTarget("kubeconfig", settings.get("host") or configuration.host, configuration, sources, settings,
                      context=name, kubeconfig=shown, kubeconfig_source=source)


def _node(value):
    """The plain value of what kubernetes.config's KubeConfigMerger holds (a ConfigNode or not)."""
    return getattr(value, "value", value)


def _in_cluster_target(configuration, settings, sources, environ):
    from kubernetes.config.config_exception import ConfigException
    from kubernetes.config.incluster_config import InClusterConfigLoader

    token = os.path.join(SERVICE_ACCOUNT_DIR, "token")
    ca_cert = os.path.join(SERVICE_ACCOUNT_DIR, "ca.crt")
    where = "in-cluster service account (KUBERNETES_SERVICE_HOST=%s; no kubeconfig %s)" % (
        environ.get("KUBERNETES_SERVICE_HOST"), os.path.expanduser(_default_kubeconfig(environ)[0]))
    for what, path in (("token", token), ("CA certificate", ca_cert)):
        if not os.path.isfile(path):
            raise FlinkfleetError("%s: its %s %s does not exist" % (where, what, path))
    try:
        InClusterConfigLoader(token_filename=token, cert_filename=ca_cert, environ=environ).load_and_set(configuration)
    except (ConfigException, OSError) as exc:
        raise FlinkfleetError("%s cannot be used: %s" % (where, exc)) from exc
    return KubeTarget("in-cluster", settings.get("host") or configuration.host, configuration, sources, settings)


def _override(configuration, settings):
    """The options that are set, over what the kubeconfig or the pod said (kubernetes.core's order)."""
    if settings.get("host"):
        configuration.host = settings["host"]
    if settings.get("api_key"):
        configuration.api_key = {"authorization": "Bearer %s" % settings["api_key"]}
        # Else the kubeconfig's token refresh (exec plugin, the pod's token) would put its own back.
        configuration.refresh_api_key_hook = None
    if settings.get("validate_certs") is not None:
        configuration.verify_ssl = settings["validate_certs"]
    for option, attribute in (("ca_cert", "ssl_ca_cert"), ("client_cert", "cert_file"), ("client_key", "key_file"),
                              ("proxy", "proxy"), ("no_proxy", "no_proxy")):
        if settings.get(option):
            setattr(configuration, attribute, settings[option])
    if settings.get("proxy_headers"):
        import urllib3

        configuration.proxy_headers = urllib3.util.make_headers(
            **{key: value for key, value in settings["proxy_headers"].items() if value is not None})


def api_client(kubeconfig=None, context=None, **auth):
    """An ApiClient from kubernetes.core's authentication options (AUTH_ARGS, kube_target()),
    kubeconfig and context first for the callers that give only those."""
    return kube_target(kubeconfig, context, **auth).client()


def _request(client, method, path, query=None, accept="application/json", body=None, content_type="application/json",
             timeout=10):
    """The raw response of one Kubernetes API call over the client's connection and credentials."""
    headers = {"Accept": accept}
    if body is not None:
        headers["Content-Type"] = content_type
    method, url, headers, body, _post = client.param_serialize(
        method=method, resource_path=path, query_params=query or [], header_params=headers, body=body,
        auth_settings=["BearerToken"])
    try:
        response = client.call_api(method, url, header_params=headers, body=body, _request_timeout=timeout)
        response.read()
    except Exception as exc:
        raise FlinkfleetError("%s %s from the Kubernetes API failed: %s" % (method, path, exc)) from exc
    return response


def _get(client, path, query=None, accept="application/json", timeout=10):
    return _request(client, "GET", path, query, accept, timeout=timeout)


def call_json(client, method, path, body=None, query=None, content_type="application/json", timeout=10):
    """(HTTP status, the parsed JSON answer or None) of one Kubernetes API call, over the client's
    connection and credentials. Raw paths, not the typed API classes: importing kubernetes'
    CoreV1Api and its models costs a module run about 0.6 s of CPU, more than all its calls
    (fleet speed: every cluster of a rollout pays it in each module run)."""
    response = _request(client, method, path, query, body=body, content_type=content_type, timeout=timeout)
    data = response.data
    try:
        return response.status, json.loads(data) if data else None
    except ValueError:
        return response.status, {"message": data[:300].decode("utf-8", "replace")}


def api_message(answer):
    """The Kubernetes API's message in an answer of call_json (a Status), short enough for an error."""
    return ((answer or {}).get("message") or "")[:300]


def update_revision(statefulset):
    """The StatefulSet's update revision once its controller has seen the current template, else
    None (a pod's controller-revision-hash label says which revision it runs)."""
    status = (statefulset or {}).get("status") or {}
    if status.get("observedGeneration", 0) < ((statefulset or {}).get("metadata") or {}).get("generation", 0):
        return None
    return status.get("updateRevision") or None


def pod_revision(pod):
    """The StatefulSet revision a pod (its JSON) runs."""
    return ((pod.get("metadata") or {}).get("labels") or {}).get("controller-revision-hash")


def json_getter(client, timeout=10):
    """A function path -> parsed JSON, or None on 404."""

    def get_json(path):
        response = _get(client, path, timeout=timeout)
        if response.status == 404:
            return None
        if response.status >= 400:
            raise FlinkfleetError("GET %s from the Kubernetes API: HTTP %s %s" % (path, response.status, response.data[:300]))
        return json.loads(response.data)

    return get_json


def previous_log_getter(client, timeout=10, tail_lines=400):
    """A function (namespace, pod, container, previous=True) -> the tail of the container's
    previous run's log (previous=False: of its current, perhaps ended, run), or None when the
    API has none."""

    def get_log(namespace, pod, container, previous=True):
        path = "/api/v1/namespaces/%s/pods/%s/log" % (namespace, pod)
        query = [("container", container), ("previous", "true" if previous else "false"), ("tailLines", str(tail_lines))]
        response = _get(client, path, query, accept="*/*", timeout=timeout)
        return response.data.decode("utf-8", "replace") if response.status < 400 else None

    return get_log


def pod_status_line(get_json, namespace, pod):
    """'pod <name>: Running, ready' / 'pod <name>: Pending, flink: ImagePullBackOff (msg)'."""
    data = get_json("/api/v1/namespaces/%s/pods/%s" % (namespace, pod))
    if data is None:
        return "pod %s does not exist" % pod
    status = data.get("status") or {}
    parts = [status.get("phase", "?")]
    for cs in status.get("containerStatuses") or []:
        state = cs.get("state") or {}
        if "waiting" in state:
            waiting = state["waiting"]
            parts.append("%s: %s%s" % (cs.get("name"), waiting.get("reason"),
                                       " (%s)" % waiting["message"][:160] if waiting.get("message") else ""))
        elif "terminated" in state:
            parts.append("%s: terminated %s exit %s" % (cs.get("name"), state["terminated"].get("reason"),
                                                        state["terminated"].get("exitCode")))
        else:
            parts.append("%s: %s, %d restarts" % (cs.get("name"), "ready" if cs.get("ready") else "not ready",
                                                  cs.get("restartCount", 0)))
        last = (cs.get("lastState") or {}).get("terminated")
        if last:
            parts.append("last exit %s (%s)" % (last.get("exitCode"), last.get("reason")))
    for cond in status.get("conditions") or []:
        if cond.get("type") == "PodScheduled" and cond.get("status") != "True":
            said = cond.get("message") or cond.get("reason") or ""
            parts.append("unschedulable: %s" % said)
            if "taint" in said:
                parts.extend(node_taint_lines(get_json))
    return "pod %s: %s" % (pod, ", ".join(parts))


def node_taint_lines(get_json):
    """'node n1 tainted node.kubernetes.io/disk-pressure:NoSchedule (DiskPressure: kubelet has
    disk pressure)' for each tainted node: the scheduler says only "untolerated taint(s)", and a
    node short of disk or memory is the usual one, which its condition explains. Nothing when
    the user may not list nodes."""
    try:
        nodes = get_json("/api/v1/nodes")
    except FlinkfleetError:
        return []
    lines = []
    for node in (nodes or {}).get("items") or []:
        pressed = ["%s: %s" % (c.get("type"), c.get("message") or "True")
                   for c in (node.get("status") or {}).get("conditions") or []
                   if c.get("type", "").endswith("Pressure") and c.get("status") == "True"]
        for taint in (node.get("spec") or {}).get("taints") or []:
            lines.append("node %s tainted %s%s:%s%s" % (
                (node.get("metadata") or {}).get("name"), taint.get("key"),
                "=%s" % taint["value"] if taint.get("value") else "", taint.get("effect"),
                " (%s)" % "; ".join(pressed) if pressed else ""))
    return lines


# The annotation a Deployment and the ReplicaSet of its current revision share.
_DEPLOYMENT_REVISION = "deployment.kubernetes.io/revision"

# Waiting reasons that more waiting cannot cure.
_HOPELESS_WAITING = ("InvalidImageName", "ErrImageNeverPull")


_TELLING = re.compile(r"\b(ERROR|FATAL)\b|Exception\b|Caused by|Error:")


def _telling_lines(log, count=3):
    """The last lines of a container's log that say what went wrong: errors and exceptions if
    there are any (a JVM logs its orderly shutdown after the error), else the last lines; never
    stack frames ("at ...")."""
    lines = [line.strip() for line in log.splitlines()
             if line.strip() and not line.strip().startswith(("at ", "..."))]
    telling = [line for line in lines if _TELLING.search(line)]
    return [line[:400] for line in (telling or lines)[-count:]]


def pod_blocker(get_json, namespace, pod, max_restarts, statefulset=None, get_log=None):
    """Why the pod cannot become healthy by waiting longer, or None: a container crash-looping
    after max_restarts restarts (crashed and waiting to run again: CrashLoopBackOff or an exit
    with an error; with its last exit and log lines), an image the
    registry does not have, or an image name that cannot be pulled. max_restarts 0 turns it off.
    With statefulset, only a pod of its update revision counts: the pod of the revision being
    replaced (say, the broken one a rollback undoes) is on its way out, not a verdict. get_log
    reads the crashed run's log (its termination message keeps only the last 2 KB, often the
    JVM's orderly shutdown after the error)."""
    if max_restarts <= 0:
        return None
    data = get_json("/api/v1/namespaces/%s/pods/%s" % (namespace, pod))
    if data is None or (data.get("metadata") or {}).get("deletionTimestamp"):
        return None
    if statefulset:
        # None while the controller has not taken the new revision in yet.
        revision = update_revision(get_json("/apis/apps/v1/namespaces/%s/statefulsets/%s" % (namespace, statefulset)))
        if not revision or pod_revision(data) != revision:
            return None
    return _container_blocker(data, namespace, pod, max_restarts, get_log)


def _crashed_and_waiting(state, waiting_reason):
    """Whether the container's latest run ended in an error and it waits to be started again:
    CrashLoopBackOff, or the state between the crash and the kubelet's next look at the pod,
    "terminated" with a non-zero exit. A kubelet with a short crashLoopBackOff (the testbed's
    2 s) shows "terminated" for most of the 10-15 s between runs and CrashLoopBackOff for under
    a second, if at all, so a gate that waited for CrashLoopBackOff missed restart after restart."""
    if waiting_reason == "CrashLoopBackOff":
        return True
    terminated = state.get("terminated") or {}
    return bool(terminated) and terminated.get("exitCode", 0) != 0


def _container_blocker(data, namespace, pod, max_restarts, get_log=None):
    """Why a container of this pod (its JSON) cannot become healthy by waiting, or None."""
    for cs in (data.get("status") or {}).get("containerStatuses") or []:
        state = cs.get("state") or {}
        waiting = state.get("waiting") or {}
        reason, message = waiting.get("reason"), (waiting.get("message") or "").strip()
        where = "container %s of pod %s" % (cs.get("name"), pod)
        if _crashed_and_waiting(state, reason) and cs.get("restartCount", 0) >= max_restarts:
            last = state.get("terminated") or (cs.get("lastState") or {}).get("terminated") or {}
            log = last.get("message") or ""
            if get_log:
                try:
                    # An ended run that has not been restarted yet is still the current one.
                    log = get_log(namespace, pod, cs.get("name"), previous="terminated" not in state) or log
                except FlinkfleetError:
                    pass
            said = _telling_lines(log)
            return "%s is crash-looping after %d restarts (last exit %s, %s)%s" % (
                where, cs.get("restartCount", 0), last.get("exitCode"), last.get("reason"),
                "; its log: " + " | ".join(said) if said else "")
        if reason in ("ErrImagePull", "ImagePullBackOff") and ("not found" in message or "manifest unknown" in message):
            return "%s cannot pull its image %s: %s" % (where, cs.get("image"), message[:300])
        if reason in _HOPELESS_WAITING:
            return "%s: %s (%s)" % (where, reason, message[:300])
    return None


def deployment_blocker(get_json, namespace, deployment, max_restarts, get_log=None):
    """Why a pod of the Deployment's update revision (the ReplicaSet of its current revision)
    cannot become healthy by waiting longer, or None; the reasons are pod_blocker's. Pods of
    older revisions (say, the crash-looping TaskManagers a rollback replaces) are on their way
    out, not a verdict, and so is everything before the controller took the new spec in.
    max_restarts 0 turns it off."""
    if max_restarts <= 0:
        return None
    dep = get_json("/apis/apps/v1/namespaces/%s/deployments/%s" % (namespace, deployment))
    if dep is None:
        return None
    meta = dep.get("metadata") or {}
    if (dep.get("status") or {}).get("observedGeneration", 0) < meta.get("generation", 0):
        return None
    revision = (meta.get("annotations") or {}).get(_DEPLOYMENT_REVISION)
    labels = ((dep.get("spec") or {}).get("selector") or {}).get("matchLabels") or {}
    if not revision or not labels:
        return None
    selector = ",".join("%s=%s" % item for item in sorted(labels.items()))
    sets = get_json("/apis/apps/v1/namespaces/%s/replicasets?labelSelector=%s" % (namespace, quote(selector, safe="=,/")))
    current = [rs for rs in (sets or {}).get("items") or []
               if ((rs.get("metadata") or {}).get("annotations") or {}).get(_DEPLOYMENT_REVISION) == revision
               and any(ref.get("uid") == meta.get("uid") for ref in (rs.get("metadata") or {}).get("ownerReferences") or [])]
    if len(current) != 1:
        return None
    template_hash = (current[0]["metadata"].get("labels") or {}).get("pod-template-hash")
    if not template_hash:
        return None
    pods = get_json("/api/v1/namespaces/%s/pods?labelSelector=%s" % (
        namespace, quote("%s,pod-template-hash=%s" % (selector, template_hash), safe="=,/")))
    for data in sorted((pods or {}).get("items") or [], key=lambda p: (p.get("metadata") or {}).get("name", "")):
        pod_meta = data.get("metadata") or {}
        if pod_meta.get("deletionTimestamp"):
            continue
        found = _container_blocker(data, namespace, pod_meta.get("name"), max_restarts, get_log)
        if found:
            return found
    return None


def workload_blocker(get_json, namespace, pod, max_restarts, statefulset=None, deployment=None, get_log=None):
    """Why the deployment cannot become healthy by waiting longer, or None: the JobManager pod
    (pod_blocker), then, with deployment, the TaskManager pods of its current revision
    (deployment_blocker)."""
    found = pod_blocker(get_json, namespace, pod, max_restarts, statefulset, get_log)
    if found or not deployment:
        return found
    return deployment_blocker(get_json, namespace, deployment, max_restarts, get_log)


def rest_client(params, client=None):
    """A FlinkRestClient from module params: base_url wins, else the pod proxy."""
    if params.get("base_url"):
        return FlinkRestClient(HttpTransport(params["base_url"]), timeout=params.get("request_timeout", 10))
    client = client or api_client(**auth_args(params))
    transport = KubePodProxyTransport(client, params["namespace"], params["jobmanager_pod"], params["rest_port"])
    return FlinkRestClient(transport, timeout=params.get("request_timeout", 10))
