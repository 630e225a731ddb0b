#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""C library calls the product does not make (docs: STYLE.md).

Unbounded copies, static result buffers and hidden state: each has a
bounded or reentrant replacement, named in the message. Comments and string
literals are not code and are skipped.

Usage: check_calls.py DIR...   (the product's C: shared plugin)
Prints one line per call, "file:line calls f: use g", exits 1 if there was
any.
"""
import os
import re
import sys

BANNED = {
    "strcpy": "str_copy (util/str.h), which reports truncation",
    "strcat": "a struct buf (util/buf.h) or str_copy",
    "sprintf": "snprintf, or buf_printf (util/buf.h)",
    "vsprintf": "vsnprintf",
    "strtok": "strtok_r, or a scan with strchr/strcspn",
    "gmtime": "gmtime_r",
    "localtime": "localtime_r",
    "strerror": "err_errno_text (util/err.h), or curl_easy_strerror for "
                "a CURLcode",
    "atoi": "strtol with an end pointer and a range check",
}
# A call: the name as a whole word, not a member (.f, ->f), before "(".
CALL = re.compile(r"(?<![\w.>])(%s)\s*\(" % "|".join(BANNED))
# Comments, string and character literals, in the order C reads them.
NOT_CODE = re.compile(r'//[^\n]*|/\*.*?\*/|"(?:\\.|[^"\\\n])*"'
                      r"|'(?:\\.|[^'\\\n])*'", re.S)


def blank(match):
    """A comment or literal emptied, its newlines kept (line numbers)."""
    return re.sub(r"[^\n]", " ", match.group(0))


def check_file(path):
    """Yields the messages for one C file."""
    with open(path, encoding="utf-8", errors="replace") as f:
        code = NOT_CODE.sub(blank, f.read())
    for lineno, line in enumerate(code.split("\n"), 1):
        for m in CALL.finditer(line):
            name = m.group(1)
            yield "%s:%d calls %s: use %s" % (path, lineno, name,
                                              BANNED[name])


def c_files(top):
    for dirpath, dirnames, filenames in os.walk(top):
        dirnames.sort()
        for name in sorted(filenames):
            if name.endswith((".c", ".h")):
                yield os.path.join(dirpath, name)


def main(argv):
    bad = []
    for top in argv[1:]:
        for path in c_files(top):
            bad.extend(check_file(path))
    for msg in bad:
        print(msg)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
