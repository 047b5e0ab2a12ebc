"""The agent runtime shared by chat and workflows: the agent loop (`runtime`), the function tools
it runs (`tools`), the event streams it writes (`streams`) and the supervisor of running turns and
runs (`runs`); `directory` answers what the catalog offers."""
