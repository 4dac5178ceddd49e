"""Repatriation's rules, pure: the SOP templates and their step graph, the rules a step
must pass, the step clocks in working days, and the liaison signing scheme."""
