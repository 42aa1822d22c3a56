"""Speed benchmarks of newsintel: `make bench` (python -m benchmarks); see BENCHMARKS.md."""
