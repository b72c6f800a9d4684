"""Assemble the flinkfleet.flink collection from this repository's layout and build its tarball.

The checkout keeps Ansible's project layout (library/, module_utils/, filter_plugins/,
doc_fragments/, roles/, playbooks/), which ansible.cfg wires together. A collection needs the
standard layout and fully qualified names instead, so this script copies the product into
<out>/ansible_collections/flinkfleet/flink (the path ansible-test insists on) and rewrites:
  - module imports: ansible.module_utils._flink_x -> ansible_collections.flinkfleet.flink.plugins.module_utils._flink_x
  - doc fragments:  extends_documentation_fragment: [flink_kube] -> flinkfleet.flink.flink_kube
  - roles and playbooks: our modules, filters and roles by FQCN (a collection's role finds
    neither the checkout's library/ through ansible.legacy nor its filters by bare name).
Then `ansible-galaxy collection build` writes the tarball to <out>/dist.

The proving ground (testbed/: the roles docker_engine, registry, flink_dist, base_image, k8s_testbed,
prometheus, zookeeper, s3_server, their modules, module_utils and filters; its playbooks) stays in
the checkout: it is not what a team installs. Nothing here reads testbed/.

Usage: python tools/collection/build.py <out> [--no-tarball]
"""

from __future__ import annotations

import ast
import os
import re
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
NAMESPACE, NAME = "flinkfleet", "flink"
FQCN = "%s.%s" % (NAMESPACE, NAME)
COLLECTION_UTILS = "ansible_collections.%s.%s.plugins.module_utils" % (NAMESPACE, NAME)

# What a team installs. The drill is product too (issue 16: build/rollout/teardown/drill).
PRODUCT_ROLES = ("ha_plugin", "flink_image", "flink_cluster", "flink_drill")
PRODUCT_PLAYBOOKS = ("build.yml", "rollout.yml", "teardown.yml", "drill.yml")
# roles/ha_plugin builds <collection>/ha-plugin (its default ha_plugin_project_dir is
# role_path/../../ha-plugin), so the Java sources ship beside the roles.
EXTRA_TREES = ("ha-plugin",)
# Maven output, editor and Python leftovers are never part of the collection.
IGNORED = shutil.ignore_patterns("target", "__pycache__", "*.pyc", ".pytest_cache")


class CollectionError(Exception):
    pass


# --- Python: imports of our module_utils and our doc fragments -----------------------------

def rewrite_python(text, utils, fragments):
    """The module or module_util source as it must read inside the collection.

    utils: names of our module_utils (e.g. "_flink_kube"); fragments: our doc fragment names.
    Raises CollectionError on an import form the collection cannot satisfy by a rename.
    """
    def from_util(match):
        indent, util, rest = match.group(1), match.group(2), match.group(3)
        if util not in utils:
            return match.group(0)
        return "%sfrom %s.%s import%s" % (indent, COLLECTION_UTILS, util, rest)

    def from_package(match):
        indent, names = match.group(1), match.group(2)
        ours = [n.strip().split()[0] for n in names.split(",") if n.strip().split()[0] in utils]
        if not ours:
            return match.group(0)
        if len(ours) != len([n for n in names.split(",") if n.strip()]):
            raise CollectionError("mixed import of ansible and our module_utils: %s" % match.group(0).strip())
        return "%sfrom %s import %s" % (indent, COLLECTION_UTILS, names)

    def plain_import(match):
        if match.group(2) in utils:
            # `import ansible.module_utils._x` binds the name ansible.module_utils._x, which a
            # rename cannot keep: the code must say `from ... import` instead.
            raise CollectionError("cannot rewrite %r: use `from ansible.module_utils._x import ...`"
                                  % match.group(0).strip())
        return match.group(0)

    text = re.sub(r"^([ \t]*)from ansible\.module_utils\.(\w+) import\b(.*)$", from_util, text, flags=re.M)
    text = re.sub(r"^([ \t]*)from ansible\.module_utils import ([^(\n]+)$", from_package, text, flags=re.M)
    text = re.sub(r"^([ \t]*)import ansible\.module_utils\.(\w+).*$", plain_import, text, flags=re.M)
    return rewrite_fragments(text, fragments)


def rewrite_fragments(text, fragments):
    """extends_documentation_fragment entries of ours, inline list or block list, by FQCN."""
    def inline(match):
        items = [item.strip() for item in match.group(2).split(",")]
        return "%s[%s]" % (match.group(1), ", ".join(_fragment_fqcn(item, fragments) for item in items))

    text = re.sub(r"^(extends_documentation_fragment:\s*)\[([^\]]*)\]", inline, text, flags=re.M)
    text = re.sub(r"^(extends_documentation_fragment:[ \t]*)([\w.]+)[ \t]*$",
                  lambda m: m.group(1) + _fragment_fqcn(m.group(2), fragments), text, flags=re.M)

    def block(match):
        lines = match.group(2)
        return match.group(1) + re.sub(r"^([ \t]*-[ \t]*)([\w.]+)[ \t]*$",
                                       lambda m: m.group(1) + _fragment_fqcn(m.group(2), fragments),
                                       lines, flags=re.M)

    return re.sub(r"^(extends_documentation_fragment:\s*\n)((?:[ \t]*-[^\n]*\n)+)", block, text, flags=re.M)


def _fragment_fqcn(name, fragments):
    # "flink_attributes.action_group" names a variable of our fragment flink_attributes
    ours = name in fragments or (name.count(".") == 1 and name.split(".")[0] in fragments)
    return "%s.%s" % (FQCN, name) if ours else name


# --- YAML and templates: modules, filters and roles by FQCN ---------------------------------

def rewrite_yaml(text, modules, filters, roles):
    """A role file or playbook as it must read inside the collection."""
    names = "|".join(sorted(modules, key=len, reverse=True))
    if names:
        # ansible.legacy.<ours>: the checkout's library/, which an installed collection is not.
        text = re.sub(r"\bansible\.legacy\.(%s)\b(:?)([^\n]*)" % names,
                      lambda m: "%s.%s%s%s" % (FQCN, m.group(1), m.group(2), _drop_fqcn_noqa(m.group(3))), text)
        # A bare module key of a task: `- flink_x:` or `  flink_x:` on its own line.
        text = re.sub(r"^([ \t]*(?:- )?)(%s):(?=[ \t]|$)" % names,
                      lambda m: "%s%s.%s:" % (m.group(1), FQCN, m.group(2)), text, flags=re.M)
    if filters:
        text = re.sub(r"(\|\s*)(%s)\b" % "|".join(sorted(filters, key=len, reverse=True)),
                      lambda m: "%s%s.%s" % (m.group(1), FQCN, m.group(2)), text)
    if roles:
        text = re.sub(r"^([ \t]*(?:- )?(?:name|role):[ \t]*)(%s)[ \t]*$" % "|".join(roles),
                      lambda m: "%s%s.%s" % (m.group(1), FQCN, m.group(2)), text, flags=re.M)
    return text


def _drop_fqcn_noqa(rest):
    # `# noqa: fqcn[canonical] (local module ...)` excused the legacy name; an FQCN needs no excuse.
    return re.sub(r"\s*# noqa: fqcn\[canonical\].*$", "", rest)


# --- what ships -----------------------------------------------------------------------------

def module_names(root=ROOT):
    return sorted(f[:-3] for f in os.listdir(os.path.join(root, "library")) if f.endswith(".py"))


def util_names(root=ROOT):
    return sorted(f[:-3] for f in os.listdir(os.path.join(root, "module_utils")) if f.endswith(".py"))


def filter_names(path):
    """The names a filter plugin file's FilterModule.filters() returns (read, not imported)."""
    tree = ast.parse(open(path).read())
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef) and node.name == "filters":
            for ret in ast.walk(node):
                if isinstance(ret, ast.Return) and isinstance(ret.value, ast.Dict):
                    return [key.value for key in ret.value.keys]
    return []


def files_under(path):
    for dirpath, dirnames, filenames in os.walk(path):
        dirnames[:] = [d for d in dirnames if d not in ("target", "__pycache__")]
        for filename in filenames:
            yield os.path.join(dirpath, filename)


def used_modules(texts, modules):
    """Our modules that the shipped roles and playbooks call."""
    found = set()
    for text in texts:
        for name in modules:
            if re.search(r"(\bansible\.legacy\.%s\b|^[ \t]*(?:- )?%s:)" % (name, name), text, flags=re.M):
                found.add(name)
    return sorted(found)


def util_closure(sources, utils):
    """Our module_utils that the given Python sources import, directly or through each other."""
    wanted, todo = set(), list(sources)
    pattern = re.compile(r"ansible\.module_utils(?:\.(\w+)| import ([\w, ]+))")
    while todo:
        text = todo.pop()
        for match in pattern.finditer(text):
            names = [match.group(1)] if match.group(1) else [n.strip().split()[0] for n in match.group(2).split(",")]
            for util in names:
                if util in utils and util not in wanted:
                    wanted.add(util)
                    todo.append(open(os.path.join(ROOT, "module_utils", util + ".py")).read())
    return sorted(wanted)


def assemble(dest, root=ROOT):
    """Write the collection tree to dest (replaced as a whole: the same input gives the same tree)."""
    role_texts = {}
    for role in PRODUCT_ROLES:
        for path in files_under(os.path.join(root, "roles", role)):
            role_texts[path] = open(path).read()
    playbook_texts = {p: open(os.path.join(root, "playbooks", p)).read() for p in PRODUCT_PLAYBOOKS}
    # The task files those playbooks import (rollout.yml's fleet report), at the same relative path.
    tasks_dir = os.path.join(root, "playbooks", "tasks")
    if os.path.isdir(tasks_dir):
        playbook_texts.update({"tasks/" + f: open(os.path.join(tasks_dir, f)).read()
                               for f in sorted(os.listdir(tasks_dir)) if f.endswith(".yml")})
    modules = used_modules(list(role_texts.values()) + list(playbook_texts.values()), module_names(root))
    module_texts = {m: open(os.path.join(root, "library", m + ".py")).read() for m in modules}
    utils = util_closure(module_texts.values(), util_names(root))
    filter_files = sorted(f for f in os.listdir(os.path.join(root, "filter_plugins")) if f.endswith(".py"))
    filters_by_file = {f: filter_names(os.path.join(root, "filter_plugins", f)) for f in filter_files}
    all_text = "\n".join(list(role_texts.values()) + list(playbook_texts.values()))
    shipped_filter_files = [f for f, names in filters_by_file.items()
                            if any(re.search(r"\|\s*%s\b" % n, all_text) for n in names)]
    filters = sorted(n for f in shipped_filter_files for n in filters_by_file[f])
    fragments = sorted(f[:-3] for f in os.listdir(os.path.join(root, "doc_fragments")) if f.endswith(".py"))

    if os.path.isdir(dest):
        shutil.rmtree(dest)
    os.makedirs(dest)

    def write(relative, text):
        path = os.path.join(dest, relative)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as handle:
            handle.write(text)

    for module, text in module_texts.items():
        write("plugins/modules/%s.py" % module, rewrite_python(text, utils, fragments))
    for util in utils:
        write("plugins/module_utils/%s.py" % util,
              rewrite_python(open(os.path.join(root, "module_utils", util + ".py")).read(), utils, fragments))
    for name in shipped_filter_files:
        write("plugins/filter/%s" % name, open(os.path.join(root, "filter_plugins", name)).read())
    for fragment in fragments:
        write("plugins/doc_fragments/%s.py" % fragment,
              open(os.path.join(root, "doc_fragments", fragment + ".py")).read())
    for path, text in role_texts.items():
        write(os.path.relpath(path, root), rewrite_yaml(text, modules, filters, PRODUCT_ROLES))
    for name, text in playbook_texts.items():
        write("playbooks/%s" % name, rewrite_yaml(text, modules, filters, PRODUCT_ROLES))
    for tree in EXTRA_TREES:
        shutil.copytree(os.path.join(root, tree), os.path.join(dest, tree), ignore=IGNORED)
    write("README.md", open(os.path.join(root, "README.md")).read())
    # The collection's metadata lives beside this script, not at the repository's root: there a
    # galaxy.yml makes Molecule's prerun (ansible-compat) build the whole checkout as a collection
    # and install it, with galaxy.yml's dependencies, into ~/.ansible/collections before every scenario.
    for relative in ("galaxy.yml", "meta/runtime.yml", "CHANGELOG.md"):
        write(relative, open(os.path.join(HERE, relative)).read())
    sanity = os.path.join(root, "tests", "sanity")
    if os.path.isdir(sanity):
        shutil.copytree(sanity, os.path.join(dest, "tests", "sanity"), ignore=IGNORED)
    return {"modules": modules, "module_utils": utils, "filters": filters, "roles": list(PRODUCT_ROLES),
            "playbooks": sorted(playbook_texts), "doc_fragments": fragments}


def main(argv):
    args = [a for a in argv[1:] if not a.startswith("--")]
    if len(args) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    out = os.path.abspath(args[0])
    dest = os.path.join(out, "ansible_collections", NAMESPACE, NAME)
    shipped = assemble(dest)
    for kind, names in shipped.items():
        print("%-13s %s" % (kind, " ".join(names)))
    if "--no-tarball" in argv:
        return 0
    dist = os.path.join(out, "dist")
    os.makedirs(dist, exist_ok=True)
    galaxy = os.path.join(os.path.dirname(sys.executable), "ansible-galaxy")
    subprocess.run([galaxy if os.path.exists(galaxy) else "ansible-galaxy", "collection", "build",
                    "--force", "--output-path", dist, dest], check=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
