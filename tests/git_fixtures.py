"""Fixtures that start real git servers (git daemon, git http-backend) on 127.0.0.1."""
