FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md alembic.ini ./
COPY sentinai ./sentinai
COPY migrations ./migrations
COPY packs ./packs
RUN pip install --no-cache-dir -e .
