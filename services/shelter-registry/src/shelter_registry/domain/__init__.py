"""The registry's rules that need nothing from the outside world: registration, who a
facility serves, beds, matching a person to a facility, coverage and its gaps."""
