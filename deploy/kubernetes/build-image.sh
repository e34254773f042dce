#!/bin/sh
# Builds the image of sweep-job.yaml from deploy/kubernetes/Dockerfile, then runs it the way the
# Jobs will, before anything is pushed: `routesim --version`, every pod of the Indexed Job
# (routesim-shard, with the Job's environment and a one-seed sweep), the merge Job's command, and
# a byte-for-byte comparison of the merged sweep with an unsharded one, all as the image's user.
#   deploy/kubernetes/build-image.sh [TAG]    TAG defaults to the image sweep-job.yaml names
#   BUILDER        docker, podman or buildah; default: docker if its engine answers, else podman,
#                  else buildah (a docker client without an engine is not enough)
#   RUST_IMAGE     the build stage's base image (default: the Dockerfile's), e.g. from a mirror
#   RUNTIME_IMAGE  the final stage's base image (default: the Dockerfile's)
#   CHECK=0        build only
set -eu
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
job="$here/sweep-job.yaml"
tag=${1:-$(sed -n 's/^ *image: *\([^ ]*\).*/\1/p' "$job" | head -n 1)}

if [ -z "${BUILDER:-}" ]; then
  if docker info >/dev/null 2>&1; then BUILDER=docker
  elif command -v podman >/dev/null 2>&1; then BUILDER=podman
  elif command -v buildah >/dev/null 2>&1; then BUILDER=buildah
  else
    echo "build-image.sh: no Docker engine, podman or buildah here: install one (Debian: apt-get install podman)" >&2
    exit 2
  fi
fi
case "$BUILDER" in
  docker | podman) build="$BUILDER build" ;;
  buildah) build="buildah bud" ;;
  *) echo "build-image.sh: BUILDER=$BUILDER: use docker, podman or buildah" >&2; exit 2 ;;
esac

set --
[ -n "${RUST_IMAGE:-}" ] && set -- "$@" --build-arg "RUST_IMAGE=$RUST_IMAGE"
[ -n "${RUNTIME_IMAGE:-}" ] && set -- "$@" --build-arg "RUNTIME_IMAGE=$RUNTIME_IMAGE"
echo "build-image.sh: building $tag with $BUILDER" >&2
$build "$@" -f "$here/Dockerfile" -t "$tag" "$repo"
[ "${CHECK:-1}" = 0 ] && exit 0

# The check's "volume": a fresh directory that the image's user (10001, not us) can write.
volume=$(mktemp -d)
chmod 777 "$volume"
trap 'echo "build-image.sh: the check failed; what it wrote is in $volume" >&2' EXIT
# in_image COMMAND...: COMMAND in a new container of the image, as the image's user, with the
# volume on /results, like a pod whose manifest sets `command`.
in_image() {
  case "$BUILDER" in
    docker | podman)
      entrypoint=$1
      shift
      "$BUILDER" run --rm -v "$volume:/results" --entrypoint "$entrypoint" "$tag" "$@"
      ;;
    buildah)
      container=$(buildah from -q "$tag")
      status=0
      buildah run -v "$volume:/results" "$container" -- "$@" || status=$?
      buildah rm "$container" >/dev/null
      return "$status"
      ;;
  esac
}

# The Job's own values, so the check runs what the manifests say.
value() { sed -n "s/.*{name: $1, value: \"*\([^\"}]*\)\"*}.*/\1/p" "$job"; }
scenario=$(value SCENARIO)
shards=$(value SHARDS)
results=$(value RESULTS)
merge=$(sed -n 's/^ *- \(routesim merge .*\)/\1/p' "$here/merge-job.yaml")
if [ -z "$scenario" ] || [ -z "$shards" ] || [ -z "$results" ] || [ -z "$merge" ]; then
  echo "build-image.sh: cannot read SCENARIO, SHARDS, RESULTS from sweep-job.yaml or the merge command from merge-job.yaml" >&2
  exit 2
fi

in_image routesim --version
index=0
while [ "$index" -lt "$shards" ]; do
  in_image env JOB_COMPLETION_INDEX="$index" SCENARIO="$scenario" SHARDS="$shards" RESULTS="$results" \
    SWEEP_ARGS="--seeds 1" routesim-shard
  index=$((index + 1))
done
in_image sh -c "$merge"
in_image sh -c "routesim sweep $scenario --seeds 1 --out /results/unsharded >/dev/null \
  && diff -r /results/unsharded $results/merged && rm -rf /results/*"
rmdir "$volume"
trap - EXIT
echo "build-image.sh: $tag runs routesim, $shards pods of sweep-job.yaml and merge-job.yaml; the merge equals the unsharded sweep" >&2
