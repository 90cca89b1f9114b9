"""Installation shim for aalu_sk.

Everything (metadata, dependencies, extras, the ``aalu-sk`` command) lives
in ``pyproject.toml``; this file stays so that ``python setup.py ...`` and
tools that look for a ``setup.py`` keep working.
"""

from setuptools import setup

setup()
