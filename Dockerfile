FROM python:3.11-slim
# The embedded PostgreSQL is not used in containers: compose gives a real server.
ENV PYTHONUNBUFFERED=1 WIREWATCH_HOME=/var/lib/wirewatch
WORKDIR /app
COPY pyproject.toml README.md ./
COPY crawler crawler
COPY scheduler scheduler
COPY db db
COPY alerts alerts
COPY web web
COPY seeds seeds
COPY demo demo
RUN pip install --no-cache-dir . && useradd --system --home-dir /var/lib/wirewatch --create-home wirewatch
USER wirewatch
# Configuration: WIREWATCH_* environment variables, and optionally a config file mounted
# at the path WIREWATCH_CONFIG names (docker-compose.yml mounts deploy/wirewatch.toml).
# The Prometheus endpoint, when metrics.port is set to it.
EXPOSE 9108
# SIGTERM: stop taking work, finish in-flight pages, release leases, exit 0.
STOPSIGNAL SIGTERM
ENTRYPOINT ["wirewatch"]
CMD ["run"]
