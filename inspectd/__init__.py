"""inspectd: a streaming few-shot industrial inspection daemon."""

__version__ = "0.1.0"
