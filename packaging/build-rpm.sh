#!/bin/sh
# SPDX-License-Identifier: MIT
# Builds the collectd-runscope RPM with rpmbuild from a tarball of the
# committed tree (git archive of HEAD, or of $PKG_REF), with the topdir in
# build/rpm, and copies the binary RPM to build/.
#
# On Debian this builds against Debian's collectd headers and libraries: a
# smoke test of the spec (see its header). On an RPM distribution, name the
# header tree made by packaging/rpm/collectd-headers.py:
#
#   COLLECTD_INCLUDE=/opt/collectd-5.12.0-headers/collectd packaging/build-rpm.sh
#
# Usage: packaging/build-rpm.sh   (make rpm; run from the top of a checkout)
set -eu

ref=${PKG_REF:-HEAD}
top=$(pwd)/build/rpm
include=${COLLECTD_INCLUDE:-/usr/include/collectd}

if ! git rev-parse --verify -q "$ref^{tree}" >/dev/null; then
	echo "build-rpm: $ref is not a commit (or tree) of a git checkout: the" \
		"package is built from the committed tree" >&2
	exit 1
fi
if [ "$ref" = HEAD ] && ! git diff --quiet HEAD -- 2>/dev/null; then
	echo "build-rpm: note: packaging HEAD ($(git rev-parse --short HEAD));" \
		"uncommitted changes are not in the package"
fi

rm -rf "$top"
mkdir -p "$top/SOURCES" "$top/SPECS" "$top/BUILD" "$top/RPMS" "$top/SRPMS"
version=$(git show "$ref:VERSION")
spec="$top/SPECS/collectd-runscope.spec"
git show "$ref:packaging/rpm/collectd-runscope.spec" >"$spec"
spec_version=$(sed -n 's/^Version:[[:space:]]*//p' "$spec")
if [ "$spec_version" != "$version" ]; then
	echo "build-rpm: ERROR: VERSION says $version but" \
		"packaging/rpm/collectd-runscope.spec says Version: $spec_version." >&2
	echo "build-rpm: set Version: $version and add a %changelog entry." >&2
	exit 1
fi

git archive --format=tar.gz --prefix="collectd-runscope-$version/" "$ref" \
	>"$top/SOURCES/collectd-runscope-$version.tar.gz"
# rpm's database on Debian is empty, so the BuildRequires cannot be checked
# there (install-deps.sh installed their Debian equivalents): --nodeps.
nodeps=
rpm -q glibc >/dev/null 2>&1 || nodeps=--nodeps
rpmbuild --define "_topdir $top" --define "collectd_include $include" \
	$nodeps -ba "$spec"

rm -f build/collectd-runscope-[0-9]*.rpm
cp "$top"/RPMS/*/collectd-runscope-"$version"-*.rpm build/
ls -l build/collectd-runscope-"$version"-*.rpm
