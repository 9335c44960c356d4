"""Test doubles that run for real: a local OpenAI-compatible HTTP server with scripted faults."""
