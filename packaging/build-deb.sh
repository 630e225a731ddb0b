#!/bin/sh
# SPDX-License-Identifier: MIT
# Builds the collectd-runscope .deb from the committed tree (git archive of
# HEAD, or of $PKG_REF) in build/deb/, and copies it to build/. The source
# tree is never touched: debian/ exists only in the build copy.
#
# Usage: packaging/build-deb.sh   (make deb; run from the top of a checkout)
set -eu

ref=${PKG_REF:-HEAD}
work=build/deb

if ! git rev-parse --verify -q "$ref^{tree}" >/dev/null; then
	echo "build-deb: $ref is not a commit (or tree) of a git checkout: the package is" \
		"built from the committed tree" >&2
	exit 1
fi
if [ "$ref" = HEAD ] && ! git diff --quiet HEAD -- 2>/dev/null; then
	echo "build-deb: note: packaging HEAD ($(git rev-parse --short HEAD));" \
		"uncommitted changes are not in the package"
fi

rm -rf "$work"
mkdir -p "$work"
git archive --format=tar --prefix=src/ "$ref" | tar -xf - -C "$work"

version=$(cat "$work/src/VERSION")
changelog_version=$(dpkg-parsechangelog -l "$work/src/packaging/debian/changelog" -S Version)
if [ "$changelog_version" != "$version" ]; then
	echo "build-deb: ERROR: VERSION says $version but packaging/debian/changelog" \
		"says $changelog_version." >&2
	echo "build-deb: add a changelog entry for $version, e.g.:" \
		"dch -c packaging/debian/changelog -v $version" >&2
	exit 1
fi

tree="$work/collectd-runscope-$version"
mv "$work/src" "$tree"
cp -a "$tree/packaging/debian" "$tree/debian"
(cd "$tree" && dpkg-buildpackage -us -uc -b)

rm -f build/collectd-runscope_*.deb
cp "$work"/collectd-runscope_"$version"_*.deb build/
ls -l build/collectd-runscope_"$version"_*.deb
