"""Run ``terraform/`` offline against moto's server: one module per job (deployment/README.md)."""
