"""pdlib: the thin helper package behind the PairDistill companion notebooks.

Floors (imports only go downward):
1. config, paths   2. data, synthetic, models, cache   3. retrieve   6. evaluate   (runner drives papermill)
"""

__version__ = "0.1.0"


class PdlibError(Exception):
    """An error the user can act on; its message says what to do."""
