"""The optional C scanner of the DSN validator (everything else is in pyproject.toml).

``optional=True``: without a C compiler the install still succeeds and dsnlink checks files
with its pure-Python path (see docs/norme.md).
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "dsnlink.norme._speedups",
            ["src/dsnlink/norme/_speedups.c"],
            extra_compile_args=["-std=c99", "-O2"],
            optional=True,
        )
    ]
)
