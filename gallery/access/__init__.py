"""Who may see what: permissions, users, sign-in throttle, share links, audit log."""
