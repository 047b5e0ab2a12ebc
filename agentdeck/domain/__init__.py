"""The platform's rules, one package per bounded context.

Each package is used by `agentdeck.schema` (the GraphQL face) and by the application's lifespan
(its workers); none imports the schema, the REST layer or the application. Below them all sit
`agentdeck.context` (the request context and the adapters in `Services`), `auth`, `providers`
and `db`. Between the packages the dependencies run one way (checked by `tests/platform/test_layers.py`):

    workflows -> chat -> agents -> files -> catalog
    billing -> identity -> common;  status -> identity
"""
