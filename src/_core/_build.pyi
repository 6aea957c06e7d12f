DEBUG_BUILD: bool
LINETRACE: bool
CYTHON_VERSION: str
DIRECTIVES: dict[str, bool]
TYPE_SIZES: dict[str, int]

def compiled() -> bool: ...
