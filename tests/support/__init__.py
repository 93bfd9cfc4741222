"""Test infrastructure shared by the suites, the Django-suite tool, the demo and benchmarks."""
