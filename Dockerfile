# Loyalty OKRs container image: `docker build -t loyalty-okrs .`
# Stage 1 builds the wheel and installs it with its dependencies into a virtual environment;
# stage 2 is a slim runtime with only that environment, run as an unprivileged user.

FROM python:3.11-slim AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
WORKDIR /src
COPY pyproject.toml README.md LICENSE ./
COPY loyalty ./loyalty
COPY slackapp ./slackapp
COPY storage ./storage
COPY jobs ./jobs
RUN pip wheel --no-deps --wheel-dir /wheels .
RUN python -m venv /opt/loyalty && /opt/loyalty/bin/pip install /wheels/*.whl

FROM python:3.11-slim
ENV PATH=/opt/loyalty/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    DATABASE_URL=sqlite:////data/loyalty.db
RUN useradd --system --uid 10001 --home-dir /data --create-home loyalty
COPY --from=build /opt/loyalty /opt/loyalty
USER loyalty
WORKDIR /data
VOLUME ["/data"]
EXPOSE 3000
# No HEALTHCHECK here: the same image also runs the scheduler and the one-shot migration, which
# serve no HTTP. The web service's health check (GET /healthz) is in compose.yaml:
#   python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:3000/healthz', timeout=3)"
ENTRYPOINT ["loyalty"]
CMD ["serve", "--host", "0.0.0.0", "--port", "3000"]
