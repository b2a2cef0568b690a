"""The contract suite: black-box promises any target of the topology is held to (`topo gate`, `make gate`)."""
