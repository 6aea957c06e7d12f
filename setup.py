"""Build the Cython core (src/_core/*.pyx) as the private package ``mediaopt._core``.

Metadata lives in pyproject.toml; this file only describes the extensions.

Compiler directives are set here, once, for every module:

* release (default): wraparound, boundscheck and initializedcheck off, cdivision on, -O3;
* debug (``MEDIAOPT_DEBUG_BUILD=1``): bounds and initialisation checks on, line tracing
  (``CYTHON_TRACE_NOGIL``), ``-O0 -g``.

The two flavours build into separate folders under ``build/`` so that a debug install
never picks up release objects (or the other way round).
"""

from __future__ import annotations

import filecmp
import os
import shutil
import sys
from pathlib import Path

import Cython
from Cython.Build import cythonize
from setuptools import Extension, find_packages, setup

ROOT = Path(__file__).resolve().parent
CORE_DIR = Path("src") / "_core"
DEBUG = os.environ.get("MEDIAOPT_DEBUG_BUILD", "").strip().lower() in {"1", "true", "yes", "on"}
FLAVOUR = "debug" if DEBUG else "release"
BUILD_BASE = Path("build") / FLAVOUR

DIRECTIVES: dict[str, object] = {
    "language_level": 3,
    "wraparound": False,
    "cdivision": True,
    "boundscheck": DEBUG,
    "initializedcheck": DEBUG,
    "embedsignature": True,
    "linetrace": DEBUG,
    "profile": False,
}


def _pxd_include_dir() -> str:
    """Lay the core's .pxd files out under their package name for ``cimport``.

    The sources live in ``src/_core`` but the modules are ``mediaopt._core.*``; Cython
    resolves ``from mediaopt._core.x cimport Y`` through its include path, so mirror the
    declarations at ``build/pxd/mediaopt/_core``.
    """
    inc = Path("build") / "pxd"
    pkg = inc / "mediaopt" / "_core"
    pkg.mkdir(parents=True, exist_ok=True)
    for marker in (inc / "mediaopt" / "__init__.pxd", pkg / "__init__.pxd"):
        marker.touch()
    wanted = {p.name for p in CORE_DIR.glob("*.pxd")}
    for stale in pkg.glob("*.pxd"):
        if stale.name != "__init__.pxd" and stale.name not in wanted:
            stale.unlink()
    for src in CORE_DIR.glob("*.pxd"):
        dst = pkg / src.name
        if not dst.exists() or not filecmp.cmp(src, dst, shallow=False):
            shutil.copy2(src, dst)
    return str(inc)


def _extensions() -> list[Extension]:
    macros = [
        ("MEDIAOPT_DEBUG_BUILD", "1" if DEBUG else "0"),
        ("MEDIAOPT_CYTHON_VERSION", f'"{Cython.__version__}"'),
        ("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION"),
    ]
    if DEBUG:
        macros += [("CYTHON_TRACE", "1"), ("CYTHON_TRACE_NOGIL", "1")]
        cflags = ["-O0", "-g", "-UNDEBUG"]
    else:
        cflags = ["-O3"]
    if sys.platform == "win32":
        cflags = ["/Od", "/Zi"] if DEBUG else ["/O2"]
    exts = []
    for pyx in sorted(CORE_DIR.glob("*.pyx")):
        exts.append(
            Extension(
                f"mediaopt._core.{pyx.stem}",
                [str(pyx)],
                define_macros=macros,
                extra_compile_args=cflags,
            )
        )
    return exts


os.chdir(ROOT)
setup(
    package_dir={"mediaopt": "src/mediaopt", "mediaopt._core": "src/_core"},
    # every package under src/mediaopt, found automatically, plus the core mapped from src/_core
    packages=[*find_packages("src", include=["mediaopt", "mediaopt.*"]), "mediaopt._core"],
    package_data={
        "mediaopt": ["py.typed"],
        "mediaopt.traces": ["data/*"],
        "mediaopt.media": ["data/*"],
        "mediaopt._core": ["*.pyi", "*.pxd"],
        "mediaopt.policies": ["builtin/*.toml"],
    },
    ext_modules=cythonize(
        _extensions(),
        compiler_directives=DIRECTIVES,
        include_path=[_pxd_include_dir()],
        build_dir=str(BUILD_BASE / "cython"),
        nthreads=0,
        quiet=True,
    ),
    options={"build": {"build_base": str(BUILD_BASE)}},
    zip_safe=False,
)
