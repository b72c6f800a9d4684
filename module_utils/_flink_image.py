# -*- coding: utf-8 -*-
"""Build the flinkfleet Flink image (base + HA jar + Prometheus reporter + the user's job jars,
libraries and plugins) and push it.

Idempotence is a lookup, not a guess: the image's identity is a sha256 over every input
(base image id and digest, HA jar sha256, the generated Dockerfile, the baked configuration,
the static labels, each artifact's place in the image and sha256). That digest names the
content tag. When the registry already holds the content tag and the readable tag points to
the same manifest, nothing is built or pushed.

The registry is checked (reachable, credentials accepted) before anything is built, so a bad
registry or password fails fast with nothing pushed. The password only ever travels in an
Authorization header or the Docker SDK's auth_config; it is never part of a message.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import re
import tarfile
import tempfile
import urllib.error
import urllib.parse
import urllib.request

from ansible.module_utils import _flink_artifacts as artifacts
from ansible.module_utils._flinkfleet_errors import FlinkfleetError
from ansible.module_utils._flinkfleet_files import file_sha256, write_atomically

try:
    import docker
    import docker.errors
    HAS_DOCKER = True
    DOCKER_IMPORT_ERROR = None
except ImportError as exc:  # pragma: no cover - reported by the module
    HAS_DOCKER = False
    DOCKER_IMPORT_ERROR = exc

MANIFEST_TYPES = ", ".join([
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json",
])
TAG_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
REPO_RE = re.compile(r"^[a-z0-9]+(?:[._-][a-z0-9]+)*(?:/[a-z0-9]+(?:[._-][a-z0-9]+)*)*$")
FLINK_LIB = "/opt/flink/lib"
PROM_PLUGIN_DIR = "/opt/flink/plugins/metrics-prometheus"


class FlinkImageError(FlinkfleetError):
    """The image could not be built or pushed, or an input is wrong."""


class RegistryUnreachable(FlinkImageError):
    """The registry does not answer."""


class RegistryAuthError(FlinkImageError):
    """The registry refused the credentials."""


def sha256_text(text):
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def redact(text, secret):
    """Remove the secret from a text, in case a library put it there."""
    if secret and isinstance(text, str):
        return text.replace(secret, "********")
    return text


class Registry:
    """A minimal Docker Registry HTTP API v2 client: ping, HEAD/GET/PUT manifests.

    Supports Basic auth (htpasswd registries) and the Bearer token flow.
    """

    def __init__(self, address, username, password, scheme="auto", timeout=30, opener=None):
        self.address = address
        self.username = username or ""
        self.password = password or ""
        if scheme == "auto":
            host = address.rsplit(":", 1)[0] if not address.startswith("[") else address.split("]")[0] + "]"
            scheme = "http" if host in ("127.0.0.1", "localhost", "[::1]") else "https"
        self.base = "%s://%s" % (scheme, address)
        self.timeout = timeout
        self.opener = opener or urllib.request.build_opener()
        self._auth = None
        self._tokens = {}

    def _who(self):
        return "user '%s'" % self.username if self.username else "anonymous access"

    def _basic(self):
        raw = ("%s:%s" % (self.username, self.password)).encode("utf-8")
        return "Basic " + base64.b64encode(raw).decode("ascii")

    def _send(self, method, path, headers=None, data=None, auth=None):
        request = urllib.request.Request(self.base + path, data=data, method=method, headers=dict(headers or {}))
        if auth:
            request.add_header("Authorization", auth)
        try:
            response = self.opener.open(request, timeout=self.timeout)
            return response.status, dict(response.headers), response.read()
        except urllib.error.HTTPError as exc:
            return exc.code, dict(exc.headers or {}), exc.read() if hasattr(exc, "read") else b""
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise RegistryUnreachable(
                "Registry %s is unreachable (%s %s): %s. Nothing was built or pushed."
                % (self.address, method, self.base + path, redact(str(reason), self.password)),
                registry=self.address,
            ) from None

    def _token(self, challenge, scope):
        params = dict(re.findall(r'(\w+)="([^"]*)"', challenge))
        realm = params.pop("realm", None)
        if not realm:
            raise FlinkImageError("Registry %s sent a Bearer challenge without realm" % self.address)
        if scope:
            params["scope"] = scope
        url = realm + ("&" if "?" in realm else "?") + urllib.parse.urlencode(params)
        request = urllib.request.Request(url)
        if self.username:
            request.add_header("Authorization", self._basic())
        try:
            response = self.opener.open(request, timeout=self.timeout)
            body = json.loads(response.read().decode("utf-8"))
        except urllib.error.HTTPError as exc:
            if exc.code in (401, 403):
                raise self._auth_error(exc.code) from None
            raise FlinkImageError("Token service of registry %s answered HTTP %s" % (self.address, exc.code)) from None
        except (urllib.error.URLError, OSError, ValueError) as exc:
            raise RegistryUnreachable(
                "Token service of registry %s is unreachable: %s" % (self.address, redact(str(exc), self.password))
            ) from None
        return "Bearer " + (body.get("token") or body.get("access_token") or "")

    def _auth_error(self, code):
        hint = ("No password was given: set flink_image_registry_password (Ansible Vault) or "
                "FLINKFLEET_REGISTRY_PASSWORD." if not self.password else
                "Check the registry user and password (flink_image_registry_username / "
                "flink_image_registry_password).")
        return RegistryAuthError(
            "Registry %s rejected the credentials of %s (HTTP %s). %s Nothing was built or pushed."
            % (self.address, self._who(), code, hint),
            registry=self.address, username=self.username,
        )

    def request(self, method, path, headers=None, data=None, scope=None):
        """Send a request, answering an auth challenge once. Returns (status, headers, body)."""
        status, head, body = self._send(method, path, headers, data, self._auth)
        if status != 401:
            return status, head, body
        challenge = head.get("WWW-Authenticate") or head.get("Www-Authenticate") or ""
        if challenge.lower().startswith("bearer"):
            self._auth = self._token(challenge, scope)
        else:
            self._auth = self._basic()
        status, head, body = self._send(method, path, headers, data, self._auth)
        if status in (401, 403):
            raise self._auth_error(status)
        return status, head, body

    def ping(self):
        status, _head, _body = self.request("GET", "/v2/")
        if status != 200:
            raise FlinkImageError("Registry %s answered HTTP %s to /v2/; is it a Docker registry?" % (self.address, status))

    def manifest_digest(self, repository, tag):
        """The manifest digest a tag points to, or None when the tag does not exist."""
        status, head, _body = self.request(
            "HEAD", "/v2/%s/manifests/%s" % (repository, tag), {"Accept": MANIFEST_TYPES},
            scope="repository:%s:pull" % repository,
        )
        if status == 404:
            return None
        if status != 200:
            raise FlinkImageError("Registry %s answered HTTP %s for %s:%s" % (self.address, status, repository, tag))
        return head.get("Docker-Content-Digest") or head.get("docker-content-digest")

    def image_labels(self, repository, reference, platform=("linux", "amd64")):
        """The labels of an image's configuration (its manifest, then its config blob; from an
        index, the manifest of platform), or None when the registry has no such image."""
        scope = "repository:%s:pull" % repository
        manifest = self._json("/v2/%s/manifests/%s" % (repository, reference), scope, {"Accept": MANIFEST_TYPES})
        if manifest is None:
            return None
        if "manifests" in manifest:
            wanted = [m for m in manifest["manifests"]
                      if ((m.get("platform") or {}).get("os"), (m.get("platform") or {}).get("architecture")) == platform]
            if not wanted:
                return None
            manifest = self._json("/v2/%s/manifests/%s" % (repository, wanted[0]["digest"]), scope,
                                  {"Accept": MANIFEST_TYPES})
        config_digest = ((manifest or {}).get("config") or {}).get("digest")
        if not config_digest:
            return None
        config = self._json("/v2/%s/blobs/%s" % (repository, config_digest), scope)
        return dict(((config or {}).get("config") or {}).get("Labels") or {})

    def _json(self, path, scope, headers=None):
        status, _head, body = self.request("GET", path, headers, scope=scope)
        if status == 404:
            return None
        if status != 200:
            raise FlinkImageError("Registry %s answered HTTP %s for %s" % (self.address, status, path))
        try:
            return json.loads(body.decode("utf-8"))
        except ValueError:
            raise FlinkImageError("Registry %s answered %s with something that is not JSON" % (self.address, path)) from None

    def copy_tag(self, repository, source, target):
        """Point tag `target` at the manifest of `source` (a manifest PUT, no blobs move)."""
        scope = "repository:%s:pull,push" % repository
        status, head, body = self.request(
            "GET", "/v2/%s/manifests/%s" % (repository, source), {"Accept": MANIFEST_TYPES}, scope=scope
        )
        if status != 200:
            raise FlinkImageError("Registry %s: cannot read %s:%s (HTTP %s)" % (self.address, repository, source, status))
        content_type = head.get("Content-Type") or head.get("content-type")
        status, head, reply = self.request(
            "PUT", "/v2/%s/manifests/%s" % (repository, target), {"Content-Type": content_type}, data=body, scope=scope
        )
        if status not in (200, 201):
            raise FlinkImageError(
                "Registry %s refused tag %s:%s (HTTP %s): %s"
                % (self.address, repository, target, status, reply[:300].decode("utf-8", "replace"))
            )
        return head.get("Docker-Content-Digest") or head.get("docker-content-digest")


def render_dockerfile(base_from, jar_name, config, uid, gid, expose, extra=()):
    """The Dockerfile of the flinkfleet image. Exec-form RUN, so no value is shell-parsed.

    `extra` are the user's artifacts (dicts with context name `src` and image path `dest`),
    one COPY each in the order given: job jars to usrlib/, libraries to lib/, plugins to
    plugins/<name>/, where Flink loads them.
    """
    parser = ["/opt/flink/bin/config-parser-utils.sh", "/opt/flink/conf", "/opt/flink/bin", "/opt/flink/lib"]
    for key in sorted(config):
        parser += ["-D", "%s=%s" % (key, config[key])]
    lines = [
        "# Generated by flinkfleet (flink_image): base + HA jar + Prometheus reporter.",
        "FROM %s" % base_from,
        "USER root",
        "COPY --chown=%d:%d %s %s/%s" % (uid, gid, jar_name, FLINK_LIB, jar_name),
    ]
    lines += ["COPY --chown=%d:%d %s %s" % (uid, gid, item["src"], item["dest"]) for item in extra]
    lines += [
        # The Prometheus reporter is a Flink plugin: it must be in plugins/, not lib/.
        'RUN ["/bin/sh", "-ec", "ls %s/*.jar >/dev/null; chmod 0644 %s/%s"]' % (PROM_PLUGIN_DIR, FLINK_LIB, jar_name),
        "RUN %s" % json.dumps(parser),
        'RUN ["/bin/sh", "-ec", "chown -R %d:%d /opt/flink/conf /opt/flink/log"]' % (uid, gid),
        "USER %d:%d" % (uid, gid),
    ]
    if expose:
        lines.append("EXPOSE %s" % " ".join(str(p) for p in expose))
    return "\n".join(lines) + "\n"


def _add_file(archive, path, arcname):
    info = archive.gettarinfo(path, arcname=arcname)
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    info.mtime = 0
    info.mode = 0o644
    with open(path, "rb") as handle:
        archive.addfile(info, handle)


def build_context(dockerfile, jar_path, jar_name, extra=()):
    """The build context as a tar: Dockerfile, HA jar, and the artifacts (dicts with `file`
    on this machine and `src` in the context). A temp file, not memory: plugin jars reach
    100 MB."""
    buffer = tempfile.TemporaryFile()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        data = dockerfile.encode("utf-8")
        info = tarfile.TarInfo("Dockerfile")
        info.size = len(data)
        info.mode = 0o644
        archive.addfile(info, io.BytesIO(data))
        _add_file(archive, jar_path, jar_name)
        added = set()
        for item in extra:
            if item["src"] not in added:
                _add_file(archive, item["file"], item["src"])
                added.add(item["src"])
    buffer.seek(0)
    return buffer


def inputs_digest(inputs):
    return hashlib.sha256(json.dumps(inputs, sort_keys=True).encode("utf-8")).hexdigest()


class FlinkImageBuilder:
    """Build, tag and push the image unless the registry already has exactly it."""

    def __init__(self, params, check_mode=False, client=None, registry=None, fetch=None):
        self.p = params
        self.check_mode = check_mode
        self.password = params.get("registry_password") or ""
        for key in ("repository",):
            if not REPO_RE.match(params[key] or ""):
                raise FlinkImageError("%s %r is not a valid image repository name" % (key, params[key]))
        if params.get("readable_tag") and not TAG_RE.match(params["readable_tag"]):
            raise FlinkImageError("readable_tag %r is not a valid Docker tag" % params["readable_tag"])
        if not os.path.isfile(params["jar_path"]):
            raise FlinkImageError("HA jar %s does not exist; run the ha_plugin role first" % params["jar_path"])
        self.jar_name = os.path.basename(params["jar_path"])
        actual = file_sha256(params["jar_path"])
        if params.get("jar_sha256") and params["jar_sha256"] != actual:
            raise FlinkImageError(
                "HA jar %s has sha256 %s, not the expected %s" % (params["jar_path"], actual, params["jar_sha256"])
            )
        self.jar_sha256 = actual
        # The user's artifacts: malformed input and another Flink version's artifacts fail
        # here, before the registry, the engine or the network is asked anything.
        self.artifacts = artifacts.plan_artifacts(
            params.get("job_jars"), params.get("lib_jars"), params.get("plugins"),
            params.get("flink_version") or "", params.get("maven_repository_url") or artifacts.MAVEN_CENTRAL,
        )
        if self.artifacts and not params.get("flink_version"):
            raise FlinkImageError("flink_version is needed to check the artifacts against the image's Flink")
        self.resolver = artifacts.ArtifactResolver(params.get("artifact_cache_dir") or "", params.get("timeout", 30),
                                                   fetch=fetch)
        if self.artifacts and not params.get("artifact_cache_dir"):
            raise FlinkImageError("artifact_cache_dir is needed to fetch the artifacts")
        self.registry = registry
        if self.registry is None and params.get("push"):
            self.registry = Registry(params["registry"], params.get("registry_username"), self.password,
                                     scheme=params.get("registry_scheme", "auto"), timeout=params.get("timeout", 30))
        self.client = client
        self.name = "%s/%s" % (params["registry"], params["repository"])

    def _docker(self):
        if self.client is None:
            if not HAS_DOCKER:
                raise FlinkImageError("The docker Python SDK is required: %s" % DOCKER_IMPORT_ERROR)
            try:
                self.client = docker.DockerClient(base_url=self.p["docker_host"], timeout=max(600, self.p.get("timeout", 60)))
                self.client.ping()
            except Exception as exc:  # docker raises several unrelated types here
                raise FlinkImageError("Docker engine at %s is unreachable: %s" % (self.p["docker_host"], exc)) from None
        return self.client

    def _inspect(self, ref):
        """The base dict of a local image, or None when the engine does not have it."""
        try:
            image = self._docker().images.get(ref)
        except docker.errors.ImageNotFound:
            return None
        except docker.errors.APIError as exc:
            raise FlinkImageError("Cannot inspect base image %s: %s" % (ref, exc)) from None
        repo = ref.split("@")[0] if "@" in ref else ref.rsplit(":", 1)[0]
        digests = [d for d in (image.attrs.get("RepoDigests") or []) if d.split("@")[0] == repo]
        if digests:
            # Pulled from a registry: pin by the manifest digest, which names it everywhere.
            return {"ref": ref, "id": image.id, "digest": digests[0].split("@")[1], "from": digests[0]}
        # Local only: pin by the image id (the classic builder resolves FROM <id> locally).
        return {"ref": ref, "id": image.id, "digest": None, "from": image.id}

    def _official(self):
        """The official base: present, pulled (or, in check mode, pullable), else (None, reason)."""
        ref = self.p["base_official"]
        base = self._inspect(ref)
        if base:
            return base, None
        if self.check_mode:
            # Ask the registry for the manifest without pulling anything.
            try:
                info = self._docker().api.inspect_distribution(ref)
            except docker.errors.APIError as exc:
                return None, str(exc.explanation or exc)
            digest = info["Descriptor"]["digest"]
            self.base_actions.append("Pull %s" % ref)
            return {"ref": ref, "id": None, "digest": digest, "from": "%s@%s" % (ref.rsplit(":", 1)[0], digest)}, None
        try:
            self._docker().images.pull(ref)
        except docker.errors.APIError as exc:
            return None, str(exc.explanation or exc)
        self.base_actions.append("Pulled %s" % ref)
        return self._inspect(ref), None

    def _base(self):
        """Choose the base (official when it can be pulled, unless told otherwise) and pin it."""
        source = self.p.get("base_source") or "local"
        reason = None
        if source in ("auto", "official") and self.p.get("base_official"):
            base, reason = self._official()
            if base:
                base["source"] = "official"
                return base
            if source == "official":
                raise FlinkImageError(
                    "flink_image_base_source is 'official' but %s cannot be pulled: %s. Nothing was built or pushed."
                    % (self.p["base_official"], reason)
                )
        base = self._inspect(self.p["base_image"])
        if base is None:
            raise FlinkImageError(
                "Base image %s is not present in the Docker engine%s. Run the proving ground first "
                "(make testbed) or choose another base (flink_image_base_source)."
                % (self.p["base_image"], " and %s cannot be pulled (%s)" % (self.p["base_official"], reason)
                   if reason else "")
            )
        base["source"] = "local"
        if reason:
            base["official_unavailable"] = reason
        return base

    def plan(self):
        # Every artifact is fetched and verified (into the cache, also in check mode: the
        # content tag needs its sha256) before the base is chosen and anything is built.
        resolved = self.resolver.resolve_all(self.artifacts)
        extra = [dict(src=artifacts.context_name(e), dest=e["dest"], file=e["file"]) for e in resolved]
        base = self._base()
        dockerfile = render_dockerfile(base["from"], self.jar_name, self.p["config"], self.p["uid"], self.p["gid"],
                                       self.p["expose"], extra)
        static_labels = dict(self.p.get("labels") or {})
        inputs = {
            "base_id": base["id"],
            "base_digest": base["digest"],
            "jar_sha256": self.jar_sha256,
            "jar_name": self.jar_name,
            "dockerfile_sha256": sha256_text(dockerfile),
            "config": self.p["config"],
            "labels": static_labels,
        }
        if resolved:
            # Only with artifacts: images without any keep the content tag they had.
            inputs["artifacts"] = artifacts.tag_inputs(resolved)
        digest = inputs_digest(inputs)
        content_tag = "sha256-%s" % digest[:32]
        labels = dict(static_labels)
        labels.update({
            "org.opencontainers.image.base.name": base["ref"],
            "org.opencontainers.image.base.digest": base["digest"] or base["id"],
            "io.flinkfleet.base.id": base["id"],
            "io.flinkfleet.ha-jar.name": self.jar_name,
            "io.flinkfleet.ha-jar.sha256": self.jar_sha256,
            "io.flinkfleet.inputs": json.dumps({k: v for k, v in inputs.items() if k != "labels"}, sort_keys=True),
            "io.flinkfleet.inputs.sha256": digest,
        })
        labels.update(self.p.get("provenance_labels") or {})
        return {"base": base, "dockerfile": dockerfile, "inputs_sha256": digest, "content_tag": content_tag,
                "labels": labels, "extra": extra, "artifacts": artifacts.record(resolved)}

    def run(self):
        self.base_actions = []
        if self.p.get("push"):
            # Registry and credentials first: a wrong password fails in a second, before the
            # engine is asked anything and before a build that could not be pushed.
            self.registry.ping()
        result = self._converge()
        if self.p.get("record_path"):
            self._record(result)
        return result

    def _record(self, result):
        """Keep a JSON record of the build (base pin, tags, digest); rewrite it only when it differs."""
        record = {
            "image": result["image"],
            "refs": result["refs"],
            "digest": result["digest"],
            # Why an official base was not used may be worded differently each time: not recorded.
            "base": {k: v for k, v in result["base"].items() if k != "official_unavailable"},
            "jar_name": self.jar_name,
            "jar_sha256": result["jar_sha256"],
            "inputs_sha256": result["inputs_sha256"],
        }
        if result["artifacts"]:
            record["artifacts"] = result["artifacts"]
        record.update(self.p.get("record_extra") or {})
        text = json.dumps(record, indent=2, sort_keys=True) + "\n"
        path = self.p["record_path"]
        try:
            with open(path) as handle:
                if handle.read() == text:
                    return
        except OSError:
            pass
        result["changed"] = True
        result["actions"].append("Write the build record %s" % path)
        if self.check_mode:
            return
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        write_atomically(path, text.encode("utf-8"), 0o644)

    def _converge(self):
        plan = self.plan()
        content_tag = plan["content_tag"]
        readable = self.p.get("readable_tag") or None
        tags = [content_tag] + ([readable] if readable else [])
        result = {
            "changed": False,
            "actions": [],
            "image": self.name,
            "content_tag": content_tag,
            "readable_tag": readable,
            "refs": ["%s:%s" % (self.name, t) for t in tags],
            "inputs_sha256": plan["inputs_sha256"],
            "base": plan["base"],
            "labels": plan["labels"],
            "jar_sha256": self.jar_sha256,
            "artifacts": plan["artifacts"],
            # Filling the download cache is not a change of the image or the registry.
            "downloads": list(self.resolver.downloads),
            "digest": None,
            "image_id": None,
        }
        if self.base_actions:
            result["changed"] = True
            result["actions"].extend(self.base_actions)
        remote = {}
        if self.p.get("push"):
            for tag in tags:
                remote[tag] = self.registry.manifest_digest(self.p["repository"], tag)
            if remote[content_tag] and all(remote[t] == remote[content_tag] for t in tags):
                result["digest"] = remote[content_tag]
                local = self._local_image(content_tag)
                result["image_id"] = local.id if local else None
                return result
        local = self._local_image(content_tag)
        # With the content tag in the registry already, only tags move: no local build needed.
        if local is None and not remote.get(content_tag):
            result["changed"] = True
            result["actions"].append("Build %s:%s from %s" % (self.name, content_tag, plan["base"]["ref"]))
            if not self.check_mode:
                local = self._build(plan, content_tag)
        if local is not None:
            result["image_id"] = local.id
        if not self.p.get("push"):
            if readable and local is not None and not self.check_mode:
                if "%s:%s" % (self.name, readable) not in (local.tags or []):
                    local.tag(self.name, readable)
                    result["changed"] = True
                    result["actions"].append("Tag %s:%s" % (self.name, readable))
            return result
        digest = remote.get(content_tag)
        if not digest:
            result["changed"] = True
            result["actions"].append("Push %s:%s" % (self.name, content_tag))
            if not self.check_mode:
                digest = self._push(content_tag)
        for tag in tags[1:]:
            if digest is None or remote.get(tag) != digest:
                result["changed"] = True
                result["actions"].append("Point %s:%s at the content tag's manifest" % (self.name, tag))
                if not self.check_mode:
                    self.registry.copy_tag(self.p["repository"], content_tag, tag)
        if not self.check_mode:
            result["digest"] = self._verify(tags)
            if readable and local is not None:
                local.tag(self.name, readable)
        return result

    def _local_image(self, tag):
        try:
            return self._docker().images.get("%s:%s" % (self.name, tag))
        except docker.errors.ImageNotFound:
            return None

    def _build(self, plan, tag):
        context = build_context(plan["dockerfile"], self.p["jar_path"], self.jar_name, plan["extra"])
        log = []
        try:
            stream = self._docker().api.build(
                fileobj=context, custom_context=True, tag="%s:%s" % (self.name, tag), labels=plan["labels"],
                rm=True, forcerm=True, pull=False, decode=True, nocache=bool(self.p.get("nocache")),
            )
            for chunk in stream:
                if "stream" in chunk:
                    log.extend(line for line in chunk["stream"].splitlines() if line.strip())
                if "error" in chunk or "errorDetail" in chunk:
                    message = chunk.get("error") or chunk["errorDetail"].get("message")
                    raise FlinkImageError(
                        "Building %s:%s failed: %s" % (self.name, tag, message), build_log_tail=log[-20:]
                    )
        except docker.errors.APIError as exc:
            raise FlinkImageError("Building %s:%s failed: %s" % (self.name, tag, exc), build_log_tail=log[-20:]) from None
        finally:
            context.close()
        return self._docker().images.get("%s:%s" % (self.name, tag))

    def _push(self, tag):
        auth = {"username": self.p.get("registry_username"), "password": self.password} if self.password else None
        digest = None
        try:
            for chunk in self._docker().api.push(self.name, tag=tag, stream=True, decode=True, auth_config=auth):
                if "error" in chunk or "errorDetail" in chunk:
                    message = redact(chunk.get("error") or chunk["errorDetail"].get("message"), self.password)
                    if "unauthorized" in message.lower() or "authentication required" in message.lower():
                        raise RegistryAuthError(
                            "Registry %s rejected the push of %s:%s by user '%s': %s"
                            % (self.p["registry"], self.name, tag, self.p.get("registry_username"), message)
                        )
                    raise FlinkImageError("Pushing %s:%s failed: %s" % (self.name, tag, message))
                aux = chunk.get("aux") or {}
                if aux.get("Digest"):
                    digest = aux["Digest"]
        except docker.errors.APIError as exc:
            raise FlinkImageError("Pushing %s:%s failed: %s" % (self.name, tag, redact(str(exc), self.password))) from None
        return digest

    def _verify(self, tags):
        digests = {t: self.registry.manifest_digest(self.p["repository"], t) for t in tags}
        if len(set(digests.values())) != 1 or None in digests.values():
            raise FlinkImageError("After the push the tags do not agree: %s" % digests)
        return digests[tags[0]]
