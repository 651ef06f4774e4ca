"""Maintenance: backups with a verified restore, their schedule and retention, the health check.

``backup`` takes a consistent copy of the installation while it runs, ``archive`` writes and
reads the one-file archive (manifest first, every member checksummed), ``restore`` verifies and
restores it, ``schedule`` runs backups on time from the runner and alerts when they fail or are
overdue, ``doctor`` tells in one screen whether the installation is healthy.
"""
