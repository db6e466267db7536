"""Peers of the detector in the shipments benchmark, and what they are measured on."""
