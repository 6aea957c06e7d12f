"""``mediaopt policies``: list the built-in policies and show one in full."""

from __future__ import annotations

import argparse
from typing import Any

from mediaopt import policies
from mediaopt.cli.common import echo


def register(sub: Any) -> None:
    """Add the ``policies`` sub-command family to ``sub`` (an argparse sub-parser collection)."""
    p = sub.add_parser("policies", help="list and show adaptation policies")
    psub = p.add_subparsers(dest="policies_command", metavar="ACTION")
    psub.required = True
    ls = psub.add_parser("ls", help="list the built-in policies")
    ls.set_defaults(func=run_ls)
    show = psub.add_parser("show", help="print a policy in full as TOML")
    show.add_argument("name", metavar="NAME", help="a built-in name or a TOML file")
    show.set_defaults(func=run_show)


def run_ls(args: argparse.Namespace) -> int:
    """Print one line per built-in policy: name, tier, degradation, description."""
    rows = [policies.load(name) for name in policies.names()]
    width = max(len(p.name) for p in rows)
    for p in rows:
        echo(
            f"{p.name:<{width}}  {p.profile.tier:<8}  {p.adaptation.degradation:<19}  "
            f"{p.description}"
        )
    return 0


def run_show(args: argparse.Namespace) -> int:
    """Print the named policy, every field resolved, as TOML."""
    echo(policies.load(args.name).to_toml(), end="")
    return 0
