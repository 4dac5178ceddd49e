"""Reads shaped for their audience: the case, its timeline, the deadlines, the SOPs."""
