"""Deprecated: moved to :mod:`aalu_sk.cli.label`."""

from .._deprecation import alias

alias(__name__, globals())
