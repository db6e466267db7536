"""What every ParkLink service shares: the event contracts, their Avro serde, the topic
catalog, settings, logging, metrics and the Kafka clients. Nothing here does I/O on import."""
