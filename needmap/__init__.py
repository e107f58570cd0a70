"""needmap: where need is high, where families are referred, and where early help reaches them.

The public surface: read a config, refresh a snapshot, load it.
"""

__version__ = "0.1.0"

from needmap.config import Config, load_config  # noqa: E402
from needmap.errors import ConfigError, InputError, NeedmapError, SnapshotError  # noqa: E402
from needmap.snapshot import Snapshot, load_snapshot  # noqa: E402

__all__ = [
    "Config",
    "ConfigError",
    "InputError",
    "NeedmapError",
    "Snapshot",
    "SnapshotError",
    "__version__",
    "load_config",
    "load_snapshot",
]
