"""Aravis (GenICam) through GObject introspection, loaded only by the genicam source.

Aravis is optional: the system library and its typelib come from Debian packages, the Python bindings
(PyGObject) from ``pip install 'inspectd[genicam]'``. Everything else in inspectd runs without them.
"""

from __future__ import annotations

from types import ModuleType

ARAVIS_VERSION = "0.8"
INSTALL_HINT = ("install the system packages (apt-get install libaravis-0.8-0 gir1.2-aravis-0.8) and the "
                "Python bindings (pip install 'inspectd[genicam]')")


class AravisMissing(RuntimeError):
    """Aravis or its Python bindings are not installed; the message says which and how to install."""


def load_aravis() -> tuple[ModuleType, type[Exception]]:
    """The ``Aravis`` introspection module and the ``GLib.Error`` type its calls raise."""
    try:
        import gi
    except ImportError as error:
        raise AravisMissing(f"the genicam source needs PyGObject ({error}); {INSTALL_HINT}") from None
    try:
        gi.require_version("Aravis", ARAVIS_VERSION)
        from gi.repository import Aravis, GLib
    except (ValueError, ImportError) as error:
        raise AravisMissing(f"the genicam source needs Aravis {ARAVIS_VERSION} ({error}); {INSTALL_HINT}") from None
    return Aravis, GLib.Error
