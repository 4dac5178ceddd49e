"""Reads shaped for an audience: the coordination's lists and records, the provider's."""
