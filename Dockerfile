# Policy Lab: one image for the web server (see docker-compose.yml).
FROM python:3.12-slim

# WeasyPrint renders the PDF report with Pango. Fonts for text in any script: DejaVu (every
# Latin diacritic, Greek, Cyrillic), Noto for the other scripts (Arabic, Hebrew, Armenian,
# Georgian …), Noto Color Emoji for emoji (found by fontconfig's fallback; the report's
# contributions are bidi-isolated, so right-to-left text keeps its references in place).
# Chinese, Japanese and Korean need fonts-noto-cjk (+90 MB): build with --build-arg CJK_FONTS=1.
# tests/report/test_consistency.py checks the PDF's fonts and this list.
ARG CJK_FONTS=0
RUN apt-get update \
    && apt-get install -y --no-install-recommends libpango-1.0-0 libpangoft2-1.0-0 \
       fonts-dejavu-core fonts-noto-core fonts-noto-color-emoji \
       $( [ "$CJK_FONTS" = "1" ] && echo fonts-noto-cjk ) \
    && rm -rf /var/lib/apt/lists/*

# uv from its official image, the same minor version that wrote uv.lock.
COPY --from=ghcr.io/astral-sh/uv:0.13 /uv /uvx /bin/
ENV UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    PYTHONUNBUFFERED=1

WORKDIR /app
# Dependencies first, in their own layer: they change far less often than the code.
COPY pyproject.toml uv.lock README.md ./
RUN uv sync --frozen --no-dev --no-install-project
COPY alembic.ini ./
COPY app ./app
COPY templates ./templates
COPY static ./static
RUN uv sync --frozen --no-dev

RUN useradd --system --uid 10001 --home-dir /app policylab
USER policylab
ENV PATH="/app/.venv/bin:$PATH"
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=5 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4)"]
CMD ["policylab", "serve", "--host", "0.0.0.0", "--port", "8000", "--workers", "4"]
