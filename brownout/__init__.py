"""brownout: chaos and resilience testing for AI inference systems."""

__version__ = "0.1.0"
__all__ = ["__version__"]
