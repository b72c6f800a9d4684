"""The way to the Kubernetes API (module_utils/_flink_kube.py kube_target/api_client and the
preflight's connect): kubernetes.core's authentication options and K8S_AUTH_* variables, their
order (option > K8S_AUTH_* > kubeconfig file > in-cluster service account), and errors that name
the kubeconfig, context, host or service account tried and the variable an option came from.

Every test runs in a made-up environment: no K8S_AUTH_*, KUBECONFIG or KUBERNETES_SERVICE_* of
the caller's, HOME in a temporary directory (so ~/.kube/config is the test's), and the in-cluster
service account directory a temporary one. The same ways against the testbed cluster (read only):
tests/integration/test_kube_auth.py."""

import json
import os
import re
import socket
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
import yaml

import ansible.module_utils._flink_kube as kube
from ansible.module_utils._flink_preflight import connect, kubeconfig_target
from ansible.module_utils._flinkfleet_errors import FlinkfleetError
from kube_env import clean_kube_env

@pytest.fixture(name="env", autouse=True)
def fixture_env(tmp_path, monkeypatch):
    """A clean environment: returns a function that sets variables ({name: value}, "{tmp}" replaced)."""
    return clean_kube_env(monkeypatch, tmp_path)


def write_kubeconfig(path, server, current="a", token="kc-token"):
    doc = {
        "apiVersion": "v1", "kind": "Config",
        "clusters": [{"name": "c1", "cluster": {"server": server, "insecure-skip-tls-verify": True}}],
        "contexts": [{"name": "a", "context": {"cluster": "c1", "user": "u"}},
                     {"name": "b", "context": {"cluster": "gone", "user": "u"}}],
        "users": [{"name": "u", "user": {"token": token}}],
    }
    if current:
        doc["current-context"] = current
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(doc))
    return str(path)


def service_account(tmp_path, token="sa-token", ca="CA"):
    """The files Kubernetes mounts into a pod, in the test's service account directory."""
    directory = tmp_path / "serviceaccount"
    directory.mkdir(exist_ok=True)
    (directory / "token").write_text(token)
    (directory / "ca.crt").write_text(ca)
    return directory


@pytest.fixture(name="files")
def fixture_files(tmp_path):
    """Kubeconfigs whose servers say which one was read: given (the option), env
    (K8S_AUTH_KUBECONFIG), kubeconfig_var (KUBECONFIG), home (~/.kube/config); a CA and a client
    certificate and key (their content does not matter until a TLS handshake)."""
    write_kubeconfig(tmp_path / "given.yaml", "https://given:6443")
    write_kubeconfig(tmp_path / "env.yaml", "https://env:6443")
    write_kubeconfig(tmp_path / "kubeconfig_var.yaml", "https://kubeconfig-var:6443")
    for name in ("ca.crt", "client.crt", "client.key"):
        (tmp_path / name).write_text(name)
    return tmp_path


def home_kubeconfig(tmp_path):
    return write_kubeconfig(tmp_path / "home" / ".kube" / "config", "https://home:6443")


def fill(value, tmp_path):
    if isinstance(value, str):
        return value.replace("{tmp}", str(tmp_path))
    if isinstance(value, (list, tuple)):
        return type(value)(fill(v, tmp_path) for v in value)
    if isinstance(value, dict):
        return {k: fill(v, tmp_path) for k, v in value.items()}
    return value


IN_POD = {"KUBERNETES_SERVICE_HOST": "10.96.0.1", "KUBERNETES_SERVICE_PORT": "443"}

# (id, options given, environment, ~/.kube/config exists, in a pod with its service account,
#  expected: mode, server, context, describe())
ORDER = [
    ("option kubeconfig over K8S_AUTH_KUBECONFIG", {"kubeconfig": "{tmp}/given.yaml"},
     {"K8S_AUTH_KUBECONFIG": "{tmp}/env.yaml"}, True, False,
     ("kubeconfig", "https://given:6443", "a", "context 'a'")),
    ("K8S_AUTH_KUBECONFIG without the option", {},
     {"K8S_AUTH_KUBECONFIG": "{tmp}/env.yaml", "KUBECONFIG": "{tmp}/kubeconfig_var.yaml"}, True, True,
     ("kubeconfig", "https://env:6443", "a", "context 'a' of kubeconfig {tmp}/env.yaml from K8S_AUTH_KUBECONFIG")),
    ("KUBECONFIG (the client's default) over ~/.kube/config", {}, {"KUBECONFIG": "{tmp}/kubeconfig_var.yaml"}, True,
     False, ("kubeconfig", "https://kubeconfig-var:6443", "a",
             "context 'a' of kubeconfig {tmp}/kubeconfig_var.yaml from KUBECONFIG")),
    ("~/.kube/config when nothing is given", {}, {}, True, False, ("kubeconfig", "https://home:6443", "a", "context 'a'")),
    ("~/.kube/config before the pod's service account", {}, IN_POD, True, True,
     ("kubeconfig", "https://home:6443", "a", "context 'a'")),
    ("in-cluster without any kubeconfig", {}, IN_POD, False, True,
     ("in-cluster", "https://10.96.0.1:443", "", "in-cluster service account")),
    ("in-cluster, KUBECONFIG naming no file", {}, dict(IN_POD, KUBECONFIG="{tmp}/none.yaml"), False, True,
     ("in-cluster", "https://10.96.0.1:443", "", "in-cluster service account")),
    ("option context over K8S_AUTH_CONTEXT", {"kubeconfig": "{tmp}/given.yaml", "context": "a"},
     {"K8S_AUTH_CONTEXT": "b"}, False, False, ("kubeconfig", "https://given:6443", "a", "context 'a'")),
    ("K8S_AUTH_CONTEXT over current-context", {"kubeconfig": "{tmp}/given.yaml"}, {"K8S_AUTH_CONTEXT": "a"},
     False, False, ("kubeconfig", "https://given:6443", "a", "context 'a' from K8S_AUTH_CONTEXT")),
    ("empty context option is not given", {"kubeconfig": "{tmp}/given.yaml", "context": ""},
     {"K8S_AUTH_CONTEXT": "a"}, False, False, ("kubeconfig", "https://given:6443", "a", "context 'a' from K8S_AUTH_CONTEXT")),
    ("K8S_AUTH_CONTEXT alone reads the default kubeconfig", {}, dict(IN_POD, K8S_AUTH_CONTEXT="a"), True, True,
     ("kubeconfig", "https://home:6443", "a", "context 'a' from K8S_AUTH_CONTEXT")),
    ("host and api_key options: no kubeconfig read", {"host": "https://h:6443/", "api_key": "k",
                                                      "kubeconfig": "{tmp}/given.yaml"},
     {}, True, True, ("host", "https://h:6443", "", "host option")),
    ("K8S_AUTH_HOST and K8S_AUTH_API_KEY", {}, {"K8S_AUTH_HOST": "https://h:6443", "K8S_AUTH_API_KEY": "k"}, True, True,
     ("host", "https://h:6443", "", "host from K8S_AUTH_HOST")),
    ("host option, K8S_AUTH_API_KEY", {"host": "https://h:6443"}, {"K8S_AUTH_API_KEY": "k"}, True, False,
     ("host", "https://h:6443", "", "host option")),
    ("K8S_AUTH_HOST with a client certificate (K8S_AUTH_CERT_FILE, K8S_AUTH_KEY_FILE)", {},
     {"K8S_AUTH_HOST": "https://h:6443", "K8S_AUTH_CERT_FILE": "{tmp}/client.crt", "K8S_AUTH_KEY_FILE": "{tmp}/client.key"},
     False, False, ("host", "https://h:6443", "", "host from K8S_AUTH_HOST")),
    ("host without credentials overrides the kubeconfig's server", {"kubeconfig": "{tmp}/given.yaml"},
     {"K8S_AUTH_HOST": "https://other:6443"}, False, False,
     ("kubeconfig", "https://other:6443", "a", "host from K8S_AUTH_HOST, context 'a'")),
    ("host without credentials overrides the pod's server", {"host": "https://other:6443"}, IN_POD, False, True,
     ("in-cluster", "https://other:6443", "", "host option, in-cluster service account")),
]


@pytest.mark.parametrize("given, environ, home, in_pod, expected",
                         [case[1:] for case in ORDER], ids=[case[0] for case in ORDER])
def test_resolution_order(tmp_path, files, env, given, environ, home, in_pod, expected):
    if home:
        home_kubeconfig(tmp_path)
    if in_pod:
        service_account(tmp_path)
    env(environ)
    target = kube.kube_target(**fill(given, tmp_path))
    mode, server, context, described = fill(expected, tmp_path)
    assert (target.mode, target.server, target.context, target.describe()) == (mode, server, context, described)
    assert target.configuration.host == server


# (id, options, environment, what the client's configuration then says)
SETTINGS = [
    ("api_key option over the kubeconfig's token", {"kubeconfig": "{tmp}/given.yaml", "api_key": "mine"}, {},
     {"token": "Bearer mine"}),
    ("the kubeconfig's token", {"kubeconfig": "{tmp}/given.yaml"}, {}, {"token": "Bearer kc-token"}),
    ("K8S_AUTH_API_KEY over the kubeconfig's token", {"kubeconfig": "{tmp}/given.yaml"}, {"K8S_AUTH_API_KEY": "env"},
     {"token": "Bearer env"}),
    ("K8S_AUTH_VERIFY_SSL=no", {"kubeconfig": "{tmp}/given.yaml"}, {"K8S_AUTH_VERIFY_SSL": "no"}, {"verify_ssl": False}),
    ("K8S_AUTH_VALIDATE_CERTS=yes over the kubeconfig's insecure-skip-tls-verify", {"kubeconfig": "{tmp}/given.yaml"},
     {"K8S_AUTH_VALIDATE_CERTS": "yes"}, {"verify_ssl": True}),
    ("K8S_AUTH_VALIDATE_CERTS before K8S_AUTH_VERIFY_SSL", {"kubeconfig": "{tmp}/given.yaml"},
     {"K8S_AUTH_VALIDATE_CERTS": "0", "K8S_AUTH_VERIFY_SSL": "true"}, {"verify_ssl": False}),
    ("validate_certs option over K8S_AUTH_VERIFY_SSL", {"kubeconfig": "{tmp}/given.yaml", "validate_certs": True},
     {"K8S_AUTH_VERIFY_SSL": "false"}, {"verify_ssl": True}),
    ("K8S_AUTH_SSL_CA_CERT, K8S_AUTH_CERT_FILE, K8S_AUTH_KEY_FILE",
     {"host": "https://h:6443"},
     {"K8S_AUTH_SSL_CA_CERT": "{tmp}/ca.crt", "K8S_AUTH_CERT_FILE": "{tmp}/client.crt", "K8S_AUTH_KEY_FILE": "{tmp}/client.key"},
     {"ssl_ca_cert": "{tmp}/ca.crt", "cert_file": "{tmp}/client.crt", "key_file": "{tmp}/client.key"}),
    ("K8S_AUTH_CA_CERT before K8S_AUTH_SSL_CA_CERT", {"host": "https://h:6443", "api_key": "k"},
     {"K8S_AUTH_CA_CERT": "{tmp}/ca.crt", "K8S_AUTH_SSL_CA_CERT": "{tmp}/client.crt"}, {"ssl_ca_cert": "{tmp}/ca.crt"}),
    ("proxy, no_proxy and proxy headers from K8S_AUTH_*", {"kubeconfig": "{tmp}/given.yaml"},
     {"K8S_AUTH_PROXY": "http://proxy:3128", "K8S_AUTH_NO_PROXY": "localhost,.svc",
      "K8S_AUTH_PROXY_HEADERS_USER_AGENT": "flinkfleet"},
     {"proxy": "http://proxy:3128", "no_proxy": "localhost,.svc", "proxy_headers": {"user-agent": "flinkfleet"}}),
    ("proxy_headers option over K8S_AUTH_PROXY_HEADERS_*", {"kubeconfig": "{tmp}/given.yaml",
                                                            "proxy_headers": {"proxy_basic_auth": "u:p", "user_agent": None}},
     {"K8S_AUTH_PROXY_HEADERS_USER_AGENT": "env"}, {"proxy_headers": {"proxy-authorization": "Basic dTpw"}}),
]


@pytest.mark.parametrize("given, environ, expected", [case[1:] for case in SETTINGS], ids=[case[0] for case in SETTINGS])
def test_options_reach_the_client_configuration(tmp_path, files, env, given, environ, expected):
    env(environ)
    configuration = kube.kube_target(**fill(given, tmp_path)).configuration

    def value(name):
        # "token": the Authorization header the client sends.
        return configuration.auth_settings()["BearerToken"]["value"] if name == "token" else getattr(configuration, name)

    assert {name: value(name) for name in expected} == fill(expected, tmp_path)


def test_in_cluster_token_and_ca_and_an_api_key_over_them(tmp_path, env):
    service_account(tmp_path, token="sa-token")
    env(IN_POD)
    configuration = kube.kube_target().configuration
    assert configuration.ssl_ca_cert == str(tmp_path / "serviceaccount" / "ca.crt")
    assert configuration.auth_settings()["BearerToken"]["value"] == "bearer sa-token"
    # The pod's token is re-read as it expires (its refresh hook); an api_key given stays.
    configuration = kube.kube_target(api_key="mine").configuration
    assert configuration.refresh_api_key_hook is None
    assert configuration.auth_settings()["BearerToken"]["value"] == "Bearer mine"


MISSING_DEFAULT = ("does not exist, no host with api_key or client_cert and client_key was given "
                   r"\(options or K8S_AUTH_\* variables\), and this is not a pod with a service account "
                   r"\(KUBERNETES_SERVICE_HOST is not set\)$")

# (id, options, environment, setup: "home" ~/.kube/config, "sa" service account files, the message)
ERRORS = [
    ("missing kubeconfig option", {"kubeconfig": "{tmp}/nope"}, {}, (), r"^kubeconfig {tmp}/nope does not exist$"),
    ("missing K8S_AUTH_KUBECONFIG", {}, {"K8S_AUTH_KUBECONFIG": "{tmp}/nope"}, ("home", "sa"),
     r"^kubeconfig {tmp}/nope \(K8S_AUTH_KUBECONFIG\) does not exist$"),
    ("no kubeconfig files of several", {"kubeconfig": "{tmp}/nope:{tmp}/nope2"}, {}, (),
     r"^kubeconfig {tmp}/nope:{tmp}/nope2 does not exist$"),
    ("no ~/.kube/config, nothing else", {}, {}, (), r"^kubeconfig {tmp}/home/.kube/config " + MISSING_DEFAULT),
    ("no KUBECONFIG file, nothing else", {}, {"KUBECONFIG": "{tmp}/nope"}, (),
     r"^kubeconfig {tmp}/nope \(KUBECONFIG\) " + MISSING_DEFAULT),
    ("a context without any kubeconfig", {}, {"K8S_AUTH_CONTEXT": "a"}, ("sa",),
     r"^kubeconfig {tmp}/home/.kube/config does not exist$"),
    ("host without credentials, nothing else", {}, {"K8S_AUTH_HOST": "https://h:6443"}, (),
     r"^kubeconfig {tmp}/home/.kube/config does not exist, host https://h:6443 \(K8S_AUTH_HOST\) comes without "
     r"api_key or client_cert and client_key, and this is not a pod"),
    ("unknown context option", {"kubeconfig": "{tmp}/given.yaml", "context": "prod"}, {}, (),
     r"^context 'prod' is not in kubeconfig {tmp}/given.yaml \(it has: a, b\)$"),
    ("unknown K8S_AUTH_CONTEXT in K8S_AUTH_KUBECONFIG", {}, {"K8S_AUTH_KUBECONFIG": "{tmp}/given.yaml",
                                                            "K8S_AUTH_CONTEXT": "prod"}, (),
     r"^context 'prod' \(K8S_AUTH_CONTEXT\) is not in kubeconfig {tmp}/given.yaml \(K8S_AUTH_KUBECONFIG\) \(it has: a, b\)$"),
    ("no current-context", {"kubeconfig": "{tmp}/nocurrent.yaml"}, {}, (),
     r"^kubeconfig {tmp}/nocurrent.yaml has no current-context and no context was given \(it has: a, b\)$"),
    ("context of a cluster without server", {"kubeconfig": "{tmp}/given.yaml", "context": "b"}, {}, (),
     r"^context 'b' in kubeconfig {tmp}/given.yaml names cluster 'gone', which has no server$"),
    ("not YAML", {"kubeconfig": "{tmp}/broken.yaml"}, {}, (), r"^kubeconfig {tmp}/broken.yaml cannot be read: "),
    ("credentials the client cannot load", {"kubeconfig": "{tmp}/badcert.yaml"}, {}, (),
     r"^context 'a' in kubeconfig {tmp}/badcert.yaml cannot be used: .*{tmp}/gone.pem"),
    ("missing K8S_AUTH_SSL_CA_CERT", {"kubeconfig": "{tmp}/given.yaml"}, {"K8S_AUTH_SSL_CA_CERT": "{tmp}/nope.crt"}, (),
     r"^ca_cert {tmp}/nope.crt \(K8S_AUTH_SSL_CA_CERT\) does not exist$"),
    ("missing client_key option", {"host": "https://h:6443", "client_cert": "{tmp}/client.crt",
                                   "client_key": "{tmp}/nope.key"}, {}, (),
     r"^client_key {tmp}/nope.key does not exist$"),
    ("in a pod without its token", {}, IN_POD, (),
     r"^in-cluster service account \(KUBERNETES_SERVICE_HOST=10.96.0.1; no kubeconfig {tmp}/home/.kube/config\): "
     r"its token {tmp}/serviceaccount/token does not exist$"),
    ("in a pod with an empty token", {}, IN_POD, ("empty-sa",),
     r"^in-cluster service account \(KUBERNETES_SERVICE_HOST=10.96.0.1; .*\) cannot be used: Token file exists but empty"),
    ("in a pod without its port", {}, {"KUBERNETES_SERVICE_HOST": "10.96.0.1"}, ("sa",),
     r"^in-cluster service account .* cannot be used: Service host/port is not set"),
]


@pytest.mark.parametrize("given, environ, setup, message", [case[1:] for case in ERRORS], ids=[case[0] for case in ERRORS])
def test_errors_name_what_was_tried(tmp_path, files, env, given, environ, setup, message):
    write_kubeconfig(tmp_path / "nocurrent.yaml", "https://x:6443", current=None)
    (tmp_path / "broken.yaml").write_text("clusters: [\n")
    badcert = yaml.safe_load(open(tmp_path / "given.yaml"))
    badcert["users"][0]["user"] = {"client-certificate": str(tmp_path / "gone.pem"), "client-key": str(tmp_path / "gone.pem")}
    (tmp_path / "badcert.yaml").write_text(yaml.safe_dump(badcert))
    if "home" in setup:
        home_kubeconfig(tmp_path)
    if "sa" in setup:
        service_account(tmp_path)
    if "empty-sa" in setup:
        service_account(tmp_path, token="")
    env(environ)
    with pytest.raises(FlinkfleetError) as err:
        kube.kube_target(**fill(given, tmp_path))
    assert re.search(message.replace("{tmp}", re.escape(str(tmp_path))), err.value.msg), err.value.msg


def closed_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# (id, options, environment, in a pod, what the message says the server was chosen by)
UNREACHABLE = [
    ("kubeconfig option", {"kubeconfig": "{tmp}/dead.yaml"}, {}, False, "context 'a'"),
    ("K8S_AUTH_KUBECONFIG", {}, {"K8S_AUTH_KUBECONFIG": "{tmp}/dead.yaml"}, False,
     "context 'a' of kubeconfig {tmp}/dead.yaml from K8S_AUTH_KUBECONFIG"),
    ("K8S_AUTH_HOST", {}, {"K8S_AUTH_HOST": "{server}", "K8S_AUTH_API_KEY": "k"}, False, "host from K8S_AUTH_HOST"),
    ("host option", {"host": "{server}", "api_key": "k"}, {}, False, "host option"),
    ("in-cluster", {}, {"KUBERNETES_SERVICE_HOST": "127.0.0.1", "KUBERNETES_SERVICE_PORT": "{port}"}, True,
     "in-cluster service account"),
]


@pytest.mark.parametrize("given, environ, in_pod, chosen_by",
                         [case[1:] for case in UNREACHABLE], ids=[case[0] for case in UNREACHABLE])
def test_unreachable_server_is_named_with_what_chose_it(tmp_path, env, given, environ, in_pod, chosen_by):
    port = closed_port()
    server = "https://127.0.0.1:%d" % port
    write_kubeconfig(tmp_path / "dead.yaml", server)
    if in_pod:
        service_account(tmp_path)

    def sub(value):
        return fill(value, tmp_path).replace("{server}", server).replace("{port}", str(port))

    env({k: sub(v) for k, v in environ.items()})
    with pytest.raises(FlinkfleetError) as err:
        connect(timeout=2, **{k: sub(v) for k, v in given.items()})
    assert "Kubernetes API %s (%s) is unreachable: " % (server, sub(chosen_by)) in err.value.msg, err.value.msg


class Recorder(BaseHTTPRequestHandler):
    seen = []

    def log_message(self, *args):
        pass

    def do_GET(self):
        Recorder.seen.append({"path": self.path, "authorization": self.headers.get("Authorization"),
                              "user": self.headers.get_all("Impersonate-User"),
                              "groups": self.headers.get_all("Impersonate-Group")})
        body = json.dumps({"gitVersion": "v1.99.0"}).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture(name="api_server")
def fixture_api_server():
    httpd = HTTPServer(("127.0.0.1", 0), Recorder)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    Recorder.seen = []
    yield "http://127.0.0.1:%d" % httpd.server_address[1]
    httpd.shutdown()
    httpd.server_close()


@pytest.mark.parametrize("given, environ", [
    ({"api_key": "tok", "impersonate_user": "alice", "impersonate_groups": ["ops", "flink"]}, {}),
    ({}, {"K8S_AUTH_API_KEY": "tok", "K8S_AUTH_IMPERSONATE_USER": "alice", "K8S_AUTH_IMPERSONATE_GROUPS": "ops,flink"}),
], ids=["options", "K8S_AUTH_*"])
def test_requests_carry_the_token_and_impersonation(api_server, env, given, environ):
    """What the API server sees: one Impersonate-Group line per group, as it reads them."""
    env(dict(environ, K8S_AUTH_HOST=api_server))
    client, found = connect(timeout=5, **given)
    assert found == {"context": "", "server": api_server, "server_version": "v1.99.0"}
    assert Recorder.seen == [{"path": "/version", "authorization": "Bearer tok", "user": ["alice"],
                              "groups": ["ops", "flink"]}]


def test_kubeconfig_target_keeps_its_answer(tmp_path, files, env):
    """The preflight's (context, server), now from the same resolution as the client."""
    assert kubeconfig_target(str(tmp_path / "given.yaml")) == ("a", "https://given:6443")
    env({"K8S_AUTH_KUBECONFIG": "{tmp}/env.yaml"})
    assert kubeconfig_target(None) == ("a", "https://env:6443")


def test_unknown_option_is_a_programming_error():
    with pytest.raises(TypeError, match="username"):
        kube.kube_target(username="me")


def test_auth_args_takes_what_is_set():
    params = dict({name: None for name in kube.FLINK_REST_ARGS}, kubeconfig="/k", context="", host="https://h",
                  validate_certs=False, impersonate_groups=[], namespace="ns", rest_port=8081)
    assert kube.auth_args(params) == {"kubeconfig": "/k", "host": "https://h", "validate_certs": False}


def test_module_argument_spec_takes_kubernetes_core_aliases():
    """The argument specs the modules share take kubernetes.core's aliases and types."""
    from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

    result = ArgumentSpecValidator(kube.KUBE_ARGS).validate({
        "namespace": "ns", "verify_ssl": "no", "ssl_ca_cert": "~/ca.crt", "cert_file": "/c", "key_file": "/k",
        "impersonate_groups": "a,b", "proxy_headers": {"user_agent": "x"}})
    assert not result.error_messages, result.error_messages
    params = result.validated_parameters
    assert params["validate_certs"] is False and params["client_cert"] == "/c" and params["client_key"] == "/k"
    assert params["ca_cert"] == os.path.expanduser("~/ca.crt") and params["impersonate_groups"] == ["a", "b"]


def test_options_are_kubernetes_cores():
    """Names, types, aliases and K8S_AUTH_* variables as kubernetes.core's args_common has them, but
    for the two documented differences: kubeconfig a path, no username/password."""
    # The pinned ansible package ships kubernetes.core: its absence is a failure, not a skip.
    from ansible_collections.kubernetes.core.plugins.module_utils import args_common as common
    theirs = dict(common.AUTH_ARG_SPEC)
    assert set(theirs) - set(kube.AUTH_ARGS) == {"username", "password"}
    assert set(kube.AUTH_ARGS) <= set(theirs)
    for name, spec in kube.AUTH_ARGS.items():
        if name == "kubeconfig":
            assert theirs[name]["type"] == "raw" and spec["type"] == "path"
            continue
        assert spec.get("type", "str") == theirs[name].get("type", "str"), name
        assert spec.get("aliases") == theirs[name].get("aliases"), name
        assert spec.get("elements") == theirs[name].get("elements"), name
        assert bool(spec.get("no_log")) == bool(theirs[name].get("no_log")), name
    assert set(kube.AUTH_ARGS["proxy_headers"]["options"]) == set(common.AUTH_PROXY_HEADERS_SPEC)
    # client.py: K8S_AUTH_<option>, then K8S_AUTH_<the client's name> (AUTH_ARG_MAP).
    client_name = {option: true_name for true_name, option in common.AUTH_ARG_MAP.items()}
    for option, variables in kube.AUTH_ENV.items():
        expected = ["K8S_AUTH_%s" % option.upper()]
        if client_name.get(option, option) != option:
            expected.append("K8S_AUTH_%s" % client_name[option].upper())
        assert list(variables) == expected, option
    assert set(kube.PROXY_HEADERS_ENV.values()) == {"K8S_AUTH_PROXY_HEADERS_%s" % k.upper()
                                                   for k in common.AUTH_PROXY_HEADERS_SPEC}


def test_auth_fragment_documents_the_options_as_the_spec_has_them():
    """doc_fragments/flink_kube.py AUTH: every option of AUTH_ARGS with its type, aliases,
    elements and suboptions, and each K8S_AUTH_* variable it is read from."""
    import importlib.util

    path = os.path.join(os.path.dirname(__file__), "..", "..", "..", "doc_fragments", "flink_kube.py")
    spec = importlib.util.spec_from_file_location("flink_kube_fragment", path)
    fragment = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(fragment)
    options = yaml.safe_load(fragment.ModuleDocFragment.AUTH)["options"]
    assert set(options) == set(kube.AUTH_ARGS)
    for name, argument in kube.AUTH_ARGS.items():
        documented = options[name]
        assert documented.get("type", "str") == argument.get("type", "str"), name
        assert documented.get("aliases") == argument.get("aliases"), name
        assert documented.get("elements") == argument.get("elements"), name
        assert set(documented.get("suboptions") or {}) == set(argument.get("options") or {}), name
        text = " ".join(documented["description"])
        for variable in kube.AUTH_ENV.get(name, ()):
            assert "E(%s)" % variable in text, (name, variable)
    for key, variable in kube.PROXY_HEADERS_ENV.items():
        assert "E(%s)" % variable in " ".join(options["proxy_headers"]["suboptions"][key]["description"])
