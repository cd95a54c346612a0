"""The pipeline's source: the client's API, as this project knows it.

The contract is docs/api-contract.md; `stand_in/` serves it locally (the real application
is the client's), and `oracle.py` knows what the stand-in's users really like, for the
tests and benchmarks that judge the recommender.
"""
