# -*- coding: utf-8 -*-
"""Whether a directory's filesystem has the room a step needs, said before the step starts."""

from __future__ import annotations

import os

GIB = 1024 ** 3


def existing_ancestor(path):
    """The path itself or its nearest existing parent: the directory a cache will be made in."""
    path = os.path.abspath(path)
    while not os.path.exists(path):
        parent = os.path.dirname(path)
        if parent == path:
            break
        path = parent
    return path


def free_bytes(path, statvfs=os.statvfs):
    """Bytes an unprivileged writer may still use on path's filesystem (f_bavail: root's reserve not counted)."""
    st = statvfs(existing_ancestor(path))
    return st.f_bavail * st.f_frsize


def disk_room_problem(path, free, min_free_gib, what, variable):
    """A message naming the path, its free bytes and what needs more, or None when there is room.

    A node short of disk does not fail where the disk ran out: the kubelet taints it and every
    pod waits Pending ("untolerated taint"), so the first error a user sees is a timeout minutes
    later. Saying it here, with the numbers, is the whole point."""
    if free >= min_free_gib * GIB:
        return None
    return ("%s needs %.1f GiB free on the filesystem of %s; it has %.1f GiB. Free some space there, "
            "point FLINKFLEET_CACHE at a larger disk, or lower %s." % (
                what, min_free_gib, existing_ancestor(path), free / GIB, variable))
