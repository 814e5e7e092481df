"""loopat handlers: one module per route group, one function per operationId."""
