#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The include rules of the layout (docs: DESIGN.md, "Layout").

shared/ is in layer folders, lowest first: util, config, transport, clients,
core, store, engine. A file in shared/ may include headers of its own folder
or of a lower one, never of a higher one (nor of plugin/ or cli/). Only
plugin/ may include collectd's headers (collectd/..., liboconfig/...).
cli/ (runscopectl) may include its own headers and those of any layer of
shared/, never plugin/'s or collectd's.

Usage: check_layers.py [ROOT]   (ROOT: the source tree, default .)
Prints one line per broken rule, "file:line includes X: rule", and exits 1
if there was any.
"""
import os
import re
import sys

LAYERS = ["util", "config", "transport", "clients", "core", "store", "engine"]
# What a file includes with -Ishared -I$(COLLECTD_INCLUDE): collectd's tree
# (collectd/core/..., collectd/liboconfig/...) or, in collectd's own in-tree
# style, its top headers by bare name.
COLLECTD_PREFIXES = ("collectd/", "liboconfig/")
COLLECTD_NAMES = {"collectd.h", "plugin.h", "common.h", "oconfig.h"}
INCLUDE = re.compile(r'^\s*#\s*include\s*([<"])([^>"]+)[>"]')


def rule_text(layer):
    """The rule for a file of the given layer, as the message states it."""
    allowed = LAYERS[: LAYERS.index(layer) + 1]
    return "%s may include only %s" % (layer, ", ".join(allowed))


CLI_RULE = "shared/ never includes cli/ (cli/ uses shared/, not the reverse)"


def is_collectd(name):
    return (name.startswith(COLLECTD_PREFIXES)
            or os.path.basename(name) in COLLECTD_NAMES)


def resolve(root, path, name):
    """The folder under root that a quoted include lands in, as the compiler
    looks: the including file's folder first, then shared/ (-Ishared).
    Returns a path relative to root, or None if it lands nowhere in the
    tree."""
    for base in (os.path.dirname(path), os.path.join(root, "shared")):
        cand = os.path.normpath(os.path.join(base, name))
        if os.path.isfile(cand):
            return os.path.relpath(cand, root)
    return None


def check_include(root, path, layer, quote, name):
    """The message for one include of a shared/ file, or None if it keeps
    the rules."""
    if is_collectd(name):
        return "only plugin/ may include collectd headers"
    if quote != '"':
        return None  # a system header (libc, libcurl, json-c)
    target = resolve(root, path, name)
    if name.startswith("cli/") or (target or "").startswith("cli" + os.sep):
        return CLI_RULE
    if target is None:
        return "names no header of shared/ (includes name the folder: " \
               "\"util/buf.h\")"
    parts = target.split(os.sep)
    if parts[0] == "shared" and len(parts) == 3 and parts[1] in LAYERS:
        if LAYERS.index(parts[1]) <= LAYERS.index(layer):
            return None
    return rule_text(layer)


def check_file(root, path, layer):
    """Yields the messages for one file of shared/<layer>/."""
    rel = os.path.relpath(path, root)
    with open(path, encoding="utf-8", errors="replace") as f:
        for lineno, line in enumerate(f, 1):
            m = INCLUDE.match(line)
            if not m:
                continue
            why = check_include(root, path, layer, m.group(1), m.group(2))
            if why:
                yield "%s:%d includes %s: %s" % (rel, lineno, m.group(2), why)


def check_cli_include(root, path, quote, name):
    """The message for one include of a cli/ file, or None if it keeps the
    rules: its own folder or any layer of shared/."""
    if is_collectd(name):
        return "only plugin/ may include collectd headers"
    if quote != '"':
        return None
    target = resolve(root, path, name)
    if target is None:
        return "names no header of cli/ or shared/"
    parts = target.split(os.sep)
    if parts[0] == "cli" and len(parts) == 2:
        return None
    if parts[0] == "shared" and len(parts) == 3 and parts[1] in LAYERS:
        return None
    return "cli may include only cli/ and shared/ headers"


def check_cli(root):
    """Yields the messages for the files of cli/ (absent: none)."""
    cdir = os.path.join(root, "cli")
    if not os.path.isdir(cdir):
        return
    for name in sorted(os.listdir(cdir)):
        if not name.endswith((".c", ".h")):
            continue
        path = os.path.join(cdir, name)
        with open(path, encoding="utf-8", errors="replace") as f:
            for lineno, line in enumerate(f, 1):
                m = INCLUDE.match(line)
                why = m and check_cli_include(root, path, m.group(1),
                                              m.group(2))
                if why:
                    yield "cli/%s:%d includes %s: %s" % (name, lineno,
                                                         m.group(2), why)


def main(argv):
    root = os.path.abspath(argv[1] if len(argv) > 1 else ".")
    shared = os.path.join(root, "shared")
    bad = []
    for folder in sorted(os.listdir(shared)):
        fdir = os.path.join(shared, folder)
        if not os.path.isdir(fdir):
            continue
        if folder not in LAYERS:
            bad.append("shared/%s: not a layer folder (layers: %s)"
                       % (folder, ", ".join(LAYERS)))
            continue
        for name in sorted(os.listdir(fdir)):
            if name.endswith((".c", ".h")):
                bad.extend(check_file(root, os.path.join(fdir, name), folder))
    bad.extend(check_cli(root))
    for msg in bad:
        print(msg)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
