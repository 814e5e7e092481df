"""pentapi's composition root: app factory, OpenAPI 3.1 support, errors, settings, CLI."""
