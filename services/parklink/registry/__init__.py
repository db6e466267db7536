"""ParkLink's Confluent-compatible schema registry, storing its state in a compacted topic."""
