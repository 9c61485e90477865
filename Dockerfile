# model-health-sidecar: `sidecar run` next to a model server (deploy/kubernetes).
#
#   docker build -t model-health-sidecar:0.1.0 .
#   docker run --rm model-health-sidecar:0.1.0 --version
#
# The base is a build argument so an air-gapped build can pass a local image of the same Python
# (tests/deploy/test_dockerfile.py does). Pin it by digest in a release pipeline:
# --build-arg BASE_IMAGE=python:3.11-slim-bookworm@sha256:<digest>.
ARG BASE_IMAGE=python:3.11-slim-bookworm

# -- build: the project and every dependency as wheels, installed into a virtualenv ---------------------
FROM ${BASE_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
# Every dependency ships manylinux wheels for CPython 3.11 (numpy, pandas, scipy, pyarrow, orjson, crc32c,
# aiokafka and its codecs), so no compiler is needed here either; only the project itself is built.
COPY pyproject.toml README.md ./
COPY sidecar ./sidecar
RUN python -m pip wheel --wheel-dir /wheels . \
    && python -m venv /opt/venv \
    && /opt/venv/bin/pip install --no-index --find-links /wheels /wheels/*.whl \
    && /opt/venv/bin/pip uninstall --yes pip

# -- runtime: the base, the virtualenv and a numeric non-root user; no compilers, no pip cache, no wheels --
FROM ${BASE_IMAGE} AS runtime
LABEL org.opencontainers.image.title="model-health-sidecar" \
      org.opencontainers.image.description="Data contracts and a Kafka sidecar that watch ML models for drift" \
      org.opencontainers.image.licenses="Apache-2.0"
# The .pyc files were compiled at install time; PYTHONDONTWRITEBYTECODE because the root filesystem is
# read-only in the pod (deploy/kubernetes). The working directory is the store's home (its default
# store.path is relative; the pod mounts an emptyDir there and sets store.path to it).
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1
RUN groupadd --system --gid 10001 sidecar \
    && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /var/lib/model-health-sidecar \
       --shell /usr/sbin/nologin sidecar \
    && install -d -o 10001 -g 10001 -m 0750 /var/lib/model-health-sidecar
COPY --from=build /opt/venv /opt/venv
WORKDIR /var/lib/model-health-sidecar
USER 10001:10001
# http.port: /metrics, /healthz, /readyz.
EXPOSE 9464
ENTRYPOINT ["sidecar"]
CMD ["run", "--config", "/etc/sidecar/sidecar.yaml"]
