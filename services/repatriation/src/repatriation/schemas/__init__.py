"""Repatriation's request and response models (tables never leave the service)."""
