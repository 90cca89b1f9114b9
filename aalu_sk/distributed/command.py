"""Deprecated: moved to :mod:`aalu_sk.cli.query`."""

from .._deprecation import alias

alias(__name__, globals())
