"""Tuning a policy from a clinic's traces: Optuna search over policy fields (issue 15).

``space`` holds the search space as data (a ``[search]`` table or a dict of dotted keys).
"""

from mediaopt.tune.space import Dimension, SearchSpace, load_space, suggest

__all__ = ["Dimension", "SearchSpace", "load_space", "suggest"]
