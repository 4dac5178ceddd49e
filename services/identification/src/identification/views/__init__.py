"""Reads shaped for an audience: cases, screenings, the non-punishment check, the
statistics."""
