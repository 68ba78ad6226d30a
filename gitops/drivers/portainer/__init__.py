"""The Portainer driver (httpx): the only code that talks to Portainer's API (basePath `/api`)."""
