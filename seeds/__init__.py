"""Bundled outlet definitions (data only): outlets.toml."""
