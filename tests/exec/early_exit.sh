#!/bin/sh
# early_exit.sh MPIEXEC NP APP: runs early_exit_app in every mode at NP ranks and checks that
# each job ends within seconds (never waits for the allocation to end), with a nonzero exit
# status and a message naming the rank that left and why; the "ok" mode must still succeed.
set -u
mpiexec=$1 np=$2 app=$3
last=$((np - 1))
fail=0

check() {  # mode, expected status (0 or "nonzero"), text the output must contain, [env]
  mode=$1 want=$2 text=$3
  start=$(date +%s)
  out=$(env ${4:-} timeout 60 "$mpiexec" -n "$np" "$app" "$mode" 2>&1)
  status=$?
  took=$(( $(date +%s) - start ))
  if [ "$status" = 124 ]; then
    echo "FAIL $mode: the job hung (killed after 60 s)"; fail=1; return
  fi
  if [ "$want" = 0 ] && [ "$status" != 0 ]; then
    echo "FAIL $mode: exit status $status, expected 0"; echo "$out"; fail=1; return
  fi
  if [ "$want" != 0 ] && [ "$status" = 0 ]; then
    echo "FAIL $mode: exit status 0, expected a failure"; echo "$out"; fail=1; return
  fi
  if ! printf '%s' "$out" | grep -q -- "$text"; then
    echo "FAIL $mode: no '$text' in the output:"; echo "$out"; fail=1; return
  fi
  if [ "$took" -gt 20 ]; then
    echo "FAIL $mode: took $took s"; fail=1; return
  fi
  echo "ok   $mode at np $np: status $status after $took s: $(printf '%s' "$out" | grep -m1 -- "$text")"
}

check ok 0 "result"
check return nonzero "rank $last left (its Tessera scheduler was destroyed"
check exception nonzero "rank $last left while an exception unwound its stack"
check exit nonzero "rank $last called exit()"
check uncaught nonzero "rank $last: uncaught exception: bad element 7"
check late nonzero "rank $last did not reach compute #3 within 2 s" TESSERA_COLLECTIVE_TIMEOUT=2
# A rank killed midway through writing a file: the job ends, and nothing is left at the target
# (the temporary next to it may stay: a killed rank cannot clean up; it is named as one).
dir=$(mktemp -d)
check killed_writer nonzero "signal 9" "TESSERA_KILL_TARGET=$dir/out.h5"
if [ -e "$dir/out.h5" ]; then
  echo "FAIL killed_writer: $dir/out.h5 exists after a rank was killed"; fail=1
else
  echo "ok   killed_writer: no file at the target; left: $(ls -A "$dir" | tr '\n' ' ')"
fi
rm -rf "$dir"
# A rank killed in the middle of a long compute that is being traced: the job ends within
# seconds (as Open MPI ends a job whose process dies), and no trace file appears (rank 0
# writes it only when every rank has reached the end).
dir=$(mktemp -d)
check killed_compute nonzero "signal 9" "TESSERA_TRACE=$dir/trace.json"
if [ -n "$(ls -A "$dir")" ]; then
  echo "FAIL killed_compute: left $(ls -A "$dir" | tr '\n' ' ')in $dir"; fail=1
else
  echo "ok   killed_compute: nothing written"
fi
rm -rf "$dir"
exit $fail
