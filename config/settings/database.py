"""The database: SQLite by default (embedded, for a newcomer); DATABASE_URL=postgres://... for PostgreSQL."""

from config.database import tune_postgres

from .environment import VAR_DIR, env

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    VAR_DIR.mkdir(parents=True, exist_ok=True)  # SQLite creates the file, not its folder
    # The web server, the worker and beat share one SQLite file: WAL lets readers run beside a
    # writer, the busy timeout waits for a lock instead of failing, and IMMEDIATE transactions
    # take the write lock at BEGIN so two writers serialise instead of deadlocking.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=20000;",
        }
    )
else:
    DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=60))
    DATABASES["default"].setdefault("CONN_HEALTH_CHECKS", True)
    # Pool, PgBouncer, statement timeout (off outside production by default): config/database.py.
    tune_postgres(DATABASES["default"], env=env, statement_timeout_ms=0)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
