"""Benchmarks of Orthanc Gallery at hospital scale: see README, "Benchmarks"."""
