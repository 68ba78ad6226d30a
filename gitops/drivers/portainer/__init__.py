"""The Portainer driver (httpx): the only code that talks to Portainer's API (basePath `/api`).

`connection` (one authenticated client, errors translated at `errors`, retries in `retrying`),
`environments` and `stacks` (the routes), `compose` (the stack file as deployed), `reading` (live
state for the planner), `applying` (one planned call), `driver` (`PortainerDriver` behind the seam),
`probing` (reach Portainer and check its credentials, for `phoenix-gitops check`).
"""
