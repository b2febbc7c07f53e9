#!/usr/bin/env bash
# same_results.sh MPIEXEC RANKS APP ARGS...: runs APP on 1 rank and on RANKS ranks and fails
# unless both succeed, print at least one `result` line, and print the same ones.
set -euo pipefail
mpiexec=$1 ranks=$2 app=$3
shift 3
one=$("$mpiexec" -n 1 "$app" "$@" | grep '^result')
many=$("$mpiexec" -n "$ranks" "$app" "$@" | grep '^result')
if [[ -z "$one" || "$one" != "$many" ]]; then
  echo "result lines differ between 1 and $ranks ranks:"
  diff <(echo "$one") <(echo "$many") || true
  exit 1
fi
echo "$one"
