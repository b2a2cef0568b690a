"""The runtime: drives Docker Compose v2 on a rendered file — images, up, probes, bootstrap, endpoints, down."""
