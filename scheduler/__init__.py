"""The wirewatch daemon, its configuration and command line."""
