"""Watchbook benchmarks: initial sync (P1), shift-change burst (P2), the browser (P3) and
resources (P4), each side by side with peers and with the in-process limit.

Run as `python -m bench` (`make bench`); `--quick` for development. Owns nothing the server
imports: the server never imports bench/.
"""
