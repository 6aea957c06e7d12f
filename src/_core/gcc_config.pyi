from collections.abc import Mapping
from typing import Any, final

DEFAULTS: Mapping[str, Any]
RATIOS: frozenset[str]

def check_values(values: Mapping[str, Any]) -> dict[str, Any]: ...

@final
class GccConstants:
    def __init__(self, config: object = None) -> None: ...
    def __getattr__(self, name: str) -> Any: ...
    def to_dict(self) -> dict[str, Any]: ...

DEFAULT_CONSTANTS: GccConstants

def loss_v2_config_problem(config: object = None) -> str | None: ...
