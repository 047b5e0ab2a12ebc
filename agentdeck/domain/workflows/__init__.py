"""Workflows over agents: starting, following and cancelling runs (`runs`) and the engine that
executes a run's stages and steps (`runner`)."""
