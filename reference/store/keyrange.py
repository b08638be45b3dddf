"""The store's key-range functions: the compiled core when built, else the pure twin.

``IMPLEMENTATION`` says which one is in use: ``"cython"`` or ``"python"``.
``KUBEPROP_NO_EXTENSIONS=1`` forces the pure twin. Both give identical results.
"""

from __future__ import annotations

import os

from kubeprop.reference.store import _keyrange_pure

IMPLEMENTATION = "python"
keys_in_range = _keyrange_pure.keys_in_range
in_range = _keyrange_pure.in_range

if os.environ.get("KUBEPROP_NO_EXTENSIONS") != "1":
    try:
        from kubeprop.reference.store import _keyrange
    except ImportError:  # not built: the pure twin serves
        pass
    else:
        IMPLEMENTATION = "cython"
        keys_in_range = _keyrange.keys_in_range
        in_range = _keyrange.in_range

__all__ = ["IMPLEMENTATION", "keys_in_range", "in_range"]
