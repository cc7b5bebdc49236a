"""Fixtures shared with the end-to-end tests: a brownout subprocess environment that is cleaned up after."""

from tests.e2e.conftest import brownout_env

__all__ = ["brownout_env"]
