"""The gallery's own database: engine set-up, tables (users, share links, audit), clock."""
