"""Offline replay of outlet websites for `wirewatch demo` and the tests."""
