"""The only package that speaks dulwich, split by concern.

- :mod:`.errors` — :class:`GitError`, :class:`TransportError` (no dulwich: anyone may catch them)
- :mod:`.objects` — blobs, trees, commits, the deterministic genesis commit
- :mod:`.refs` — refs (compare-and-swap), config lookups of a repository
- :mod:`.packs` — a fast pack reader for first-parent walks
- :mod:`.maintenance` — geometric consolidation that keeps a repository's packs few
- :mod:`.transport` — fetching and pushing one branch
- :mod:`.provenance` — origin, HEAD and dirtiness of the project's source repository
- :mod:`.history` — the source repository's merge-base with its default branch, and ancestry
- :mod:`.repository` — :class:`GitRepository`, the facade the rest of the project uses

Everything outside takes and returns plain types (hex strings, bytes, paths); no dulwich object
leaves this package. Error messages never contain URL credentials.
"""
