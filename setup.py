"""Build script: maps the top-level folders onto the ``kubeprop`` package and
compiles the optional Cython cores.

Every compiled module has a pure-Python twin beside it, so the build never
needs a compiler: without Cython, without a C compiler, or with
``KUBEPROP_NO_EXTENSIONS=1`` the package installs pure Python only.
"""

import os
import sys

from setuptools import find_packages, setup
from setuptools.command.build_ext import build_ext

# The top-level folder that holds each subpackage of ``kubeprop``.
PACKAGE_DIRS = {
    "kubeprop": "kubeprop",
    "kubeprop.spec": "spec",
    "kubeprop.reference": "reference",
    "kubeprop.conformance": "conformance",
}

# (module name, .pyx source): each has a pure twin named in its __init__.
EXTENSIONS = [
    ("kubeprop.reference.store._keyrange", "reference/store/_keyrange.pyx"),
    ("kubeprop.reference.scheduler.core._kernels", "reference/scheduler/core/_kernels.pyx"),
]


def packages():
    found = []
    for package, folder in PACKAGE_DIRS.items():
        found.append(package)
        found.extend(f"{package}.{sub}" for sub in find_packages(folder))
    return sorted(set(found))


def extensions():
    if os.environ.get("KUBEPROP_NO_EXTENSIONS") == "1":
        return []
    try:
        from Cython.Build import cythonize
        from setuptools import Extension
    except ImportError:
        return []
    modules = [
        # -O3 turns on GCC's loop vectoriser; no -ffast-math (results must stay IEEE,
        # identical to the pure twin's) and no -march=native (the wheel must run anywhere).
        Extension(name, [source], extra_compile_args=["-O3", "-ftree-vectorize"])
        for name, source in EXTENSIONS
        if os.path.exists(source)
    ]
    return cythonize(modules, language_level=3, quiet=True)


class OptionalBuildExt(build_ext):
    """Build the Cython cores when possible; keep going without them."""

    def run(self):
        try:
            super().run()
        except Exception as error:  # no compiler, missing headers, ...
            print(f"kubeprop: building without extensions ({error})", file=sys.stderr)

    def build_extension(self, ext):
        try:
            super().build_extension(ext)
        except Exception as error:
            print(f"kubeprop: {ext.name} stays pure Python ({error})", file=sys.stderr)


setup(
    package_dir=PACKAGE_DIRS,
    packages=packages(),
    package_data={
        "kubeprop.spec": ["*.md"],
        "kubeprop.reference.store": ["*.pyx", "*.pxd"],
        "kubeprop.reference.scheduler.core": ["*.pyx"],
    },
    ext_modules=extensions(),
    cmdclass={"build_ext": OptionalBuildExt},
)
