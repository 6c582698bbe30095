"""Operators' tools: checking a set-up (`agora check`) and backing up the database."""
