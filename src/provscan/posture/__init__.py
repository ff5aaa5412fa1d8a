"""Security posture (issue 6): firmware versions, credentials, vulnerabilities, exposure and
remediation. ``assess.assess_scan`` runs after attribution and policy; it does no I/O."""
