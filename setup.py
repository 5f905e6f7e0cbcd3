# Metadata lives in setup.cfg; this file only lets older pip versions install in editable mode.
from setuptools import setup

setup()
