"""Share links: revocable, expiring, read-only grants on one study or series."""
