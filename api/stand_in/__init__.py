"""The local stand-in of the client's MooVitamix API (contract: docs/api-contract.md).

Run with ``python -m api.stand_in``; build in-process with :func:`api.stand_in.app.create_app`.
"""
