"""The generated REST compatibility layer: a table of operations turned into routes."""
