"""Benchmarks of Orthanc Gallery at hospital scale: see docs/benchmarks.md."""
