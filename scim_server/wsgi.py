"""The WSGI entry point gunicorn loads."""

import gc

from .app import create_app

app = create_app()

# What start-up built (modules, schemas, compiled statements) lives as long as the worker.
# Frozen, it is out of the cyclic collector's sight: a full collection walks only what
# requests leave behind, instead of 50 ms over the whole heap every few thousand requests.
gc.freeze()
