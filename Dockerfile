# The gallery alone (Orthanc, PostgreSQL and Redis come from their own images: see docker-compose.yml).
FROM python:3.11-slim-bookworm

WORKDIR /app
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt
COPY config.py wsgi.py gunicorn.conf.py ./
COPY gallery gallery
COPY templates templates
COPY static static

RUN useradd --system --no-create-home gallery
USER gallery
ENV GALLERY_BIND=0.0.0.0:5000 \
    PYTHONUNBUFFERED=1
EXPOSE 5000
CMD ["gunicorn", "-c", "gunicorn.conf.py", "wsgi:app"]
