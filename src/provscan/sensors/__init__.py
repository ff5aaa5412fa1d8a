"""Scan sensors on Celery: a sensor per site scans locally and reports to the central (issue 17)."""
