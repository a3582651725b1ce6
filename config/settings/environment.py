"""Where settings come from: the project's folders and the environment (django-environ).

Every other settings module reads its values through ``env`` from here, with a safe local default;
production.py removes the defaults for secrets. docs/architecture.md#settings
"""

from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = Path(environ.Env().str("VAR_DIR", default=str(BASE_DIR / "var")))

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)
