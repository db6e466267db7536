"""The disruption rules of DESIGN §5 as pure functions over the plain state of `state.py`:
`(state, message, thresholds, now) -> (new_state, outputs)`, with no Kafka and no clock."""
