#!/usr/bin/env bash
# Deploys one image to one Kubernetes environment, migration first, with a rollback when the
# new pods do not become ready or the service fails its readiness check afterwards.
#
#   scripts/deploy-k8s.sh <staging|production> <image:tag>
#
# Environment:
#   KUBECONFIG          which cluster (Jenkins binds it from a credential)
#   HEALTH_URL          optional: the public /health/ready URL checked after the rollout
#   ROLLOUT_TIMEOUT     kubectl timeout for the rollout (default 300s)
#   MIGRATION_TIMEOUT   kubectl timeout for the migration Job (default 900s)
#   HEALTH_ATTEMPTS     tries of HEALTH_URL, 5 s apart (default 12)
#   KUBECTL             kubectl binary (default kubectl)
#
# Steps: render the overlay with the image pinned (kubectl kustomize) -> apply everything but the
# Deployment and Service, including the migration Job (after deleting the previous Job run) ->
# wait for the Job to complete -> apply everything -> wait for the rollout -> check HEALTH_URL ->
# on a failed rollout or check: `kubectl rollout undo` and exit 1. A failed migration stops
# before any pod changes.
set -euo pipefail

usage() {
  echo "usage: $0 <staging|production> <image:tag>" >&2
  exit 64
}

[ $# -eq 2 ] || usage
env_name="$1"
image="$2"
case "$env_name" in staging | production) ;; *) usage ;; esac
case "$image" in *:*) ;; *)
  echo "image must carry a tag (image:tag), got: $image" >&2
  exit 64
  ;;
esac

root="$(cd "$(dirname "$0")/.." && pwd)"
overlay="$root/deploy/k8s/overlays/$env_name"
kubectl="${KUBECTL:-kubectl}"
rollout_timeout="${ROLLOUT_TIMEOUT:-300s}"
migration_timeout="${MIGRATION_TIMEOUT:-900s}"
health_attempts="${HEALTH_ATTEMPTS:-12}"
deployment="deployment/historical-data-api"
job="historical-data-api-migrate"

namespace="$(awk '/^namespace:/ { print $2; exit }' "$overlay/kustomization.yaml")"
current_name="$(awk '/newName:/ { print $2; exit }' "$overlay/kustomization.yaml")"
if [ -z "$namespace" ] || [ -z "$current_name" ]; then
  echo "cannot read namespace/newName from $overlay/kustomization.yaml" >&2
  exit 1
fi

log() { printf '[deploy %s] %s\n' "$env_name" "$*"; }

# Render: a throwaway kustomization on top of the overlay that pins the image (no file in the
# repository changes). It must live inside the tree: kustomize loads bases by relative path.
release="$root/deploy/k8s/.release/$env_name"
rm -rf "$release"
mkdir -p "$release"
trap 'rm -rf "$root/deploy/k8s/.release"' EXIT
cat >"$release/kustomization.yaml" <<YAML
bases:
  - ../../overlays/$env_name
images:
  - name: $current_name
    newName: ${image%:*}
    newTag: ${image##*:}
YAML
"$kubectl" kustomize "$release" >"$release/manifests.yaml"
log "rendered $(grep -c '^kind:' "$release/manifests.yaml") objects for namespace $namespace with image $image"

k() { "$kubectl" --namespace "$namespace" "$@"; }

log "migration: replacing the previous Job run"
k delete job "$job" --ignore-not-found --wait=true
# Everything but the API's Deployment and Service: the ServiceAccount and ConfigMap the Job needs,
# the Job, and the Ingress, HPA and PDB (harmless before the rollout).
k apply -f "$release/manifests.yaml" --selector 'app.kubernetes.io/component!=api'
if ! k wait --for=condition=complete "job/$job" --timeout="$migration_timeout"; then
  log "migration failed or timed out; the Deployment was not changed. Job log:"
  k logs "job/$job" --tail=100 || true
  exit 1
fi
log "migration complete"

k apply -f "$release/manifests.yaml"
rollback() {
  log "ROLLING BACK: $1"
  k rollout undo "$deployment"
  k rollout status "$deployment" --timeout="$rollout_timeout" || true
  exit 1
}
if ! k rollout status "$deployment" --timeout="$rollout_timeout"; then
  rollback "the new pods did not become ready within $rollout_timeout"
fi
log "rollout complete"

if [ -n "${HEALTH_URL:-}" ]; then
  for attempt in $(seq 1 "$health_attempts"); do
    if curl -fsS --max-time 5 "$HEALTH_URL" >/dev/null; then
      log "post-deploy check passed: $HEALTH_URL (attempt $attempt)"
      exit 0
    fi
    sleep "${HEALTH_INTERVAL:-5}"
  done
  rollback "post-deploy check of $HEALTH_URL failed $health_attempts times"
fi
log "done (no HEALTH_URL given: only the rollout status was checked)"
