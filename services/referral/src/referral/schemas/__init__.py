"""Request and response models of referral's API (table models never leave the service)."""
