#!/usr/bin/env bash
# Runs once in the apache/kafka image (compose's kafka-setup job), as the TLS `admin` principal:
# waits until all EXPECTED_BROKERS brokers are registered, then creates every service's SCRAM
# user and its least-privilege ACLs. Idempotent: re-running it sets the same grants again.
# Passwords come from the environment and reach kafka-configs through a 0600 file, never argv.
set -euo pipefail
bin=/opt/kafka/bin
admin=(--bootstrap-server "$BOOTSTRAP" --command-config /run/secrets/kafka_admin_properties)

for attempt in $(seq 1 60); do
  brokers=$("$bin/kafka-broker-api-versions.sh" "${admin[@]}" 2>/dev/null |
    grep -oE '\(id: [0-9]+' | sort -u | wc -l || true)
  [ "$brokers" -ge "$EXPECTED_BROKERS" ] && break
  echo "waiting for the cluster: $brokers of $EXPECTED_BROKERS brokers (attempt $attempt)"
  sleep 5
done
if [ "$brokers" -lt "$EXPECTED_BROKERS" ]; then
  echo "error: only $brokers of $EXPECTED_BROKERS brokers joined; not creating anything" >&2
  exit 1
fi

umask 077
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
user() {  # user NAME PASSWORD
  printf 'SCRAM-SHA-512=[password=%s]\n' "$2" >"$scratch/$1.properties"
  "$bin/kafka-configs.sh" "${admin[@]}" --alter --entity-type users --entity-name "$1" \
    --add-config-file "$scratch/$1.properties"
}
allow() {  # allow USER ACL-ARGS...
  local who=$1
  shift
  "$bin/kafka-acls.sh" "${admin[@]}" --add --allow-principal "User:$who" "$@" >/dev/null
}
p=$TOPIC_PREFIX
park_topics=(--topic "${p}orders.v1" --topic "${p}shipments.v1" --topic "${p}capacity.v1")

user topics "$TOPICS_KAFKA_PASSWORD"
allow topics --operation Create --operation Describe --operation Alter --operation DescribeConfigs \
  --operation AlterConfigs --topic "$p" --resource-pattern-type prefixed
allow topics --operation Describe --cluster

user registry "$REGISTRY_KAFKA_PASSWORD"
allow registry --operation All --topic "$REGISTRY_TOPIC"

user gateway "$GATEWAY_KAFKA_PASSWORD"
allow gateway --operation Write --operation Describe "${park_topics[@]}"

user detector "$DETECTOR_KAFKA_PASSWORD"
allow detector --operation Read --operation Describe "${park_topics[@]}"
allow detector --operation Write --operation Describe --topic "${p}alerts.v1" --topic "${p}dlq.v1"
allow detector --operation Read --group "$DETECTOR_GROUP"
# Its own tables and repartition topics, and faust's leader topic named after the app id.
allow detector --operation All --topic "${p}${DETECTOR_GROUP}-" --resource-pattern-type prefixed
allow detector --operation All --topic "${DETECTOR_GROUP}-" --resource-pattern-type prefixed
allow detector --operation Describe --cluster

user console "$CONSOLE_KAFKA_PASSWORD"
allow console --operation Read --operation Describe --topic "${p}alerts.v1"
allow console --operation Read --group "$CONSOLE_GROUP"

echo "kafka-setup: $brokers brokers; users and ACLs in place"
