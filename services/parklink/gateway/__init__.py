"""HTTP ingest for parks: `POST /v1/events/{orders|shipments|capacity}` into Kafka."""
