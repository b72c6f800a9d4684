"""Run `ansible-test sanity` on the built collection, offline but for PyPI.

ansible-test gives each sanity test its own virtualenv under ~/.ansible/test/venv (made once,
reused by later runs; its requirements come from PyPI) and bootstraps pip into each new one
with get-pip.py from ci-files.testing.ansible.com, which this machine cannot reach. The script
ansible-test looks for in its cache is therefore written here: it runs pip from the pip wheel
(downloaded from PyPI once), which is what get-pip.py does with the wheel it embeds.

Usage: python tools/collection/sanity.py <collection dir> [ansible-test sanity options]
"""

from __future__ import annotations

import os
import subprocess
import sys

# ansible-test 2.19's pip for its virtualenvs (python_requirements.get_venv_packages).
PIP_VERSION = "24.2"
CACHE = os.path.expanduser("~/.ansible/test/cache")
BOOTSTRAP = os.path.join(CACHE, "get_pip_%s.py" % PIP_VERSION.replace(".", "_"))
WHEEL = "pip-%s-py3-none-any.whl" % PIP_VERSION
BOOTSTRAP_SOURCE = '''"""Stands in for get-pip.py (written by flinkfleet tools/collection/sanity.py): pip from its wheel."""
import os
import runpy
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), %r))
# get-pip.py's own options: it installs setuptools and wheel unless told not to; this never does.
args = [a for a in sys.argv[1:] if a not in ("--no-setuptools", "--no-wheel")]
sys.argv = [sys.argv[0], "install", "--upgrade", "--force-reinstall"] + args
runpy.run_module("pip", run_name="__main__", alter_sys=True)
''' % WHEEL


def ensure_bootstrap(python=sys.executable):
    os.makedirs(CACHE, exist_ok=True)
    if not os.path.exists(os.path.join(CACHE, WHEEL)):
        subprocess.run([python, "-m", "pip", "download", "--quiet", "--disable-pip-version-check", "--no-deps",
                        "--only-binary", ":all:", "--dest", CACHE, "pip==%s" % PIP_VERSION], check=True)
    current = open(BOOTSTRAP).read() if os.path.exists(BOOTSTRAP) else None
    if current != BOOTSTRAP_SOURCE:
        with open(BOOTSTRAP, "w") as handle:
            handle.write(BOOTSTRAP_SOURCE)


def main(argv):
    if len(argv) < 2 or not os.path.isfile(os.path.join(argv[1], "galaxy.yml")):
        print(__doc__, file=sys.stderr)
        return 2
    ensure_bootstrap()
    ansible_test = os.path.join(os.path.dirname(sys.executable), "ansible-test")
    python = "%d.%d" % sys.version_info[:2]
    # --local: this venv's Python is the controller; one Python version (the one we run).
    command = [ansible_test, "sanity", "--local", "--python", python, "--color", "no"] + argv[2:]
    return subprocess.call(command, cwd=argv[1])


if __name__ == "__main__":
    sys.exit(main(sys.argv))
