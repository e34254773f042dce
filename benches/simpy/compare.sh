#!/usr/bin/env bash
# Times routesim against the SimPy model of the same workload (benches/simpy/routing.py) at
# each fleet size and prints a table: median wall and CPU seconds, sends, sends per CPU-second,
# and how many times faster routesim is (README section Speed, "Against SimPy"; issue 12).
# Timings are measured, never asserted: this is not a test and CI does not run it.
#
# Needs a release build (cargo build --release), GNU time at /usr/bin/time and SimPy, which
# this script never installs: pip install -r benches/simpy/requirements.txt
#
# Usage: benches/simpy/compare.sh [--producers 200,2000] [--routesim-runs 3] [--simpy-runs N]
#   --simpy-runs: SimPy runs per fleet size (default 3 up to 500 producers, 1 above: a run of
#   2,000 producers takes minutes).
set -euo pipefail
cd "$(dirname "$0")/../.."

usage() {
  echo "usage: benches/simpy/compare.sh [--producers 200,2000] [--routesim-runs 3] [--simpy-runs N]"
}

producers=200,2000
routesim_runs=3
simpy_runs=
while [[ $# -gt 0 ]]; do
  case $1 in
    --producers) producers=${2:?--producers needs a list, e.g. 200,2000}; shift 2 ;;
    --routesim-runs) routesim_runs=${2:?--routesim-runs needs a number}; shift 2 ;;
    --simpy-runs) simpy_runs=${2:?--simpy-runs needs a number}; shift 2 ;;
    -h | --help) usage; exit 0 ;;
    *) echo "error: unknown argument '$1'" >&2; usage >&2; exit 2 ;;
  esac
done
for n in "$routesim_runs" ${simpy_runs:+"$simpy_runs"}; do
  [[ $n =~ ^[1-9][0-9]*$ ]] || { echo "error: a run count must be a positive whole number, not '$n'" >&2; exit 2; }
done

routesim=target/release/routesim
[[ -x $routesim ]] || { echo "error: $routesim is missing: run cargo build --release first" >&2; exit 2; }
[[ -x /usr/bin/time ]] || { echo "error: GNU time (/usr/bin/time) is missing: apt-get install time" >&2; exit 2; }
python3 -c 'import simpy' 2>/dev/null || {
  echo "error: SimPy is not installed for python3: pip install -r benches/simpy/requirements.txt" >&2
  exit 2
}
IFS=, read -r -a fleets <<<"$producers"
for n in "${fleets[@]}"; do
  [[ -f scenarios/bench/simpy-$n.yaml ]] || {
    echo "error: no scenarios/bench/simpy-$n.yaml for --producers $n (there are: $(ls scenarios/bench/simpy-*.yaml | tr '\n' ' '))" >&2
    exit 2
  }
done

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Runs a command once; prints "wall_s cpu_s sends" (CPU = user + system, from GNU time) and
# keeps what the command printed in $tmp/out.
timed() {
  local out=$tmp/out times=$tmp/times
  /usr/bin/time -f '%e %U %S' -o "$times" "$@" >"$out"
  local sends
  sends=$(grep -oE '[0-9]+ sends' "$out" | head -1 | cut -d' ' -f1)
  [[ -n $sends ]] || { echo "error: no send count in the output of $*:" >&2; cat "$out" >&2; exit 1; }
  awk -v sends="$sends" '{ printf "%s %.3f %s\n", $1, $2 + $3, sends }' "$times"
}

# The median of column $1 over the lines on stdin (the lower middle of an even count).
median() {
  sort -g -k"$1","$1" | awk -v col="$1" '{ v[NR] = $col } END { print v[int((NR + 1) / 2)] }'
}

# Times `runs` runs; prints "median_wall_s median_cpu_s sends" (sends of the first run: with
# one seed both models send the same number every time) and keeps the power-off's line of the
# summary in $tmp/fault-$label.
measure() {
  local label=$1 runs=$2
  shift 2
  local results=$tmp/results
  : >"$results"
  for ((i = 0; i < runs; i++)); do
    timed "$@" >>"$results"
  done
  grep '^broker-a ' "$tmp/out" >"$tmp/fault-$label" || true
  echo "$(median 1 <"$results") $(median 2 <"$results") $(head -1 "$results" | cut -d' ' -f3)"
}

# The machine is shared: the load around the measurements says how far to trust them.
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"

printf '%-9s  %-8s  %4s  %9s  %9s  %9s  %15s\n' producers model runs wall_s cpu_s sends sends_per_cpu_s
for n in "${fleets[@]}"; do
  runs=${simpy_runs:-$((n <= 500 ? 3 : 1))}
  read -r rs_wall rs_cpu rs_sends < <(measure routesim "$routesim_runs" \
    "$routesim" run "scenarios/bench/simpy-$n.yaml" --no-charts --out "$tmp/routesim-$n")
  read -r py_wall py_cpu py_sends < <(measure simpy "$runs" python3 benches/simpy/routing.py --producers "$n" --seed 1)
  for row in "routesim $routesim_runs $rs_wall $rs_cpu $rs_sends" "simpy $runs $py_wall $py_cpu $py_sends"; do
    read -r model r wall cpu sends <<<"$row"
    awk -v n="$n" -v m="$model" -v r="$r" -v w="$wall" -v c="$cpu" -v s="$sends" \
      'BEGIN { printf "%-9s  %-8s  %4s  %9.2f  %9.2f  %9d  %15.0f\n", n, m, r, w, c, s, s / (c > 0 ? c : 0.001) }'
  done
  awk -v n="$n" -v rw="$rs_wall" -v rc="$rs_cpu" -v rs="$rs_sends" -v pw="$py_wall" -v pc="$py_cpu" -v ps="$py_sends" \
    'BEGIN { printf "%-9s  routesim faster: %.0fx wall, %.0fx CPU, %.0fx sends per CPU-second\n",
             n, pw / rw, pc / rc, (rs / rc) / (ps / pc) }'
  # The same seed draws differently in the two models: they agree in distribution, not here.
  echo "           routesim: $(cat "$tmp/fault-routesim")"
  echo "           simpy:    $(cat "$tmp/fault-simpy")"
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
