#!/usr/bin/env bash
# Submits a sharded routesim sweep (or, with TARGET set, a sharded routesim tune) to Slurm: an
# array of N shard tasks, then a merge job that starts only if every task succeeded (and is
# cancelled, not left pending, if one failed).
#
#   deploy/slurm/submit.sh SCENARIO [N]
#   TARGET='faults[broker-a].stale_window_s.p99 <= 60' deploy/slurm/submit.sh SCENARIO [N]
#
# SCENARIO  the sweep's scenario file (it must have a `sweep:` block), or the tune's
# N         shards, one array task each (default 8)
#
# Environment (all optional):
#   TARGET       tune instead of sweep: the `--target` of `routesim tune` (one argument, spaces
#                and all). Shards run tune.sbatch, the merge tune-merge.sbatch, which also runs
#                the chosen point's fresh seeds (README, "Tune").
#   TUNE_ARGS    with TARGET: more arguments for every `routesim tune`, shards and merge alike,
#                e.g. "--seeds 20 --what-ifs" (not --threads, --out, --shard or --merge)
#   ROUTESIM     the routesim binary every node runs (default: `routesim` on PATH, as installed by
#                `cargo install --path .`). It must exist at the same path on every node.
#   RESULTS      where shards, logs and the merged sweep go (default: results/<file name>). It
#                MUST be on storage every node sees (NFS, Lustre, ...): each task writes its shard
#                there and the merge job reads them all.
#   SWEEP_ARGS   more arguments for every `routesim sweep`, e.g. "--seeds 1..=20"
#   SBATCH_ARGS  more arguments for both sbatch calls, e.g. "--partition=batch --account=perf"
#   ARRAY        which shards to run, as a Slurm array spec (default: all, 0-(N-1)); e.g. ARRAY=3
#                reruns only shard 3 after it failed, then merges again
#   WAIT=1       block until the merge job ends; exit 1, naming the failed shards, unless it
#                merged
#
# Prints the two job ids. Results: $RESULTS/merged/ (the files an unsharded sweep or tune
# writes, byte for byte), $RESULTS/shard-K/ (partial results), $RESULTS/logs/ (shard-JOB_K.out
# per task, merge-JOB.out).
set -euo pipefail

die() { echo "submit.sh: $*" >&2; exit 2; }

[[ $# -ge 1 && $# -le 2 ]] || die "usage: deploy/slurm/submit.sh SCENARIO [N]"
scenario=$1
shards=${2:-8}
[[ $shards =~ ^[1-9][0-9]*$ ]] || die "N must be a whole number of shards, 1 or more (got '$shards')"
[[ -f $scenario ]] || die "$scenario: no such scenario file"
command -v sbatch >/dev/null || die "sbatch not found: run this on a Slurm login node"

routesim=${ROUTESIM:-routesim}
resolved=$(command -v "$routesim") ||
  die "'$routesim' not found: install it with 'cargo install --path .' in the routesim checkout, or set ROUTESIM=/shared/path/to/routesim"
# Absolute paths: the tasks may start in another directory, on another node.
routesim=$(realpath "$resolved")
scenario=$(realpath "$scenario")
name=$(basename "$scenario" .yaml)
results=${RESULTS:-results/$name}
mkdir -p "$results/logs"   # Slurm does not create the directory of --output: a missing one fails every task.
results=$(realpath "$results")

# Fail here, at once, rather than in N tasks after they queued.
"$routesim" validate "$scenario" >/dev/null

here=$(dirname "$(realpath "$0")")
export ROUTESIM=$routesim SCENARIO=$scenario SHARDS=$shards RESULTS=$results SWEEP_ARGS=${SWEEP_ARGS:-}
if [[ -n ${TARGET:-} ]]; then
  export TARGET TUNE_ARGS=${TUNE_ARGS:-}
  shard_job=$here/tune.sbatch merge_job=$here/tune-merge.sbatch
else
  shard_job=$here/sweep.sbatch merge_job=$here/merge.sbatch
fi
# shellcheck disable=SC2086 # SBATCH_ARGS is a list of words on purpose
array=$(sbatch --parsable --export=ALL ${SBATCH_ARGS:-} \
  --job-name="$name" --array="${ARRAY:-0-$((shards - 1))}" \
  --output="$results/logs/shard-%A_%a.out" \
  "$shard_job")
array=${array%%;*}   # --parsable prints "id;cluster" on multi-cluster setups
echo "submitted shards: job $array (array ${ARRAY:-0-$((shards - 1))} of $shards shards)"
# shellcheck disable=SC2086
merge=$(sbatch --parsable --export=ALL ${SBATCH_ARGS:-} \
  --job-name="$name-merge" --dependency="afterok:$array" --kill-on-invalid-dep=yes \
  --output="$results/logs/merge-%j.out" \
  "$merge_job")
merge=${merge%%;*}
echo "submitted merge: job $merge; results in $results/merged"
[[ ${WAIT:-0} == 1 ]] || exit 0

# Poll rather than `sbatch --wait`, which exits 0 even when the merge job was cancelled because a
# shard failed, and sleeps up to 10 s between looks. Slurm keeps a finished job's record for
# MinJobAge (300 s by default).
while :; do
  state=$(scontrol --oneliner show job "$merge" 2>/dev/null | grep -o 'JobState=[A-Z_]*' || true)
  case $state in
    JobState=PENDING | JobState=CONFIGURING | JobState=RUNNING | JobState=COMPLETING | JobState=SUSPENDED) sleep 1 ;;
    *) break ;;
  esac
done
if [[ $state != JobState=COMPLETED ]]; then
  echo "submit.sh: merge job $merge did not complete (${state:-no record}); shards that failed:" >&2
  scontrol --oneliner show job "$array" | grep -v 'JobState=COMPLETED' |
    grep -o 'ArrayTaskId=[0-9]* .*JobState=[A-Z_]*' | sed 's/ .*JobState=/: /; s/ArrayTaskId=/  shard /' >&2 || true
  echo "logs: $results/logs/; rerun one with ARRAY=K $0 $*" >&2
  exit 1
fi
