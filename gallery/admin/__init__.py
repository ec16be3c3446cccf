"""Administration: users, the audit log, deletions."""
