"""The referral service: referral cases, needs, matching and the referral lifecycle.
Owner: MOSVY / NRM coordinator. Topic: ``nrm.referral``."""
