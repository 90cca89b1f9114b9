"""How the ``aalu-sk`` command fails: in the user's terms, with a hint.

Every refusal of the command goes through one of two doors, which word
their messages alike (``aalu-sk COMMAND: error: argument --option: ...``):

- :class:`Parser`, the :class:`argparse.ArgumentParser` of every
  subcommand, for what argparse refuses (its own checks and the ``type=``
  functions of the subcommands, ``aalu_sk/cli/_options.py`` for the
  shared ones); exit status 2 with the subcommand's usage line.
- :func:`option_error`, for what is refused after parsing (a combination
  of options, a dataset, an output folder); exit status 1.

Both pass the message through :func:`cli_terms`, which rewrites the
library's Python names into the options the user typed (``data_dir`` ->
``--data-dir``, ``download=True`` -> ``--download``), and add "did you
mean ...?" (:func:`did_you_mean`) to an unknown subcommand or option.
Abbreviated options are refused (``allow_abbrev=False``): an abbreviation
that works today breaks when a longer option is added, and the hint names
the full option instead.
"""

import argparse
import difflib
import re
import sys

__all__ = ["Parser", "cli_terms", "did_you_mean", "option_error"]


def did_you_mean(word, choices):
    """``"; did you mean X?"`` for the close matches of ``word``, else ``""``.

    Parameters
    ----------
    word : str
    choices : iterable of str

    Returns
    -------
    hint : str

    Examples
    --------
    >>> from aalu_sk._cliparser import did_you_mean
    >>> did_you_mean("--strategy", ["--strategies", "--seeds", "--out"])
    '; did you mean --strategies?'
    >>> did_you_mean("zzz", ["run", "demo"])
    ''
    """
    matches = close_matches(word, choices)
    return f"; did you mean {' or '.join(matches)}?" if matches else ""


def close_matches(word, choices):
    """The closest of ``choices`` to ``word``, and those it abbreviates."""
    choices = sorted(set(choices))
    matches = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    # A prefix (an abbreviation) is a close match even when short.
    return matches + [c for c in choices if c.startswith(word)
                      and len(word) > 2 and c not in matches]


def _options(parser):
    """``dest -> (option string, takes a value)`` of ``parser``'s options."""
    names = {}
    for action in parser._actions:
        longs = [s for s in action.option_strings if s.startswith("--")]
        if longs and action.dest != "help":
            names[action.dest] = (longs[0], action.nargs != 0)
    return names


def cli_terms(message, parser):
    """``message`` with Python names replaced by ``parser``'s options.

    ``name=None`` (or ``False`` for a flag) becomes ``no --name``,
    ``flag=True`` becomes ``--flag``, ``name=value`` becomes
    ``--name value``, and a bare ``snake_case`` name of an option becomes
    the option. Other words are left alone.

    Parameters
    ----------
    message : str
    parser : argparse.ArgumentParser
        The subcommand's parser, whose options are the user's terms.

    Returns
    -------
    message : str

    Examples
    --------
    >>> import argparse
    >>> from aalu_sk._cliparser import cli_terms
    >>> p = argparse.ArgumentParser()
    >>> _ = p.add_argument("--data-dir"); _ = p.add_argument(
    ...     "--download", action="store_true")
    >>> cli_terms("got data_dir=None; pass download=True", p)
    'got no --data-dir; pass --download'
    """
    message = str(message)
    for dest, (option, takes_value) in _options(parser).items():
        name = re.escape(dest)
        message = re.sub(rf"(?<![\w-]){name}=None\b", f"no {option}",
                         message)
        if not takes_value:
            message = re.sub(rf"(?<![\w-]){name}=True\b", option, message)
            message = re.sub(rf"(?<![\w-]){name}=False\b", f"no {option}",
                             message)
        message = re.sub(rf"(?<![\w-]){name}=", f"{option} ", message)
        if "_" in dest:
            message = re.sub(rf"(?<![\w-]){name}\b", option, message)
    return message


def option_error(parser, option, message):
    """The :class:`SystemExit` (status 1) that refuses ``option``.

    Parameters
    ----------
    parser : argparse.ArgumentParser
        The subcommand's parser: its ``prog`` starts the message and its
        options are the terms of :func:`cli_terms`.
    option : str or None
        What is refused (``"--out"``, ``"--initial/--step"``, ``"DIR"``);
        None for the command as a whole.
    message : str or Exception
    """
    where = f"argument {option}: " if option else ""
    return SystemExit(f"{parser.prog}: error: {where}"
                      f"{cli_terms(message, parser)}")


class Parser(argparse.ArgumentParser):
    """An :class:`argparse.ArgumentParser` that fails in the user's terms.

    Refuses abbreviated options, words its errors with :func:`cli_terms`,
    and reports an unknown subcommand, or an option unknown to the chosen
    subcommand, with the subcommand's usage and the close matches.
    """

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(*args, **kwargs)

    def error(self, message):
        self.print_usage(sys.stderr)
        self.exit(2, f"{self.prog}: error: {cli_terms(message, self)}\n")

    def subcommands(self):
        """``name -> parser`` of the subcommands (empty without any)."""
        for action in self._actions:
            if isinstance(action, argparse._SubParsersAction):
                return dict(action.choices)
        return {}

    def parse_args(self, args=None, namespace=None):
        args = sys.argv[1:] if args is None else list(args)
        commands = self.subcommands()
        if commands:
            name = next((a for a in args if not a.startswith("-")), None)
            if name is not None and name not in commands:
                self.error(f"argument COMMAND: invalid choice: {name!r} "
                           f"(choose from {', '.join(commands)})"
                           f"{did_you_mean(name, commands)}")
        namespace, extras = self.parse_known_args(args, namespace)
        if extras:
            parser = commands.get(getattr(namespace, "command", None), self)
            options = [s for a in parser._actions for s in a.option_strings]
            unknown = [e.split("=", 1)[0] for e in extras
                       if e.startswith("-")]
            hints = {e: close_matches(e, options) for e in unknown}
            hints = {e: m for e, m in hints.items() if m}
            if len(unknown) == 1:
                hint = did_you_mean(unknown[0], options)
            elif hints:
                hint = "; did you mean " + " and ".join(
                    f"{' or '.join(m)} (for {e})" for e, m in hints.items()) \
                    + "?"
            else:
                hint = ""
            parser.error(f"unrecognized arguments: {' '.join(extras)}{hint}")
        return namespace
