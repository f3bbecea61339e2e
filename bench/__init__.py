"""Benchmarks of awsome-chat: fan-out, cold start, read cost and local throughput.

``python -m bench`` (``make bench``) runs them all; ``--smoke`` runs tiny sizes, ``--only``
picks some. Every figure is printed beside a baseline measured in the same run, since absolute
times do not carry over between machines and ratios do. Results go to ``bench/results/``
(JSON, a text table and a plot); ``docs/performance.md`` records a run.
"""
