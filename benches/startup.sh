#!/usr/bin/env bash
# Process start-up of the release binary (issue 9 goals: a single offline check under 5 ms
# wall, `--help` under 2 ms, peak RSS under 16 MiB for a single check).
#
#   benches/startup.sh [RUNS]        (default 200 runs per command; median and p90 printed)
#
# Builds `cargo build --release` (in $CARGO_TARGET_DIR or ./target), then runs each command
# RUNS times, timing each process with a nanosecond clock taken in one process (python3, so
# no shell fork is counted), and reads peak RSS from GNU time (/usr/bin/time -v) when present.
# The machine's load (uptime) is printed with the figures: on a shared machine repeat when it
# is high.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$HERE"
RUNS="${1:-200}"
TARGET="${CARGO_TARGET_DIR:-$HERE/target}"
cargo build --release --quiet
BIN="$TARGET/release/spfcheck"
echo "binary: $BIN ($(stat -c %s "$BIN") bytes)"
echo "load: $(uptime)"

python3 - "$RUNS" "$BIN" <<'EOF'
import os, statistics, subprocess, sys, time
runs, binary = int(sys.argv[1]), sys.argv[2]
cases = [
    ("--help", [binary, "--help"]),
    ("--version", [binary, "--version"]),
    ("offline check (seed zone)", [binary, "--offline", "--zone", "testdata/seed/seed.zone",
                                   "thespykiller.co.uk", "81.142.190.61"]),
    ("offline check --format json", [binary, "--offline", "--zone", "testdata/seed/seed.zone",
                                     "--format", "json", "thespykiller.co.uk", "81.142.190.61"]),
]
devnull = subprocess.DEVNULL
for name, argv in cases:
    for _ in range(5):  # warm the page cache
        subprocess.run(argv, stdout=devnull, stderr=devnull)
    walls = []
    for _ in range(runs):
        t0 = time.perf_counter_ns()
        subprocess.run(argv, stdout=devnull, stderr=devnull)
        walls.append((time.perf_counter_ns() - t0) / 1e6)
    walls.sort()
    p90 = walls[int(len(walls) * 0.9) - 1]
    print(f"{name:32s} wall median {statistics.median(walls):6.2f} ms  p90 {p90:6.2f} ms  min {walls[0]:6.2f} ms  ({runs} runs)")
# An empty process, for the floor that fork + exec costs from this driver.
walls = []
for _ in range(runs):
    t0 = time.perf_counter_ns()
    subprocess.run(["/bin/true"], stdout=devnull, stderr=devnull)
    walls.append((time.perf_counter_ns() - t0) / 1e6)
print(f"{'/bin/true (fork+exec floor)':32s} wall median {statistics.median(walls):6.2f} ms")
EOF

if [ -x /usr/bin/time ]; then
  for args in "--help" "--offline --zone testdata/seed/seed.zone thespykiller.co.uk 81.142.190.61"; do
    # shellcheck disable=SC2086
    rss=$(/usr/bin/time -f "%M" "$BIN" $args 2>&1 >/dev/null | tail -n 1 || true)
    echo "peak RSS spfcheck $args: $rss KiB"
  done
fi
echo "load: $(uptime)"
