#!/usr/bin/env bash
# One benchmark table for issue 11, every figure from the same run so machine noise is shared:
# de-identification vs a plain linear scan of the same bytes, gateway overhead vs the mock
# upstream called directly, durable audit appends, envelope encryption vs raw AES-256-GCM, and
# the memory (RSS) of a `phigate serve` at rest and under a bounded load from `phigate bench load`.
#
# It runs the crates' own benches (crates/*/benches) with small bounds and reads their output;
# nothing is measured twice. Loopback only. Takes a few minutes on two cores.
#
#   scripts/bench-table.sh            # bounds below; override any of them in the environment
#
# BENCH_DEID_MB (20), BENCH_GATEWAY_REQUESTS (200), BENCH_GATEWAY_SECONDS (3),
# BENCH_AUDIT_APPENDS (50000), BENCH_AUDIT_VERIFY (100000), BENCH_LOAD_REQUESTS (2000),
# BENCH_LOAD_CONCURRENCY (16), BENCH_LOAD_SECONDS (20). Set BENCH_POSTGRES=1 to add the audit
# bench on PostgreSQL at 127.0.0.1:5432.
set -euo pipefail
cd "$(dirname "$0")/.."

deid_mb=${BENCH_DEID_MB:-20}
gw_requests=${BENCH_GATEWAY_REQUESTS:-200}
gw_seconds=${BENCH_GATEWAY_SECONDS:-3}
audit_appends=${BENCH_AUDIT_APPENDS:-50000}
audit_verify=${BENCH_AUDIT_VERIFY:-100000}
load_requests=${BENCH_LOAD_REQUESTS:-2000}
load_concurrency=${BENCH_LOAD_CONCURRENCY:-16}
load_seconds=${BENCH_LOAD_SECONDS:-20}

work=$(mktemp -d)
serve_pid=""
cleanup() {
    if [[ -n "$serve_pid" ]]; then kill "$serve_pid" 2>/dev/null || true; wait "$serve_pid" 2>/dev/null || true; fi
    rm -rf "$work"
}
trap cleanup EXIT

# The benches read PHIGATE_BENCH_*; the binary refuses unknown PHIGATE_ variables, so they are
# only ever set on the bench commands.
bench() { # NAME ENV...
    local name=$1; shift
    echo "running bench $name ..." >&2
    env "$@" cargo bench --workspace --locked --bench "$name" 2>/dev/null
}
field() { # PATTERN AWK-PROGRAM FILE: one figure from a bench's output
    grep -m1 -- "$1" "$3" | awk "$2"
}

bench throughput PHIGATE_BENCH_MB="$deid_mb" > "$work/deid.txt"
bench overhead PHIGATE_BENCH_REQUESTS="$gw_requests" PHIGATE_BENCH_SECONDS="$gw_seconds" > "$work/gateway.txt"
audit_env=(PHIGATE_BENCH_APPENDS="$audit_appends" PHIGATE_BENCH_VERIFY="$audit_verify")
[[ -n "${BENCH_POSTGRES:-}" ]] && audit_env+=(PHIGATE_BENCH_POSTGRES=1)
bench append "${audit_env[@]}" > "$work/audit.txt"
bench envelope > "$work/envelope.txt"

echo "building phigate (release) ..." >&2
cargo build --workspace --locked --release --bin phigate 2>/dev/null
target_dir=$(cargo metadata --format-version 1 --no-deps | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')
# The default rate limits (60 requests at once, then 5/s per caller) would answer most of a load
# from one token with 429 and measure the refusal path; the load row measures the request path.
cat > "$work/bench.toml" <<'TOML'
[rate_limit]
principal_burst = 1000000
principal_per_second = 1000000.0
client_burst = 1000000
client_per_second = 1000000.0
tenant_burst = 1000000
tenant_per_second = 1000000.0
TOML
phigate=("$target_dir/release/phigate" --config "$work/bench.toml" --data-dir "$work/data")
clean_env=(env $(env | sed -n 's/^\(PHIGATE_[A-Z0-9_]*\)=.*/-u \1/p'))

"${clean_env[@]}" "${phigate[@]}" init > /dev/null
"${clean_env[@]}" "${phigate[@]}" serve --listen 127.0.0.1:0 > "$work/serve.out" 2> "$work/serve.err" &
serve_pid=$!
for _ in $(seq 100); do grep -q 'http://' "$work/serve.out" 2>/dev/null && break; sleep 0.1; done
url=$(grep -o 'http://[0-9.:]*' "$work/serve.out" | head -1)
[[ -n "$url" ]] || { echo "phigate serve did not start" >&2; exit 1; }
rss() { awk '/^VmRSS/ {print $2}' "/proc/$serve_pid/status"; }
sleep 1
rss_rest=$(rss)
token=$("${clean_env[@]}" "${phigate[@]}" token --role service)
rss_peak=$rss_rest
"${clean_env[@]}" "${phigate[@]}" bench load --url "$url" --token "$token" \
    --requests "$load_requests" --concurrency "$load_concurrency" --duration "$load_seconds" \
    > "$work/load.txt" &
load_pid=$!
while kill -0 "$load_pid" 2>/dev/null; do
    now=$(rss); (( now > rss_peak )) && rss_peak=$now; sleep 0.2
done
wait "$load_pid" || echo "warning: some load requests failed (see the load row)" >&2
load_kv() { grep -m1 '^load:' "$work/load.txt" | tr ' ' '\n' | sed -n "s/^$1=//p"; }

scan=$(field 'linear scan:' '{print $3}' "$work/deid.txt")
deid=$(field 'de-identify:' '{print $2}' "$work/deid.txt")
gw_line=$(grep -m1 '^non-streaming' "$work/gateway.txt")
gw_direct=$(awk '{print $2}' <<< "$gw_line"); gw_gate=$(awk '{print $4}' <<< "$gw_line")
gw_added=$(awk '{print $6}' <<< "$gw_line")
gw_rps=$(grep -m1 '^throughput' "$work/gateway.txt" | sed 's/.*direct \([0-9]*\) req\/s, through the gateway \([0-9]*\) req\/s.*/\1 \2/')
enc_1k=$(grep -m1 '^1 KB *encrypt' "$work/envelope.txt" | awk '{print $4" us", $6" us", $8}')
enc_1m=$(grep -m1 '^1 MB *encrypt' "$work/envelope.txt" | awk '{print $4" us", $6" us", $8}')

row() { printf '%-38s %-26s %-26s %s\n' "$@"; }
echo
echo "Phigate benchmark table — $(date -u +%FT%TZ), $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
row "measure" "baseline" "phigate" "note"
row "de-identification (one thread)" "${scan} MB/s linear scan" "${deid} MB/s de-identify" "same bytes, ${deid_mb} MB"
row "gateway, non-streaming p50" "${gw_direct} direct" "${gw_gate} gateway" "added ${gw_added}"
row "gateway throughput" "$(cut -d' ' -f1 <<< "$gw_rps") req/s direct" "$(cut -d' ' -f2 <<< "$gw_rps") req/s gateway" "mock upstream, audit on"
while read -r line; do
    db=${line%%:*}
    if [[ "$line" == *appends/s* ]]; then
        row "audit appends ($db)" "" "$(sed 's/.*: \([0-9]*\) appends\/s/\1/' <<< "$line")/s durable" "$(sed 's/^[a-z]*: \([0-9]*\) durable appends from \([0-9]*\) threads.*/\1 appends, \2 threads/' <<< "$line")"
    else
        row "audit verify ($db)" "" "$(sed 's/.* in \([0-9.]* s\)/\1/' <<< "$line")" "$(sed 's/^[a-z]*: verified \([0-9]*\) entries.*/\1 entries/' <<< "$line")"
    fi
done < <(grep -E '^(sqlite|postgres):' "$work/audit.txt")
row "encrypt 1 KB" "$(cut -d' ' -f1-2 <<< "$enc_1k") raw AES-GCM" "$(cut -d' ' -f3-4 <<< "$enc_1k") envelope" "$(cut -d' ' -f5 <<< "$enc_1k")"
row "encrypt 1 MB" "$(cut -d' ' -f1-2 <<< "$enc_1m") raw AES-GCM" "$(cut -d' ' -f3-4 <<< "$enc_1m") envelope" "$(cut -d' ' -f5 <<< "$enc_1m")"
row "load on serve (echo provider)" "$(load_kv requests) requests, $load_concurrency in flight" "$(load_kv rps) req/s" "p50 $(load_kv p50_ms) ms, p99 $(load_kv p99_ms) ms, failed $(load_kv failed) ($(load_kv failures))"
row "serve memory (RSS)" "$((rss_rest / 1024)) MB at rest" "$((rss_peak / 1024)) MB peak under load" "sampled every 0.2 s"
