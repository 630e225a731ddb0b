#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""runscope.so exports module_register and nothing else of ours.

The build hides every symbol (-fvisibility=hidden) but the one collectd looks
up; a function marked visibility("default") by mistake, or an object built
without the flag, shows up here.

Usage: check_exports.py SO   Prints one line per extra symbol, exits 1 if
there was any (or if module_register is missing).
"""
import subprocess
import sys

WANTED = "module_register"
# What the linker itself may define in a shared object's dynamic table.
TOOLCHAIN = {"_init", "_fini", "_edata", "_end", "__bss_start"}


def exported(so):
    """The names of the defined dynamic symbols of so."""
    out = subprocess.run(["nm", "-D", "--defined-only", so], check=True,
                         capture_output=True, text=True).stdout
    names = []
    for line in out.splitlines():
        fields = line.split()
        if len(fields) >= 3:
            names.append(fields[2].split("@")[0])
    return names


def main(argv):
    if len(argv) != 2:
        print("usage: check_exports.py SO", file=sys.stderr)
        return 2
    so = argv[1]
    names = exported(so)
    bad = ["%s exports %s: only %s may be exported (make it static or "
           "drop its visibility(\"default\"); objects are built with "
           "-fvisibility=hidden)" % (so, n, WANTED)
           for n in names if n != WANTED and n not in TOOLCHAIN]
    if WANTED not in names:
        bad.append("%s does not export %s: collectd cannot load it"
                   % (so, WANTED))
    for msg in bad:
        print(msg)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
