"""The benchmark suite: ``python -m bench`` (see bench/README.md); never part of the tests."""
