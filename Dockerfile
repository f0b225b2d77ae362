FROM python:3.11-slim
# The embedded PostgreSQL is not used in containers: compose gives a real server.
ENV PYTHONUNBUFFERED=1 WIREWATCH_HOME=/var/lib/wirewatch
WORKDIR /app
COPY pyproject.toml README.md ./
COPY crawler crawler
COPY scheduler scheduler
COPY db db
COPY seeds seeds
COPY demo demo
RUN pip install --no-cache-dir . && useradd --system --home-dir /var/lib/wirewatch --create-home wirewatch
USER wirewatch
ENTRYPOINT ["wirewatch"]
CMD ["run"]
