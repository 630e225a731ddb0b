#!/bin/sh
# SPDX-License-Identifier: MIT
# Installs the Debian packages collectd-runscope needs to build, test and package.
#
# Usage: packaging/install-deps.sh [build|package|fuzz|bench]
#   build    (default) compiler, collectd headers and daemon, libcurl, json-c,
#            Check, valgrind, python3 for the fake servers, groff for the man
#            page, clang-format and cppcheck for make lint, openssl and
#            tinyproxy for the TLS and proxy end-to-end tests
#   package  build plus debhelper, dpkg-dev, rpm and lintian
#   fuzz     build plus clang and its libFuzzer runtime, for make fuzz
#   bench    build plus matplotlib, for the chart of make bench
#
# As root on Debian or Ubuntu it runs apt-get for what is missing; otherwise it
# prints the command to run and exits non-zero when something is missing.
set -eu

BUILD_PKGS="gcc make pkg-config collectd-core collectd-dev libcurl4-openssl-dev
libjson-c-dev check python3 valgrind libyajl2 groff-base clang-format cppcheck
pyflakes3 openssl tinyproxy"
PACKAGE_PKGS="debhelper dpkg-dev fakeroot rpm lintian"
# libFuzzer comes with clang's runtime, only recommended by clang (Debian 12)
FUZZ_PKGS="clang libclang-rt-14-dev"
BENCH_PKGS="python3-matplotlib"

case "${1:-build}" in
build) wanted=$BUILD_PKGS ;;
package) wanted="$BUILD_PKGS $PACKAGE_PKGS" ;;
fuzz) wanted="$BUILD_PKGS $FUZZ_PKGS" ;;
bench) wanted="$BUILD_PKGS $BENCH_PKGS" ;;
*)
	echo "usage: $0 [build|package|fuzz|bench]" >&2
	exit 2
	;;
esac

missing=""
for pkg in $wanted; do
	status=$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null || true)
	[ "$status" = "installed" ] || missing="$missing $pkg"
done

[ -z "$missing" ] && exit 0

if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
	echo "missing packages:$missing" >&2
	echo "install them with: sudo apt-get install --no-install-recommends$missing" >&2
	exit 1
fi

echo "installing:$missing"
export DEBIAN_FRONTEND=noninteractive
# The package lists may be absent or stale on a fresh machine.
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing
