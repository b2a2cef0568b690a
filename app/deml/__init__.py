"""DEML reference app: every role of the Event Projections pipeline, selected by `deml ROLE`."""
