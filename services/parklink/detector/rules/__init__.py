"""The disruption rules (SHIPMENT_DELAY, CAPACITY_SHORTFALL, CAPACITY_DROP,
CORRIDOR_CONGESTION, PARK_SILENT; the rule table is in docs/architecture.md) as pure functions
over the plain state of `state.py`: `(state, message, thresholds, now) -> (new_state,
outputs)`, with no Kafka and no clock."""
