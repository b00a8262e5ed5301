#!/bin/sh
# Refresh the JavaScript charting library embedded in the HTML reports
# (report/assets): Apache ECharts, pinned below, fetched from the npm
# registry with `npm pack`. Run from anywhere; needs npm and tar.
#
#   scripts/report/refresh.sh            # the pinned version
#   ECHARTS_VERSION=6.0.0 scripts/report/refresh.sh
#
# It writes echarts.min.js, its LICENSE and NOTICE and a VERSION file (with
# the tarball's sha256) into report/assets, which go:embed puts in every
# HTML report. After a version change, run the browser test and look at the
# screenshots again: go test ./report -run Browser -screenshots=DIR
set -eu

version="${ECHARTS_VERSION:-6.1.0}"
root="$(cd "$(dirname "$0")/../.." && pwd)"
dest="$root/report/assets"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

cd "$tmp"
tarball="$(npm pack --silent "echarts@$version")"
tar -xzf "$tarball"
mkdir -p "$dest"
cp package/dist/echarts.min.js "$dest/echarts.min.js"
cp package/LICENSE "$dest/ECHARTS_LICENSE"
if [ -f package/NOTICE ]; then cp package/NOTICE "$dest/ECHARTS_NOTICE"; fi
printf 'echarts %s\n' "$version" > "$dest/VERSION"
sha256sum "$tarball" | sed "s|$tarball|echarts-$version.tgz|" >> "$dest/VERSION"
ls -l "$dest"
