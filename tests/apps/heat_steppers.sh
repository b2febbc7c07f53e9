#!/usr/bin/env bash
# heat_steppers.sh MPIEXEC RANKS APP ARGS...: runs the heat app on RANKS ranks with the halo
# exchange done by hand (--stepper mpi) and by Tessera's map_overlap (--stepper tessera), and
# fails unless both succeed, print at least one `result` line, and print the same ones.
set -euo pipefail
mpiexec=$1 ranks=$2 app=$3
shift 3
by_hand=$("$mpiexec" -n "$ranks" "$app" --stepper mpi "$@" | grep '^result')
by_tessera=$("$mpiexec" -n "$ranks" "$app" --stepper tessera "$@" | grep '^result')
if [[ -z "$by_hand" || "$by_hand" != "$by_tessera" ]]; then
  echo "result lines differ between --stepper mpi and --stepper tessera on $ranks ranks:"
  diff <(echo "$by_hand") <(echo "$by_tessera") || true
  exit 1
fi
echo "$by_tessera"
