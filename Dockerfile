# SCIM server: gunicorn, non-root, migrations applied on start.
FROM python:3.11-slim

# PROMETHEUS_MULTIPROC_DIR: where `scim-server serve`'s workers write the metrics that
# GET /metrics adds up; emptied at each start (a tmpfs may be mounted there). /metrics
# stays off until SCIM_SERVER_METRICS_TOKEN is set (README, "The OpenAPI document and metrics").
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    SCIM_SERVER_INSTANCE_PATH=/var/lib/scim-server \
    PROMETHEUS_MULTIPROC_DIR=/tmp/scim-server-metrics

WORKDIR /app
COPY pyproject.toml README.md ./
COPY scim_server ./scim_server
RUN pip install . \
    && useradd --system --uid 10001 --home-dir /var/lib/scim-server --create-home scim \
    && chown scim /var/lib/scim-server

USER scim
EXPOSE 8000
# SCIM_SERVER_DATABASE_URL defaults to SQLite in /var/lib/scim-server; set it to
# postgresql://… to run several containers on one database.
CMD ["sh", "-c", "scim-server db upgrade && exec scim-server serve --bind 0.0.0.0:8000 --workers ${WEB_CONCURRENCY:-2}"]
