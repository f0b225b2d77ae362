"""The HTTP side of the archive: JSON API, Atom feeds and server-rendered pages (`wirewatch serve`)."""
