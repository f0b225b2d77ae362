"""PostgreSQL: migrations, connections and every SQL statement wirewatch runs."""
