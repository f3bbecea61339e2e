"""Build scripts: the reproducible Lambda packages (`make build`)."""
