"""Make the project's module_utils and library importable the way Ansible sees them."""

import os
import sys

import ansible.module_utils

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# Ansible merges configured module_utils dirs into ansible.module_utils; do the same here.
if os.path.join(ROOT, "module_utils") not in ansible.module_utils.__path__:
    ansible.module_utils.__path__.append(os.path.join(ROOT, "module_utils"))
for extra in ("library", "filter_plugins"):
    path = os.path.join(ROOT, extra)
    if path not in sys.path:
        sys.path.insert(0, path)
