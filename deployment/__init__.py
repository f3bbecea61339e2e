"""Terraform applied to a local AWS emulator, read back, and rehearsed."""
