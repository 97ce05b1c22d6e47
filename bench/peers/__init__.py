"""Peer bots for the throughput comparison: minimal, idiomatic, framework defaults."""
