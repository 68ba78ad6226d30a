"""The Portainer driver: the only code that talks to the Portainer API (httpx).

`connection` (one authenticated client, errors translated at `errors`, retries in `retrying`),
`environments` and `stacks` (the routes), `compose` (the stack file as deployed), `reading` (live
state for the planner), `applying` (one stack action).
"""
