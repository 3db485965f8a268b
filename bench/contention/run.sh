#!/usr/bin/env bash
# Generation speed of `hmoe run` when another process keeps one core busy, against the
# same runs without it: default threads (all cores) against -t 1.
#
#   bench/contention/run.sh [-r REPS] [-m MODEL] [-n TOKENS] HMOE [HMOE ...] > results.md
#
# Each repetition runs every binary in turn, without and with the busy process (`yes`
# pinned by taskset to the last CPU: the reproducible contention), with default threads,
# with -t 1 and (labelled "passive") with OMP_WAIT_POLICY=passive in the environment,
# which only matters for builds whose threads are OpenMP teams. The table gives the
# median generation tokens/s over the repetitions (`hmoe run` prints it on stderr) and
# the 1-minute load average seen before each block: other jobs on a shared machine show
# up there. Default model: models/kjv-hypermoe-q8.hmoe; prompt "And God said", 100
# tokens, --temp 0.
set -euo pipefail
cd "$(dirname "$0")/../.."
REPS=5
MODEL=models/kjv-hypermoe-q8.hmoe
N=100
while getopts "r:m:n:" o; do
  case $o in
    r) REPS=$OPTARG ;;
    m) MODEL=$OPTARG ;;
    n) N=$OPTARG ;;
    *) sed -n '2,14p' "$0" >&2; exit 2 ;;
  esac
done
shift $((OPTIND - 1))
[ $# -ge 1 ] || { sed -n '2,14p' "$0" >&2; exit 2; }
BINS=("$@")
CPUS=$(nproc)
BUSY_CPU=$((CPUS - 1))
busy_pid=
stop_busy() { if [ -n "$busy_pid" ]; then kill "$busy_pid" 2>/dev/null || true; wait "$busy_pid" 2>/dev/null || true; busy_pid=; fi; }
trap stop_busy EXIT
start_busy() {
  if command -v taskset >/dev/null; then taskset -c "$BUSY_CPU" yes >/dev/null & else yes >/dev/null & fi
  busy_pid=$!
  sleep 0.5
}
gen_tps() {  # BIN ENV... -- ARGS...: generation tokens/s of one run
  local bin=$1; shift
  local envs=()
  while [ "$1" != "--" ]; do envs+=("$1"); shift; done
  shift
  env "${envs[@]}" "$bin" run -m "$MODEL" -p "And God said" -n "$N" --temp 0 "$@" 2>&1 >/dev/null |
    sed -n 's/^generation: .*(\([0-9.]*\) tokens\/s).*/\1/p'
}
declare -A results
loads=()
for ((r = 0; r < REPS; ++r)); do
  for scenario in idle busy; do
    loads+=("$(cut -d' ' -f1 /proc/loadavg)")
    [ $scenario = busy ] && start_busy
    for b in "${!BINS[@]}"; do
      bin=${BINS[$b]}
      results[$b,$scenario,default]+=" $(gen_tps "$bin" HMOE_X=1 --)"
      results[$b,$scenario,t1]+=" $(gen_tps "$bin" HMOE_X=1 -- -t 1)"
      results[$b,$scenario,passive]+=" $(gen_tps "$bin" OMP_WAIT_POLICY=passive --)"
    done
    stop_busy
  done
done
median() { tr ' ' '\n' | { grep -v '^$' || true; } | sort -g | awk '{a[NR]=$1} END {if (NR) print (NR % 2 ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2); else print "-"}'; }
echo "# hmoe run under contention ($CPUS CPUs; busy: \`taskset -c $BUSY_CPU yes\`)"
echo
echo "\`$0 -r $REPS -m $MODEL -n $N ${BINS[*]}\`; generation tokens/s, median of $REPS;"
echo "1-minute load averages before each block: ${loads[*]}"
echo
echo "| binary | one core busy | default threads | -t 1 | default, OMP_WAIT_POLICY=passive | default / -t 1 |"
echo "|---|---|---:|---:|---:|---:|"
for b in "${!BINS[@]}"; do
  for scenario in idle busy; do
    d=$(echo "${results[$b,$scenario,default]}" | median)
    t=$(echo "${results[$b,$scenario,t1]}" | median)
    p=$(echo "${results[$b,$scenario,passive]}" | median)
    ratio=$(awk -v d="$d" -v t="$t" 'BEGIN {printf (t > 0 ? "%.2f" : "-"), d / t}')
    echo "| ${BINS[$b]} | $([ $scenario = busy ] && echo yes || echo no) | $d | $t | $p | $ratio |"
  done
done
echo
echo "raw (tokens/s per repetition):"
for k in "${!results[@]}"; do echo "- ${BINS[${k%%,*}]} ${k#*,}:${results[$k]}"; done | sort
