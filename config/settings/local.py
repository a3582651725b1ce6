"""Local development: the embedded default (SQLite + filesystem broker), debug on."""

from .base import *  # noqa: F403
from .base import env

DEBUG = env.bool("DEBUG", default=True)
