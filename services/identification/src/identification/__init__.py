"""The identification service: standard screenings by first responders, and (to come)
the Competent Authority's decisions. Owner: MOSVY. Topic: ``nrm.identification``."""
