# syntax=docker/dockerfile:1
# One image for web, worker, beat and the migrate job (docker-compose.yml and the Helm chart pick the
# command). Two stages: the build stage installs the runtime lock into a virtualenv and collects
# static files; the runtime stage copies only those, runs as a non-root user and has no compiler,
# no pip cache, no tests and no test tools (docs/deploying.md#image).

FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PYTHONDONTWRITEBYTECODE=1
RUN python -m venv /opt/venv
COPY requirements-runtime.lock /tmp/requirements-runtime.lock
# Hash-checked: every file pip downloads must match a sha256 in the lock (docs/deploying.md#locks).
RUN /opt/venv/bin/pip install --no-compile --require-hashes -r /tmp/requirements-runtime.lock
WORKDIR /app
COPY . .
RUN SECRET_KEY=build-only-build-only-build-only-build-only-build-only-00 ALLOWED_HOSTS=x \
    DATABASE_URL=postgres://x@localhost/x REDIS_URL=redis://localhost:6379/0 \
    ERX_PROVIDER=sandbox ERX_ALLOW_SANDBOX=true DJANGO_SETTINGS_MODULE=config.settings.production \
    /opt/venv/bin/python manage.py collectstatic --noinput

FROM python:3.11-slim AS runtime
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PATH=/opt/venv/bin:$PATH \
    DJANGO_SETTINGS_MODULE=config.settings.production
RUN groupadd --gid 10001 app && useradd --uid 10001 --gid app --no-create-home --shell /usr/sbin/nologin app
COPY --from=build /opt/venv /opt/venv
WORKDIR /app
COPY --from=build --chown=root:root /app /app
# var/ holds the collected static files (read-only) and is the one folder the app may write to.
RUN chown -R app:app /app/var
USER 10001:10001
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/livez', timeout=4).status != 200)"]
CMD ["gunicorn", "-c", "config/gunicorn.conf.py", "config.wsgi:application"]
