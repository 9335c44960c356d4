"""Benchmarks: ``python -m benchmarks [NAME ...]`` runs ``benchmarks/bench_<NAME>.py:main()`` and prints figures."""
