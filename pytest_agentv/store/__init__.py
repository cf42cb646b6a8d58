"""Artifact stores: where runs are written and read back."""
