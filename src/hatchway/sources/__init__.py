"""sources: where input objects come from (files and stdin; later, watches and the API server)."""
