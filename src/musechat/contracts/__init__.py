"""Shared contracts: the pydantic models behind HTTP bodies, Kafka events and Qdrant payloads."""
