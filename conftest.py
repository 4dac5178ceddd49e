"""Fixtures shared by every test directory: the real broker, tokens, service processes."""

pytest_plugins = ["nrm_deploy.testing"]
