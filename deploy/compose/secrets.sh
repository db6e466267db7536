#!/usr/bin/env bash
# Makes what compose.yaml needs and must never be committed, into deploy/compose/secrets/
# (0700, files 0600): a CA, one TLS key and certificate per broker (principal `broker`), the
# setup job's `admin` client certificate, and random passwords in passwords.env (for
# `docker compose --env-file`). Keeps what exists: run it again to add only what is missing.
set -euo pipefail
dir="$(cd "$(dirname "$0")" && pwd)/secrets"
mkdir -p "$dir"
chmod 700 "$dir"
umask 077
cd "$dir"

if [ ! -f ca.pem ]; then
  openssl req -x509 -newkey rsa:3072 -nodes -days 825 -subj "/CN=ParkLink compose CA" \
    -keyout ca.key -out ca.pem 2>/dev/null
fi
cert() {  # cert FILE CN [DNS names...]: key + certificate + CA in one PEM (Kafka's PEM keystore)
  local file=$1 cn=$2
  shift 2
  [ -f "$file" ] && return
  local san="" name
  for name in "$@"; do san="${san:+$san,}DNS:$name"; done
  openssl req -newkey rsa:3072 -nodes -subj "/CN=$cn" -keyout "$file.key" -out "$file.csr" 2>/dev/null
  openssl x509 -req -in "$file.csr" -CA ca.pem -CAkey ca.key -CAcreateserial -days 825 \
    ${san:+-extfile <(printf 'subjectAltName=%s\n' "$san")} -out "$file.crt" 2>/dev/null
  openssl pkcs8 -topk8 -nocrypt -in "$file.key" | cat - "$file.crt" ca.pem >"$file"
  rm -f "$file.key" "$file.csr" "$file.crt"
}
for n in 1 2 3; do cert "kafka-$n.pem" broker "kafka-$n" localhost; done
cert admin.pem admin

cat >admin.properties <<PROPS
security.protocol=SSL
ssl.keystore.type=PEM
ssl.keystore.location=/run/secrets/kafka_admin_pem
ssl.truststore.type=PEM
ssl.truststore.location=/run/secrets/kafka_ca
PROPS

if [ ! -f passwords.env ]; then
  for name in POSTGRES GRAFANA_ADMIN GATEWAY_KAFKA DETECTOR_KAFKA CONSOLE_KAFKA REGISTRY_KAFKA \
    TOPICS_KAFKA; do
    printf '%s_PASSWORD=%s\n' "$name" "$(openssl rand -hex 24)"
  done >passwords.env
fi
# The token Prometheus sends to every service's /metrics (added to an older passwords.env too).
if ! grep -q '^METRICS_TOKEN=' passwords.env; then
  printf 'METRICS_TOKEN=%s\n' "$(openssl rand -hex 32)" >>passwords.env
fi
sed -n 's/^METRICS_TOKEN=//p' passwords.env | tr -d '\n' >metrics.token
chmod 600 ./*
chmod 644 ca.pem  # the CA certificate is public; every service reads it
# apache/kafka runs as uid 1000; compose bind-mounts these files with their owner and mode.
# prom/prometheus runs as nobody (65534).
if [ "$(id -u)" -eq 0 ]; then
  chown 1000:1000 kafka-?.pem admin.pem admin.properties
  chown 65534:65534 metrics.token
fi
echo "secrets in $dir"
