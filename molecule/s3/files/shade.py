"""Merge jars into one, as a shade plugin without relocation does: the first jar's entries win
(its manifest names the job), signature files of the others are dropped. The output is the same
bytes for the same inputs (fixed entry times), and is only rewritten when its content changes.
Prints "changed" or "unchanged".

usage: shade.py OUT.jar FIRST.jar [MORE.jar ...]
"""

import io
import os
import sys
import zipfile

SIGNATURES = (".SF", ".DSA", ".RSA", ".EC")


def shade(sources):
    seen = set()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as out:
        for path in sources:
            with zipfile.ZipFile(path) as src:
                for info in src.infolist():
                    name = info.filename
                    upper = name.upper()
                    if info.is_dir() or name in seen:
                        continue
                    if upper.startswith("META-INF/") and upper.endswith(SIGNATURES):
                        continue
                    seen.add(name)
                    entry = zipfile.ZipInfo(name, date_time=(2026, 1, 1, 0, 0, 0))
                    entry.compress_type = zipfile.ZIP_DEFLATED
                    entry.external_attr = 0o644 << 16
                    out.writestr(entry, src.read(info))
    return buffer.getvalue()


def main(argv):
    if len(argv) < 3:
        sys.exit(__doc__)
    target, sources = argv[1], argv[2:]
    content = shade(sources)
    if os.path.exists(target):
        with open(target, "rb") as handle:
            if handle.read() == content:
                print("unchanged")
                return
    with open(target + ".tmp", "wb") as handle:
        handle.write(content)
    os.replace(target + ".tmp", target)
    print("changed")


if __name__ == "__main__":
    main(sys.argv)
