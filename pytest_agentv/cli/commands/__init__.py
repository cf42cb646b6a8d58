"""One module per ``agentv-results`` command, each exporting ``COMMAND`` (see ..command)."""
