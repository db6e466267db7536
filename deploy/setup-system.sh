#!/usr/bin/env bash
# System packages ParkLink needs beyond Python: Java 17+ and Maven for the local Kafka,
# Debian's chromium for the console's browser test, the PostgreSQL server for the console's
# PostgreSQL tests (they start a throw-away cluster), openssl for deploy/compose/secrets.sh.
# Installs only what is missing.
set -euo pipefail
missing=()
command -v java >/dev/null || missing+=(openjdk-17-jre-headless)
# javac compiles deploy/tools/strimzi/CheckResources.java (the custom resource checker).
command -v javac >/dev/null || missing+=(openjdk-17-jdk-headless)
command -v mvn >/dev/null || missing+=(maven)
command -v chromium >/dev/null || missing+=(chromium)
# The server, not just psql: Debian keeps initdb/pg_ctl in /usr/lib/postgresql/<v>/bin.
compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null || command -v initdb >/dev/null ||
  missing+=(postgresql)
command -v openssl >/dev/null || missing+=(openssl)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null; then
    echo "error: please install: ${missing[*]}" >&2
    exit 1
  fi
  echo "installing system packages: ${missing[*]}"
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi
