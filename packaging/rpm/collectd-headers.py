#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Makes collectd's plugin headers, laid out as Debian's collectd-dev ships
them, from a configured collectd 5.12 source tree.

RPM distributions ship no collectd plugin headers. Debian ships them in
/usr/include/collectd: core/ (src/ of the source tree with its config.h) and
liboconfig/, with every #include "x.h" between them rewritten to the full
"collectd/core/..." or "collectd/liboconfig/..." name. The plugin's sources
use those names, so this script makes the same tree:

    packaging/rpm/collectd-headers.py SRC DEST

SRC is a collectd 5.12 source tree in which ./configure has run (it writes
src/config.h; the release tarball collectd-5.12.0.tar.bz2 needs nothing but
./configure). DEST/collectd is created (it must not exist) and is what the
spec's collectd_include macro and the Makefile's COLLECTD_INCLUDE name:

    rpmbuild ... --define "collectd_include DEST/collectd"

Configure collectd on the machine (distribution and architecture) that will
run the plugin: config.h records that machine's types and features.
Standard library only; python3.6 or later.
"""

import os
import re
import shutil
import sys

INCLUDE_RE = re.compile(r'^(\s*#\s*include\s+)"([^"]+)"', re.M)
VERSION_RE = re.compile(r'^#define PACKAGE_VERSION "([^"]*)"', re.M)
# The client library has its own package (libcollectdclient) and is no
# part of the plugin headers.
SKIP_DIRS = ("libcollectdclient",)


def fail(msg):
    sys.stderr.write("collectd-headers: %s\n" % msg)
    sys.exit(1)


def target_of(rel):
    """Where a header of src/ goes, relative to DEST."""
    if rel.startswith("liboconfig/"):
        return "collectd/" + rel
    return "collectd/core/" + rel


def source_headers(src):
    """The headers of src/ (relative paths), config.h included."""
    out = []
    for root, dirs, files in os.walk(src):
        rel_root = os.path.relpath(root, src)
        if rel_root == ".":
            dirs[:] = [d for d in dirs if d not in SKIP_DIRS]
        dirs.sort()
        for name in sorted(files):
            if name.endswith(".h"):
                out.append(os.path.normpath(os.path.join(rel_root, name)))
    return out


def resolve(including, name, known):
    """The src/-relative header that `#include "name"` in header
    `including` means to collectd's own build (the including file's
    directory, then -Isrc, then -Isrc/daemon), or None."""
    for base in (os.path.dirname(including), "", "daemon"):
        rel = os.path.normpath(os.path.join(base, name))
        if rel in known:
            return rel
    return None


def rewrite(rel, text, known, unresolved):
    def sub(m):
        found = resolve(rel, m.group(2), known)
        if found is None:
            unresolved.add((rel, m.group(2)))
            return m.group(0)
        return '%s"%s"' % (m.group(1), target_of(found))
    return INCLUDE_RE.sub(sub, text)


def main(argv):
    if len(argv) != 3:
        sys.stderr.write(__doc__)
        return 2
    src = os.path.join(argv[1], "src")
    dest = argv[2]
    config_h = os.path.join(src, "config.h")
    if not os.path.isfile(os.path.join(src, "daemon", "plugin.h")):
        fail("%s is not a collectd source tree (no src/daemon/plugin.h)"
             % argv[1])
    if not os.path.isfile(config_h):
        fail("%s has no config.h: run ./configure in %s first"
             % (src, argv[1]))
    with open(config_h) as f:
        m = VERSION_RE.search(f.read())
    version = m.group(1) if m else "unknown"
    if not version.startswith("5.12."):
        fail("the tree is collectd %s; the plugin is built for the 5.12 "
             "series" % version)
    if os.path.exists(os.path.join(dest, "collectd")):
        fail("%s already exists" % os.path.join(dest, "collectd"))

    headers = source_headers(src)
    known = set(headers)
    unresolved = set()
    for rel in headers:
        with open(os.path.join(src, rel), encoding="utf-8",
                  errors="surrogateescape") as f:
            text = f.read()
        out = os.path.join(dest, target_of(rel))
        os.makedirs(os.path.dirname(out), exist_ok=True)
        with open(out, "w", encoding="utf-8", errors="surrogateescape") as f:
            f.write(rewrite(rel, text, known, unresolved))
        shutil.copymode(os.path.join(src, rel), out)

    print("collectd-headers: %d headers of collectd %s in %s"
          % (len(headers), version, os.path.join(dest, "collectd")))
    for rel, name in sorted(unresolved):
        print("collectd-headers: note: %s includes \"%s\", which is not a "
              "header of src/ (left as is)" % (rel, name))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
