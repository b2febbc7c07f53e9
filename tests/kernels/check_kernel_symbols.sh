#!/bin/sh
# Usage: check_kernel_symbols.sh NM NAMESPACE "a.o;b.o;..."
# Fails when a kernel set's objects define a symbol outside the set's own namespace (apart from
# the exception personality's data reference). Such a symbol (an inline library function, an
# exception's vtable) would be compiled for the set's instruction set, and the linker could keep
# that copy for the whole program, which would then fault on CPUs without that set
# (src/kernels/kernel_set.hpp).
set -eu
nm_tool=$1
namespace=$2
objects=$(printf '%s' "$3" | tr ';' ' ')
# shellcheck disable=SC2086
stray=$("$nm_tool" -C --defined-only $objects | grep -E '^[0-9a-f]+ [A-Za-z] ' |
  awk '$2 !~ /^[trdbns]$/' | grep -v "tessera::detail::$namespace::" |
  grep -v 'DW.ref.__gxx_personality_v0' || true)
if [ -n "$stray" ]; then
  echo "kernel set $namespace defines symbols outside its namespace:"
  echo "$stray"
  exit 1
fi
echo "kernel set $namespace: every global symbol is in tessera::detail::$namespace"
