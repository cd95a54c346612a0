"""Benchmarks that run whole parts of the platform; product code never imports them."""
