"""Settings shared by every environment, composed from one module per concern.

Every value that differs between environments comes from the environment (django-environ, read in
environment.py), with a safe local default; production.py removes the defaults for secrets.
local.py, test.py and production.py start from everything here. Which module holds which setting:
docs/architecture.md#settings.
"""

# No two modules define the same setting, and a module that reads another's value imports it by name
# (tests/test_settings_layout.py), so the order of these lines does not matter.
from .api import *  # noqa: F403
from .clinical import *  # noqa: F403
from .core import *  # noqa: F403
from .database import *  # noqa: F403
from .environment import *  # noqa: F403
from .notifications import *  # noqa: F403
from .observability import *  # noqa: F403
from .security import *  # noqa: F403
from .tasks import *  # noqa: F403
from .vendors import *  # noqa: F403
