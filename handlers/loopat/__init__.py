"""loopat handlers: one module per route group, one function per operationId.

`lifespan` starts this worker's turn engine (handlers/loopat/engine.py) with the app.
"""

from handlers.loopat.engine import lifespan

__all__ = ["lifespan"]
