"""What every ParkLink service shares: the event contracts with their bounds, their Avro serde
and framing, the validation, party rules and time bounds every way into the network applies,
the topic catalog, settings, logging, metrics, the Kafka clients and the one way to run a
service. Nothing here does I/O on import."""
