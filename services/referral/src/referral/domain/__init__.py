"""Referral's pure rules: the referral lifecycle, matching, case opening on consent."""
