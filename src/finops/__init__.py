"""FinOps: a self-hostable AI gateway speaking the Anthropic API in front of several providers."""

__version__ = "0.1.0"
