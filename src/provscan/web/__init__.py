"""The web API (and later the console) over a store: ``provscan serve`` (issue 16)."""
