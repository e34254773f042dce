#!/bin/sh
# One pod of the Indexed Job in sweep-job.yaml: runs shard JOB_COMPLETION_INDEX of SHARDS, into
# RESULTS/shard-K on the shared volume. The last pod to finish does not merge: merge-job.yaml
# does, once the whole Job is complete.
#   SCENARIO  scenario file inside the image (or a mounted ConfigMap)
#   SHARDS    N, equal to the Job's `completions`
#   RESULTS   a directory on the ReadWriteMany volume
#   SWEEP_ARGS  more arguments for `routesim sweep`, e.g. "--seeds 1..=20"
set -eu
: "${JOB_COMPLETION_INDEX:?not a pod of an Indexed Job (completionMode: Indexed)}"
: "${SCENARIO:?}" "${SHARDS:?}" "${RESULTS:?}"
if [ "$JOB_COMPLETION_INDEX" -ge "$SHARDS" ]; then
  echo "routesim-shard: index $JOB_COMPLETION_INDEX but SHARDS=$SHARDS: set SHARDS to the Job's completions" >&2
  exit 2
fi
# shellcheck disable=SC2086 # SWEEP_ARGS is a list of words on purpose
exec "${ROUTESIM:-routesim}" sweep "$SCENARIO" ${SWEEP_ARGS:-} \
  --shard "$JOB_COMPLETION_INDEX/$SHARDS" \
  --out "$RESULTS/shard-$JOB_COMPLETION_INDEX"
