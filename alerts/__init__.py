"""New-article alerts: watches, the outbox drainer, messages, channels (apprise) and Atom feeds.

Sits above `db/` and imports downward; never imports `scheduler`.
"""
