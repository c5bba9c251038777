"""Where the wheel put the ``nbguard`` executable.

pip installs a wheel's executables into the ``scripts`` directory of the scheme it installs into:
the environment's (a virtualenv, a conda env, the system), the user's (``pip install --user``),
or ``<target>/bin`` for ``pip install --target``. ``PATH`` is deliberately not searched: another
``nbguard`` there may be an older build that does not match this package.
"""

import os
import sys
import sysconfig


def find_nbguard_bin():
    """The absolute path of the ``nbguard`` executable installed with this package.

    Raises ``FileNotFoundError`` naming every place looked at when there is none (a source
    checkout imported without being installed, or a damaged installation).
    """
    exe = "nbguard" + (sysconfig.get_config_var("EXE") or "")
    tried = []
    for scripts in _scripts_dirs():
        path = os.path.join(scripts, exe)
        tried.append(path)
        if os.path.isfile(path):
            return path
    raise FileNotFoundError(
        "the nbguard executable is not installed with this Python package (looked at "
        + ", ".join(tried)
        + "); reinstall it with `pip install --force-reinstall nbguard`"
    )


def _scripts_dirs():
    yield sysconfig.get_path("scripts")
    user_scheme = sysconfig.get_preferred_scheme("user") if sys.version_info >= (3, 10) else None
    if user_scheme is None:
        user_scheme = "nt_user" if os.name == "nt" else "posix_user"
    try:
        yield sysconfig.get_path("scripts", scheme=user_scheme)
    except KeyError:
        pass
    # `pip install --target DIR` puts the package in DIR and the executable in DIR/bin.
    yield os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "bin")
