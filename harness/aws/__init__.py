"""AWS facts as data: limits (with sources) and a dated price table. Targets and checks read these tables."""
