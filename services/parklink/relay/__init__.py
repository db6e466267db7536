"""The ingress relay: moves what a park wrote to its own ingress topics into the shared park
topics, after checking that each record speaks for that park (see docs/security.md)."""
