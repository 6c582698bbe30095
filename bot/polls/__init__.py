"""Reaction polls: option parsing, vote rules, tallies, reconciliation, ingestion and the poll service."""
