#!/usr/bin/env python3
"""Checks that every #include "dir/..." under src/ follows the layering of
../shared/DESIGN.md and docs/architecture.md: a folder includes only its own
headers and those of the folders below it. CMake cannot catch an upward
include of a header-only piece (every target sees all of src/), so this
does. Exit 1, naming each file, line and include, on any violation.

    /usr/bin/python3 tools/check_layering.py [ROOT]
"""
import os
import re
import sys

# Which folders each folder may include (itself always). `artifact_store` is
# the store's public header (src/store/include): the server and the CLI see
# the store only through it.
BELOW = {
    "base": set(),
    "kernels": {"base"},
    "hash": {"base", "kernels"},
    "chunking": {"base", "kernels", "hash"},
    "codec": {"base", "kernels"},
    "cbor": {"base", "kernels"},
    "crypto": {"base"},
    "pack": {"base", "kernels", "hash", "codec", "cbor", "crypto"},
    "index": {"base", "kernels", "hash", "codec", "cbor", "crypto", "pack"},
    "store": {"base", "kernels", "hash", "chunking", "codec", "cbor", "crypto", "pack", "index",
              "s3client", "artifact_store"},
    "s3": {"base", "kernels", "hash"},
    "s3client": {"base", "kernels", "hash", "codec", "cbor", "crypto", "pack", "s3"},
    "http": {"base"},
    "server": {"base", "kernels", "hash", "cbor", "s3", "http", "artifact_store"},
    "cli": {"base", "kernels", "hash", "cbor", "s3", "http", "server", "artifact_store"},
}
INCLUDE = re.compile(r'^\s*#\s*include\s+"([A-Za-z0-9_]+)/')


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..")
    src = os.path.join(root, "src")
    bad = 0
    for folder in sorted(os.listdir(src)):
        if not os.path.isdir(os.path.join(src, folder)):
            continue
        if folder not in BELOW:
            print(f"check_layering: src/{folder} is not in the layer table; add it")
            bad += 1
            continue
        allowed = BELOW[folder] | {folder}
        if folder == "store":
            allowed.add("artifact_store")
        for dirpath, _, files in os.walk(os.path.join(src, folder)):
            for name in sorted(files):
                if not name.endswith((".h", ".cc")):
                    continue
                path = os.path.join(dirpath, name)
                with open(path, encoding="utf-8") as f:
                    for n, line in enumerate(f, 1):
                        m = INCLUDE.match(line)
                        if m and m.group(1) not in allowed:
                            rel = os.path.relpath(path, root)
                            print(f"{rel}:{n}: src/{folder} includes {m.group(1)}/, "
                                  f"which is not below it")
                            bad += 1
    if bad:
        print(f"check_layering: {bad} problem(s)")
        return 1
    print("check_layering: every include follows the layers")
    return 0


if __name__ == "__main__":
    sys.exit(main())
