"""Railway facts as data (limits.py, with sources) and the checks the Railway target applies (checks.py)."""
