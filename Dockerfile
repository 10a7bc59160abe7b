# syntax=docker/dockerfile:1
#
# smokewatch: one image for both modes.
#   docker run ... IMAGE                      -> smokewatch serve (scheduler + API + status page + /metrics)
#   docker run ... IMAGE run --once --junit /var/lib/smokewatch/smoke.xml   -> CronJob / CI gate
# Config comes from a mounted file (/etc/smokewatch/smokewatch.yaml and, beside it,
# alert-rules.yaml); secrets come from the environment (${VAR}) or mounted files (${file:/path}).
#
# Base image: pinned to an exact CPython patch release and Debian release. To pin by digest as
# well, append "@sha256:..." from `docker buildx imagetools inspect python:3.11.18-slim-bookworm`.
ARG PYTHON_IMAGE=python:3.11.18-slim-bookworm

# ---------------------------------------------------------------------------------------------
# Build stage: a virtualenv at /opt/smokewatch from uv.lock (no dev group), project installed as
# a wheel (not editable), so the runtime stage needs neither uv nor the source tree.  The extras
# are every optional backend a config may name: s3 (artifacts), cloudwatch and otlp
# (telemetry), apprise (the `apprise:` notifier channel).
# ---------------------------------------------------------------------------------------------
FROM ${PYTHON_IMAGE} AS build

ENV UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    UV_PROJECT_ENVIRONMENT=/opt/smokewatch

RUN pip install --no-cache-dir uv==0.13.9

WORKDIR /src

# Dependencies first: this layer is rebuilt only when the lock changes.
COPY pyproject.toml uv.lock ./
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --locked --no-dev --extra s3 --extra cloudwatch --extra otlp --extra apprise --no-install-project

# Then the project itself (README.md is the wheel's long description).
COPY README.md ./
COPY monitor ./monitor
COPY probes ./probes
COPY examples ./examples
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --locked --no-dev --extra s3 --extra cloudwatch --extra otlp --extra apprise --no-editable

# ---------------------------------------------------------------------------------------------
# Runtime stage.
#
# Chromium: Debian's `chromium` package, not Playwright's downloaded build, because
#   - bookworm-security ships every Chromium stable security release, so a rebuild picks up
#     browser CVE fixes without waiting for a Playwright bump in uv.lock;
#   - the project's browser tests run against Debian's /usr/bin/chromium, so the image runs the
#     browser build the test suite exercises (smokewatch finds it: browser.executable_path,
#     else Playwright's download, which this image does not have, else /usr/bin/chromium);
#   - the build needs only the Debian and PyPI registries, no browser CDN.
# The price: Chromium's version is Debian's, not the one this Playwright release was cut for
# (Playwright drives it over CDP; the tests above are what vouch for the pair).
# Apt packages are not version-pinned on purpose (DL3008): a pinned chromium would freeze the
# browser at a version with known CVEs and break the build once the archive drops it.
# ---------------------------------------------------------------------------------------------
FROM ${PYTHON_IMAGE} AS runtime

ARG VERSION=0.1.0
ARG REVISION=unknown
ARG CREATED=unknown
LABEL org.opencontainers.image.title="smokewatch" \
      org.opencontainers.image.description="Synthetic monitoring for production: read-only probes on a schedule, from several regions, with metrics, alerts and a status page." \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.created="${CREATED}" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.source="https://github.com/smokewatch/smokewatch" \
      org.opencontainers.image.base.name="docker.io/library/python:3.11.18-slim-bookworm"

# tini is PID 1: it forwards SIGTERM to smokewatch and reaps Chromium's orphaned children.
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends chromium fonts-liberation tini ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 smokewatch \
 && useradd --system --uid 10001 --gid 10001 --home-dir /var/lib/smokewatch \
      --no-create-home --shell /usr/sbin/nologin smokewatch \
 && install -d -o 10001 -g 10001 -m 0750 /var/lib/smokewatch \
 && install -d -m 0755 /etc/smokewatch

COPY --from=build /opt/smokewatch /opt/smokewatch

# WORKDIR holds what smokewatch writes: the SQLite file of the default storage.url, failure
# screenshots and traces (runner.artifacts_dir), and the browser's profile under HOME.
# In Kubernetes it is a volume (emptyDir or PVC) and the root filesystem is read-only.
ENV PATH=/opt/smokewatch/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    HOME=/var/lib/smokewatch \
    SMOKEWATCH_CONFIG=/etc/smokewatch/smokewatch.yaml
WORKDIR /var/lib/smokewatch
USER 10001:10001

EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/health', timeout=4)"]

ENTRYPOINT ["/usr/bin/tini", "--", "smokewatch"]
# serve listens on 127.0.0.1 by default; a container must listen on every interface.
CMD ["serve", "--host", "0.0.0.0", "--port", "8080"]
