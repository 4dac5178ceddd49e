"""Reads shaped for an audience: the public directory, the search, the coverage report,
and the beds, reservations and stays a facility's owner and MOSVY see."""
