"""Make the project's module_utils and library importable the way Ansible sees them.

The product's (module_utils/, library/, filter_plugins/) and the proving ground's
(testbed/module_utils/, testbed/library/, testbed/filter_plugins/), as ansible.cfg configures them.
"""

import os
import sys

import ansible.module_utils

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# Ansible merges configured module_utils dirs into ansible.module_utils; do the same here.
for utils in (os.path.join(ROOT, "module_utils"), os.path.join(ROOT, "testbed", "module_utils")):
    if utils not in ansible.module_utils.__path__:
        ansible.module_utils.__path__.append(utils)
# Inserted in reverse so that the product's directories come first on sys.path.
for extra in (("testbed", "filter_plugins"), ("testbed", "library"), ("filter_plugins",), ("library",)):
    path = os.path.join(ROOT, *extra)
    if path not in sys.path:
        sys.path.insert(0, path)
