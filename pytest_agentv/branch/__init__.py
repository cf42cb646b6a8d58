"""The branch writer: change sets committed to a git branch and pushed, never lost, never forced.

:mod:`.changes` (pure) says what to change; :mod:`.writer` applies it; :mod:`.target` resolves
where the branch lives; :mod:`.spool` keeps change sets until they are committed. No git library
here: git is reached through :class:`pytest_agentv.git.repository.GitRepository`.
"""
