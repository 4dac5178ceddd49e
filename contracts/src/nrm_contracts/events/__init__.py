"""Payload models, one module per owning service."""
