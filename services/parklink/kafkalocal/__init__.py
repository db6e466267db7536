"""A local Apache Kafka (KRaft, combined broker+controller) run from Maven Central jars."""
