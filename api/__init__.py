"""Local stand-in of the client's MooVitamix API (contract: docs/api-contract.md).

Run with ``python -m api``; build in-process with :func:`api.app.create_app`.
"""
