"""Cloud Run facts (limits.py, prices.py) and rules (checks.py) for the cloudrun target."""
