"""nbguard keeps credentials and personal data out of git history, Jupyter notebooks first.

The scanner is the Rust executable this package installs (``nbguard``, also ``python -m
nbguard``); this package finds it (:func:`find_nbguard_bin`) and holds the IPython extension
(``%load_ext nbguard``), which checks every executed cell and warns under the leaky ones.
"""

from ._binary import find_nbguard_bin

try:
    from importlib.metadata import PackageNotFoundError, version

    __version__ = version("nbguard")
except PackageNotFoundError:  # imported from a source tree, not installed
    __version__ = "unknown"

__all__ = ["find_nbguard_bin", "load_ipython_extension", "unload_ipython_extension"]


def load_ipython_extension(shell):
    """``%load_ext nbguard``: check every cell this shell runs from now on."""
    from ._ipython import load

    load(shell)


def unload_ipython_extension(shell):
    """``%unload_ext nbguard``: stop checking cells and end the checker process."""
    from ._ipython import unload

    unload(shell)
