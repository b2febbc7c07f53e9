#!/bin/sh
# report_in_browser.sh MPIEXEC NP APP: runs the example job (tessera_seeds) at NP ranks with
# --report and --trace, then loads the report in headless Chromium (Debian's `chromium`, which
# scripts/install-deps --browser installs): the page must render (its script marks <body
# data-rendered="ok"> at the end), print nothing on the console, raise no script error, and
# screenshot to a non-empty PNG. The trace must parse as JSON with a process per rank.
# TESSERA_REPORT_KEEP=DIR keeps the report, the trace and the screenshot there.
set -u
mpiexec=$1 np=$2 app=$3
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

browser=$(command -v chromium || command -v chromium-browser) ||
  fail "no chromium to check the report in (scripts/install-deps --browser installs Debian's)"

timeout 120 "$mpiexec" -n "$np" "$app" --scale 0.02 --report "$dir/report.html" \
  --trace "$dir/trace.json" >"$dir/job.out" 2>&1 || { cat "$dir/job.out"; fail "the job failed"; }
[ -s "$dir/report.html" ] || fail "no report written"
ls -A "$dir" | grep -q '\.tmp$' && fail "a temporary was left: $(ls -A "$dir")"

python3 - "$dir/trace.json" "$np" <<'PY' || fail "the trace is not what Perfetto reads"
import json, sys
t = json.load(open(sys.argv[1]))
ranks = {e["pid"] for e in t["traceEvents"] if e.get("name") == "process_name"}
tasks = sum(1 for e in t["traceEvents"] if e.get("cat") == "task")
assert ranks == set(range(int(sys.argv[2]))), ranks
assert tasks > 0
print(f"ok   trace: {len(t['traceEvents'])} events, {tasks} tasks, ranks {sorted(ranks)}")
PY

# A profile of its own, so that nothing of a user's Chromium is read or written.
run_browser() {
  HOME="$dir" timeout 90 "$browser" --headless --no-sandbox --disable-gpu --no-first-run \
    --user-data-dir="$dir/profile" --hide-scrollbars --enable-logging=stderr --v=0 \
    --virtual-time-budget=5000 "$@" "file://$dir/report.html"
}
run_browser --dump-dom >"$dir/dom.html" 2>"$dir/browser.log" || { cat "$dir/browser.log"; fail "chromium failed"; }
if grep -q ':CONSOLE' "$dir/browser.log"; then
  grep ':CONSOLE' "$dir/browser.log"
  fail "the report printed on the browser's console"
fi
grep -q 'data-errors=' "$dir/dom.html" && fail "script errors: $(grep -o 'data-errors="[^"]*"' "$dir/dom.html")"
grep -q '<body data-rendered="ok"' "$dir/dom.html" || fail "the report's script did not finish rendering"
run_browser --window-size=1400,2400 --screenshot="$dir/report.png" >/dev/null 2>>"$dir/browser.log" ||
  { cat "$dir/browser.log"; fail "chromium could not take a screenshot"; }
size=$(wc -c <"$dir/report.png" 2>/dev/null || echo 0)
[ "$size" -gt 20000 ] || fail "the screenshot is $size bytes: an empty page?"
if [ -n "${TESSERA_REPORT_KEEP:-}" ]; then
  mkdir -p "$TESSERA_REPORT_KEEP" && cp "$dir"/report.html "$dir"/trace.json "$dir"/report.png "$TESSERA_REPORT_KEEP"/
fi
echo "ok   report: $(wc -c <"$dir/report.html") bytes, rendered in Chromium without console output; screenshot $size bytes"
