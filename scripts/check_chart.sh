#!/usr/bin/env bash
# Chart checks with the real tools (no cluster needed): helm lint --strict, helm template for the default,
# CPU and GPU values, then kubernetes-validate --strict against two Kubernetes versions.
# Custom resources (Strimzi, Prometheus Operator) have no bundled schema: they warn, not fail.
set -euo pipefail
cd "$(dirname "$0")/.."
HELM=$(bash scripts/install_helm.sh)
VALIDATE=${VALIDATE:-.venv/bin/kubernetes-validate}
VERSIONS=${KUBERNETES_VERSIONS:-"1.30 1.33"}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
for values in default cpu gpu; do
  args=()
  [ "$values" = default ] || args=(-f "charts/musechat/values-$values.yaml")
  "$HELM" lint --strict charts/musechat "${args[@]}"
  "$HELM" template musechat charts/musechat --namespace musechat "${args[@]}" > "$out/$values.yaml"
  for version in $VERSIONS; do
    "$VALIDATE" --strict --quiet -k "$version" "$out/$values.yaml"
    echo "ok: $values values, Kubernetes $version"
  done
done
