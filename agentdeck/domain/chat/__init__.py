"""Conversations and chat turns: starting and streaming a turn (`turns`), the conversation
ledger, its listings and search (`conversations`)."""
