#!/usr/bin/env bash
# bench-redis.sh: `gridkv serve` against redis-server, both driven by
# redis-benchmark on this machine (127.0.0.1 only).
#
#   scripts/bench-redis.sh            # or: ROUNDS=5 REQUESTS=200000 scripts/bench-redis.sh
#
# Installs redis-server and redis-tools with apt-get when they are missing
# (root only), builds gridkv/cmd/gridkv, starts one `gridkv serve` node
# (N=W=R=1, so it is the server alone), one `redis-server --save ''
# --appendonly no`, and (CLUSTER=1, the default) a 3-node `gridkv serve`
# cluster with N=3 W=2 R=2, and runs `redis-benchmark -t get,set` with -P 1
# and -P 16 against each, ROUNDS times, the servers taking turns in every
# round. Prints CSV on stdout, one line per test and round:
#
#   system,test,pipeline,round,rps,avg_ms,p50_ms,p99_ms
#
# (system: gridkv, redis, gridkv-3); progress on stderr; redis-benchmark's
# raw CSV and the servers' logs go to OUT (default: a temporary folder).
# benchmarks/cmd/report takes the medians. Exit status 3 when redis cannot
# be installed (not root, no apt-get, apt-get failed): the report then says
# the section was skipped. Every process it started is killed on every exit
# path (normal end, error, Ctrl-C, TERM).
set -euo pipefail

ROUNDS=${ROUNDS:-3}
REQUESTS=${REQUESTS:-100000}
CLIENTS=${CLIENTS:-50}
KEYSPACE=${KEYSPACE:-100000}
SIZE=${SIZE:-100}
CLUSTER=${CLUSTER:-1}
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
OUT=${OUT:-$work/out}
mkdir -p "$OUT"

log() { echo "bench-redis: $*" >&2; }
skip() { log "skipped: $*"; exit 3; }

pids=()  # servers
bench="" # the redis-benchmark running, if any
cleanup() {
	local p
	[ -z "$bench" ] || kill "$bench" 2>/dev/null || true
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
	rm -rf "$work/bin"
	[ "$OUT" = "$work/out" ] || rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

if ! command -v redis-server >/dev/null || ! command -v redis-benchmark >/dev/null || ! command -v redis-cli >/dev/null; then
	[ "$(id -u)" = 0 ] || skip "redis-server or redis-tools missing, and installing them with apt-get needs root"
	command -v apt-get >/dev/null || skip "redis-server or redis-tools missing, and there is no apt-get"
	log "installing redis-server and redis-tools"
	apt-get update -qq >&2 || skip "apt-get update failed"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server redis-tools >&2 || skip "apt-get install redis-server redis-tools failed"
fi

log "building gridkv"
mkdir -p "$work/bin"
(cd "$root" && go build -o "$work/bin/gridkv" ./gridkv/cmd/gridkv)

used=" "
# freeport prints a TCP port of 127.0.0.1 nobody listens on, never the same twice.
freeport() {
	local p
	for _ in $(seq 200); do
		p=$((20000 + RANDOM % 30000))
		case "$used" in *" $p "*) continue ;; esac
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
			used="$used$p "
			echo "$p"
			return 0
		fi
	done
	return 1
}

# waitping waits until a Redis-protocol server answers PING on port $1.
waitping() {
	for _ in $(seq 200); do
		[ "$(redis-cli -h 127.0.0.1 -p "$1" ping 2>/dev/null)" = PONG ] && return 0
		sleep 0.1
	done
	log "no PONG from 127.0.0.1:$1"
	return 1
}

redis_port=$(freeport)
redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no --daemonize no \
	>"$OUT/redis-server.log" 2>&1 &
pids+=($!)

gridkv_port=$(freeport)
"$work/bin/gridkv" serve -id solo -bind "127.0.0.1:$(freeport)" -redis "127.0.0.1:$gridkv_port" -http off \
	-replicas 1 -write-quorum 1 -read-quorum 1 -log-level warn >"$OUT/gridkv.log" 2>&1 &
pids+=($!)

systems="gridkv redis"
declare -A port=([gridkv]=$gridkv_port [redis]=$redis_port)
waitping "$redis_port"
waitping "$gridkv_port"

if [ "$CLUSTER" = 1 ]; then
	seed=127.0.0.1:$(freeport)
	c1=$(freeport)
	h1=$(freeport)
	for i in 1 2 3; do
		bind=127.0.0.1:$(freeport)
		rp=$(freeport)
		hp=$(freeport)
		seeds=$seed
		if [ "$i" = 1 ]; then bind=$seed rp=$c1 hp=$h1 seeds=""; fi
		"$work/bin/gridkv" serve -id "node$i" -bind "$bind" -redis "127.0.0.1:$rp" -http "127.0.0.1:$hp" \
			-seeds "$seeds" -log-level warn >"$OUT/gridkv-3-node$i.log" 2>&1 &
		pids+=($!)
	done
	# Node 1 must see all three alive before its quorum operations are timed.
	for _ in $(seq 300); do
		n=$(curl -s "http://127.0.0.1:$h1/v1/cluster" 2>/dev/null | grep -o '"state":"alive"' | wc -l || true)
		[ "$n" -ge 3 ] && break
		sleep 0.1
	done
	[ "$n" -ge 3 ] || { log "the 3-node cluster did not form (node1 sees $n alive)"; exit 1; }
	systems="$systems gridkv-3"
	port[gridkv-3]=$c1
	waitping "$c1"
fi

echo "system,test,pipeline,round,rps,avg_ms,p50_ms,p99_ms"
for round in $(seq "$ROUNDS"); do
	order=$systems
	# Alternate which server goes first, so neither always follows the other.
	if [ $((round % 2)) = 0 ]; then order=$(echo "$systems" | tr ' ' '\n' | tac | tr '\n' ' '); fi
	for sys in $order; do
		for p in 1 16; do
			log "round $round/$ROUNDS: $sys -P $p"
			raw="$OUT/$sys-P$p-round$round.csv"
			# In the background and waited for, so a signal runs the trap at once.
			redis-benchmark -h 127.0.0.1 -p "${port[$sys]}" -t get,set -n "$REQUESTS" -c "$CLIENTS" \
				-r "$KEYSPACE" -d "$SIZE" -P "$p" --csv --precision 3 >"$raw" 2>"$OUT/$sys-P$p-round$round.err" &
			bench=$!
			wait "$bench"
			bench=""
			# redis-benchmark's CSV: "test","rps","avg_latency_ms","min_latency_ms","p50_latency_ms","p95_latency_ms","p99_latency_ms","max_latency_ms"
			awk -F, -v sys="$sys" -v p="$p" -v r="$round" 'NR > 1 {
				gsub(/"/, "")
				printf "%s,%s,%d,%d,%s,%s,%s,%s\n", sys, $1, p, r, $2, $3, $5, $7
			}' "$raw"
		done
	done
done
log "done; raw output in $OUT"
