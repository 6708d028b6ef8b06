"""imggen's benchmark suite: throughput of every family (the measure that fits each), training steps, roofline,
and the seed-loop comparison, recorded per machine.

Run it with ``python benchmarks/run.py --help``; ``docs/benchmarks.md`` is generated from ``benchmarks/results/*.json``
by ``python benchmarks/docs_page.py``.
"""
