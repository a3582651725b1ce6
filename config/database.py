"""PostgreSQL connection settings for scale-out (docs/deploying.md#database).

Three ways to reach PostgreSQL, chosen from the environment:

* default: one persistent connection per process (CONN_MAX_AGE seconds, health-checked);
* DATABASE_POOL=true: psycopg's connection pool inside each process (Django 5.1+), sized by
  DATABASE_POOL_MIN_SIZE / DATABASE_POOL_MAX_SIZE, waiting DATABASE_POOL_TIMEOUT seconds for a
  free connection; persistent connections are then off (Django requires it);
* DATABASE_PGBOUNCER=true: behind PgBouncer in transaction mode: no server-side cursors and no
  prepared statements (both belong to one server session, which transaction pooling does not keep).
  Otherwise the reads of api/prepared.py are prepared statements (planned once per connection).

DATABASE_STATEMENT_TIMEOUT_MS stops any statement running longer (0: no limit), sent as a
connection option; PgBouncer refuses that option, so behind it set the same limit on the role:
``ALTER ROLE practice SET statement_timeout = '30s'``.

Sessions run with ``enable_memoize=off`` (DATABASE_MEMOIZE=true keeps PostgreSQL's default;
behind PgBouncer, ``ALTER ROLE practice SET enable_memoize = off``). The planner puts Memoize
nodes on the joins of a page query (the staff board's order -> patient, order -> prescription)
because it sizes them for every row of the table, not for the LIMIT: on PostgreSQL 15 building
their hash tables cost 0.7 ms of a 0.8 ms execution, for 21 rows that never hit the cache
(docs/performance.md#prepared-reads). The app's queries are pages and short batches, where a
memoised lookup saves little.
"""

from __future__ import annotations

from django.core.exceptions import ImproperlyConfigured

PREPARE_ONLY_WHEN_ASKED = 2**62


def tune_postgres(db: dict, *, env, statement_timeout_ms: int) -> dict:
    if db.get("ENGINE") != "django.db.backends.postgresql":
        return db
    pool = env.bool("DATABASE_POOL", default=False)
    pgbouncer = env.bool("DATABASE_PGBOUNCER", default=False)
    if pool and pgbouncer:
        raise ImproperlyConfigured("DATABASE_POOL and DATABASE_PGBOUNCER exclude each other: PgBouncer pools.")
    options = db.setdefault("OPTIONS", {})
    options.setdefault("connect_timeout", env.int("DATABASE_CONNECT_TIMEOUT", default=5))
    timeout = env.int("DATABASE_STATEMENT_TIMEOUT_MS", default=statement_timeout_ms)
    session = [f"-c statement_timeout={timeout}"] if timeout else []
    if not env.bool("DATABASE_MEMOIZE", default=False):
        session.append("-c enable_memoize=off")  # see the module's docstring
    if session and not pgbouncer:
        options["options"] = " ".join(session)
    if pool:
        db["CONN_MAX_AGE"] = 0
        options["pool"] = {
            "min_size": env.int("DATABASE_POOL_MIN_SIZE", default=2),
            "max_size": env.int("DATABASE_POOL_MAX_SIZE", default=10),
            "timeout": env.int("DATABASE_POOL_TIMEOUT", default=10),
        }
    if pgbouncer:
        db["DISABLE_SERVER_SIDE_CURSORS"] = True
        options["prepare_threshold"] = None
    else:
        # Prepared statements only where asked for (api.prepared.statement_cursor): Django's own
        # cursors bind on the client and never prepare; no statement reaches this count.
        options.setdefault("prepare_threshold", PREPARE_ONLY_WHEN_ASKED)
    return db
