"""The HTTP API (layer 1): FastAPI routes over the ledger, the controller's trigger port, the dashboard.

    app         create_app(store, controller, settings): the app of ARCHITECTURE.md's routes
    context     the parts every route shares (`Api`), the read and write guards, error answers
    routes/     one APIRouter per concern (see its docstring)
    models      the answers as pydantic models (OpenAPI shows each one's schema)
    views       the dashboard's pages from the Jinja2 templates of templates/ (autoescaped);
                static/ holds their style sheet and scripts
    auth        the bearer-token checks and the dashboard's session cookie
    metrics     Prometheus metrics, computed from the ledger at each scrape
    readmodel   answers kept in memory until something changes
    limits      body size and read-time limits (413, 408)
    serving     the uvicorn configuration of `serve` and `demo`

Started by the CLI's `serve`. The API reads the store and enqueues triggers; it never calls a driver.
"""
