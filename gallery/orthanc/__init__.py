"""Orthanc transport: the one HTTP client, its errors and the circuit breaker. No Flask."""
