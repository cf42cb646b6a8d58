"""Errors of the git layer; importing this module does not load dulwich."""

from __future__ import annotations


class GitError(Exception):
    """A git operation failed; the message is already scrubbed of credentials."""


class TransportError(GitError):
    """The remote could not be reached, refused us, or the connection broke."""
