"""The HTTP API (layer 1): FastAPI routes over the ledger, the controller's trigger port, the dashboard.

    app         create_app(store, controller, settings): the routes of ARCHITECTURE.md
    auth        bearer-token check of the write routes
    metrics     Prometheus metrics, computed from the ledger at each scrape
    dashboard   the HTML page at `/`

Started by the CLI's `serve`. The API reads the store and enqueues triggers; it never calls a driver.
"""
