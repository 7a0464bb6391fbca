#!/usr/bin/env bash
# The `spfcheck lint` benchmark (README "Performance: lint"): 20 domains, each with an SPF
# include tree 5 levels deep (d → l1 → l2 → l3 → l4 → l5, 7 DNS-querying terms in all), an MX
# and a DMARC record, generated into one zone file; `spfcheck lint` audits the 20 domains
# concurrently in one run, RUNS times; the script prints the time per run and domains/s.
#
#   benches/lint.sh [RUNS]                     # offline: --offline --zone (default 50 runs)
#   NAMESERVER=127.0.0.1:5300 benches/lint.sh  # against a server that serves the printed zone
#   SPFCHECK=target/debug/spfcheck benches/lint.sh   # another binary (default: release build)
#
# checkdmarc's figure for comparison (about 31 domains/s) is from the project's reference
# harness against a local NSD server (shared/bench/RESULTS.md), not from this script.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-50}
BIN=${SPFCHECK:-target/release/spfcheck}
if [ ! -x "$BIN" ]; then
    cargo build --release --quiet
fi
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
zone=$dir/bench.zone
{
    echo '$ORIGIN bench.example.'
    echo '$TTL 300'
    echo '@ SOA ns.bench.example. hostmaster.bench.example. 1 7200 3600 1209600 300'
    echo 'mx A 192.0.2.25'
    for d in $(seq 1 20); do
        echo "d$d MX 10 mx.bench.example."
        echo "d$d TXT \"v=spf1 include:l1.d$d.bench.example ip4:192.0.2.$d -all\""
        for l in 1 2 3 4; do
            echo "l$l.d$d TXT \"v=spf1 ip4:198.51.100.$l include:l$((l + 1)).d$d.bench.example -all\""
        done
        echo "l5.d$d TXT \"v=spf1 ip4:203.0.113.$d a:mx.bench.example mx:d$d.bench.example -all\""
        echo "_dmarc.d$d TXT \"v=DMARC1; p=reject; rua=mailto:dmarc@d$d.bench.example\""
    done
} > "$zone"
[ -n "${PRINT_ZONE:-}" ] && cat "$zone"
domains=()
for d in $(seq 1 20); do domains+=("d$d.bench.example"); done
if [ -n "${NAMESERVER:-}" ]; then
    source_args=(--nameserver "$NAMESERVER")
else
    source_args=(--offline --zone "$zone")
fi
# One run first: it must work (exit 0 or 1: findings; 2 or 4 would be an error).
set +e
"$BIN" lint "${source_args[@]}" "${domains[@]}" --format json > "$dir/out.json"
code=$?
set -e
if [ "$code" -ge 2 ]; then
    echo "spfcheck lint failed (exit $code)" >&2
    exit 1
fi
times=()
for _ in $(seq 1 "$RUNS"); do
    start=$(date +%s%N)
    "$BIN" lint "${source_args[@]}" "${domains[@]}" --format json > /dev/null || true
    end=$(date +%s%N)
    times+=($(( (end - start) / 1000 )))
done
# CPU time of the same RUNS runs (user + system; load-independent, unlike the wall time on a
# shared machine), when /usr/bin/time is there.
cpu=""
if [ -x /usr/bin/time ]; then
    cpu=$( { /usr/bin/time -f '%U %S' bash -c '
        for _ in $(seq 1 "$1"); do "$2" lint "${@:3}" --format json > /dev/null || true; done
    ' bench "$RUNS" "$BIN" "${source_args[@]}" "${domains[@]}" ; } 2>&1 | tail -1)
fi
sorted=($(printf '%s\n' "${times[@]}" | sort -n))
median=${sorted[$((RUNS / 2))]}
total=0
for t in "${times[@]}"; do total=$((total + t)); done
echo "binary:        $BIN ($("$BIN" --version))"
echo "source:        ${NAMESERVER:-offline zone}"
echo "runs:          $RUNS × 20 domains (5-level include tree each), one process per run"
echo "median run:    $((median / 1000)).$(printf '%03d' $((median % 1000))) ms"
echo "domains/s:     $((20 * 1000000 / median)) (median run), $((20 * RUNS * 1000000 / total)) (all runs)"
echo "vs checkdmarc: $((20 * 1000000 / median / 31))× its ~31 domains/s (reference harness, wall)"
if [ -n "$cpu" ]; then
    awk -v c="$cpu" -v n="$((20 * RUNS))" 'BEGIN {
        split(c, t, " "); s = t[1] + t[2];
        if (s <= 0) s = 0.01;
        printf "CPU:           %.2f s user+sys for %d domains: %d domains per CPU-second (checkdmarc: 214 domains in 6.75 CPU s, ~32/CPU-s)\n", s, n, n / s
    }'
fi
