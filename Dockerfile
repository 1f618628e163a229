# engagebot image: the worker (`engagebot run --no-web`), the web app (`engagebot web`) and
# the one-shot migration (`engagebot init`) all run from it; docker-compose.yml wires them.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    HF_HUB_OFFLINE=1 \
    TRANSFORMERS_OFFLINE=1 \
    ENGAGEBOT_CONFIG=/config/engagebot.toml \
    ENGAGEBOT_OUTPUT_DIR=/data/out

# torch first, pinned, from the CPU-only index: the default index would pull GBs of CUDA.
RUN pip install torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu

WORKDIR /app
COPY pyproject.toml README.md ./
COPY db ./db
COPY listener ./listener
COPY sentiment ./sentiment
COPY engagement ./engagement
COPY engagebot ./engagebot
# the project and its dependencies; torch is already satisfied and is not touched again
RUN pip install . \
    && python -c "import torch; assert torch.__version__.startswith('2.13.0'), torch.__version__"

RUN useradd --system --create-home --home-dir /home/engagebot engagebot \
    && mkdir -p /data/out /config \
    && chown -R engagebot /data
USER engagebot
# build the default model's int8 ONNX graph now (~20 s) so a new container scores at once
RUN python -c "from sentiment.model import load_model; from sentiment.settings import SentimentSettings; print(load_model(SentimentSettings()).precision)"
VOLUME ["/data"]
EXPOSE 8000 9108

ENTRYPOINT ["engagebot"]
CMD ["run", "--no-web"]
