"""Plain helper modules of the suite: imported by conftest files and tests, never containing fixtures."""
