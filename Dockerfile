# Asisten Prakerja: one image for `serve` (the default), `sender` and `run`. docs/deploy.md explains its use.
#   docker build -t asisten-prakerja .      (or: podman build -t asisten-prakerja .)
#   docker run --env-file .env -p 127.0.0.1:8080:8080 -v prakerja-data:/data asisten-prakerja
# BASE may name another image with Python >= 3.11 on Debian (the test suite builds on a local one).
ARG BASE=python:3.12-slim
FROM ${BASE}

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    VIRTUAL_ENV=/opt/venv \
    PATH=/opt/venv/bin:$PATH

# The application, installed into its own virtual environment (owned by root: the bot cannot change its code).
WORKDIR /src
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY handlers ./handlers
COPY storage ./storage
COPY locales ./locales
RUN python -m venv /opt/venv && pip install . && rm -rf /src

# A user of its own, never root; its data (the SQLite file, backups) on a volume.
RUN useradd --system --uid 10001 --user-group --home-dir /data --shell /usr/sbin/nologin prakerja \
    && mkdir -p /data && chown prakerja:prakerja /data
USER prakerja
WORKDIR /data
VOLUME ["/data"]

ENV DATABASE_PATH=/data/prakerja.sqlite3 \
    HOST=0.0.0.0 \
    PORT=8080
EXPOSE 8080

# /healthz answers 200 while the database answers and the background workers run (503 otherwise).
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('PORT', '8080'), timeout=4)"]

ENTRYPOINT ["python", "-m", "bot"]
CMD ["serve"]
