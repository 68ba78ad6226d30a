"""The systems a run converges: the `Drivers` registry (system name -> driver) built from settings.

Called by the reconcile's connect step (`gitops.controller.steps.connect`), the CLI's `plan`/`apply` and
the benchmarks. Proxmox is always there (its client comes from the caller, so tests can inject one);
every other system registers a factory in `EXTRA_SYSTEMS` that returns its driver when its settings
are given, or None when the system is not configured. Nothing else in the controller names a system.
"""

from __future__ import annotations

from collections.abc import Callable

from gitops.config.secretrefs import SecretResolver
from gitops.drivers.guests import driver as guests_driver
from gitops.drivers.portainer import driver as portainer_driver
from gitops.drivers.proxmox.connection import ProxmoxClient
from gitops.drivers.proxmox.driver import ProxmoxDriver
from gitops.drivers.seam import CancelToken, Driver, Drivers
from gitops.planner.plan import PROXMOX
from gitops.settings import Settings

# settings -> the system's driver (connected), or None when its settings are absent. A new system appends
# its factory here, e.g. `gitops.drivers.portainer.driver.from_settings`.
EXTRA_SYSTEMS: list[Callable[[Settings], Driver | None]] = [guests_driver.from_settings,
                                                              portainer_driver.from_settings]


def drivers_for(settings: Settings, client: ProxmoxClient, *, cancel: CancelToken | None = None,
                extra: bool = True) -> Drivers:
    """The registry of one run: Proxmox around `client`, then every configured extra system. On an
    error connecting one of them, the ones already connected are closed."""
    drivers = Drivers(cancel=cancel or CancelToken(), secrets=SecretResolver(settings.secrets_dir))
    drivers.register(ProxmoxDriver(client, concurrency=settings.pve_concurrency,
                                   source_address=settings.pve_source_address, state_dir=settings.state_folder))
    if not extra:
        return drivers
    try:
        for factory in EXTRA_SYSTEMS:
            driver = factory(settings)
            if driver is not None:
                drivers.register(driver)
    except BaseException:
        drivers.close()
        raise
    return drivers


def proxmox(drivers: Drivers) -> ProxmoxDriver:
    """The Proxmox driver of a registry (every run has one)."""
    driver = drivers.get(PROXMOX)
    if not isinstance(driver, ProxmoxDriver):
        raise TypeError("no Proxmox driver registered")
    return driver
