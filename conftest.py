"""Project-wide test configuration: the git server fixtures live in tests/git_fixtures.py."""

pytest_plugins = ["tests.git_fixtures"]
