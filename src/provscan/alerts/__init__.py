"""Events from the outbox to the people and systems that act on them: syslog (UDP, TCP,
TLS; JSON or CEF bodies), JSON lines in a file, and webhooks (docs/decisions, alerts)."""
