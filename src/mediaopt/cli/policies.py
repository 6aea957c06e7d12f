"""``mediaopt policies``: list the built-in policies, show one in full, diff two."""

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
    diff = psub.add_parser("diff", help="list the fields in which two policies differ")
    diff.add_argument("a", metavar="A", help="a built-in name or a TOML file")
    diff.add_argument("b", metavar="B", help="a built-in name or a TOML file")
    diff.set_defaults(func=run_diff)


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


def _show(value: Any) -> str:
    if isinstance(value, tuple):
        return "[" + ", ".join(_show(v) for v in value) + "]"
    return repr(value) if isinstance(value, str) else str(value)


def run_diff(args: argparse.Namespace) -> int:
    """Print one line per differing field: the dotted key, A's value, B's value."""
    a, b = policies.load(args.a), policies.load(args.b)
    rows = policies.diff(a, b)
    if not rows:
        echo(f"{a.name} and {b.name} are the same policy")
        return 0
    width = max(len(k) for k, _, _ in rows)
    echo(f"{'field':<{width}}  {a.name}  ->  {b.name}")
    for key, va, vb in rows:
        echo(f"{key:<{width}}  {_show(va)}  ->  {_show(vb)}")
    return 0
