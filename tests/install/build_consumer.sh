#!/bin/sh
# Installs the build tree's Tessera into a fresh prefix, builds tests/install/consumer against it
# with find_package(tessera), and runs it: the package's config, exported targets and headers
# are enough for an outside project. Usage: build_consumer.sh BUILD_DIR SOURCE_DIR WORK_DIR
set -eu
build=$1 source=$2 work=$3
rm -rf "$work"
cmake --install "$build" --prefix "$work/prefix" > "$work.install.log" 2>&1 || {
  cat "$work.install.log"; exit 1; }
cmake -S "$source/tests/install/consumer" -B "$work/build" -DCMAKE_PREFIX_PATH="$work/prefix" \
  -DCMAKE_BUILD_TYPE=Release
cmake --build "$work/build"
"$work/build/consumer"
