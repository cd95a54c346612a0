"""The one exception type the CLI turns into a one-line ``error: ...`` message."""


class RecommenderError(Exception):
    """An expected failure (bad input, unreachable service): a clear message, no traceback."""
