"""Management commands: runserver (through daphne) and runworker."""
