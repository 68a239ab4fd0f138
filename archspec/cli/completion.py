"""Shell completion scripts, generated from the command line parser itself."""

from __future__ import annotations

import argparse

BASH = """\
# archspec completion for {shell}: eval "$(archspec completion {shell})"
{preamble}_archspec() {{
    local cur="${{COMP_WORDS[COMP_CWORD]}}" opts="" words=""
    if [ "$COMP_CWORD" -eq 1 ]; then
        COMPREPLY=($(compgen -W "{commands} {global_options}" -- "$cur"))
        return
    fi
    case "${{COMP_WORDS[1]}}" in
{cases}
    esac
    if [[ "$cur" == -* ]]; then
        COMPREPLY=($(compgen -W "$opts" -- "$cur"))
    elif [ -n "$words" ] && [ "$COMP_CWORD" -eq 2 ]; then
        COMPREPLY=($(compgen -W "$words" -- "$cur"))
    else
        COMPREPLY=($(compgen -f -- "$cur"))
    fi
}}
complete -o default -F _archspec archspec
"""


def subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    """A parser's subcommands by name (none: an empty dict)."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def _case(name: str, sub: argparse.ArgumentParser) -> str:
    """One command's options, and its own subcommands (``data synth-signs``)."""
    options = " ".join(sorted(sub._option_string_actions))
    words = " ".join(subcommands(sub))
    return f'        {name}) opts="{options}" words="{words}" ;;'


def script(parser: argparse.ArgumentParser, shell: str) -> str:
    """The completion script for ``bash`` or ``zsh`` (through bashcompinit)."""
    commands = subcommands(parser)
    preamble = "autoload -U +X bashcompinit && bashcompinit\n" if shell == "zsh" else ""
    return BASH.format(
        shell=shell,
        preamble=preamble,
        commands=" ".join(commands),
        global_options=" ".join(sorted(parser._option_string_actions)),
        cases="\n".join(_case(name, sub) for name, sub in commands.items()),
    )
