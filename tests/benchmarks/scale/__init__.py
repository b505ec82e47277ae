"""The scale benchmark (``make bench-scale SCALE=N``): generate → load → full dbt build → add a
day → incremental build → compare with a full refresh → BI query timings. Entry point:
:mod:`tests.benchmarks.bench_scale`; the steps live in the modules of this package."""
