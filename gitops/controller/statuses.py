"""Deploy statuses: after each revision of the followed branch, a commit status on it on the forge.

An outbox consumer (`gitops.controller.outbox`): it wants the events that end a revision (`applied`,
`failed`, `rejected`, `rolled_back`) and sets the status `phoenix-gitops/deploy` on that commit of
`PHOENIX_FORGE_REPO`, linked to the revision page, so the forge shows what is deployed. Retries are
the outbox's (a forge that is down delays statuses; it never blocks the reconcile).
"""

from __future__ import annotations

from gitops import errors
from gitops.forges import CommitState, CommitStatus, ForgeClient
from gitops.notify import Notification

DEPLOY_STATES = {"applied": CommitState.success, "failed": CommitState.failure,
                 "rejected": CommitState.failure, "rolled_back": CommitState.error}
WORDS = {"applied": "applied to the estate", "failed": "apply failed", "rejected": "rejected: invalid, never applied",
         "rolled_back": "rolled back"}


class DeployStatuses:
    def __init__(self, forge: ForgeClient, repo: str, context: str) -> None:
        if not repo:
            raise errors.SettingsError("deploy statuses need PHOENIX_FORGE_REPO (owner/name or group/project)")
        self.forge = forge
        self.repo = repo
        self.context = f"{context}/deploy"
        self.label = f"deploy statuses on {forge.kind}:{repo}"
        self.consumer = f"forge:deploy:{forge.kind}:{repo}"[:128]

    def wants(self, kind: str) -> bool:
        return kind in DEPLOY_STATES

    def send(self, notification: Notification) -> None:
        if not notification.revision:
            return
        description = f"{WORDS[notification.kind]}: {notification.message}"
        self.forge.set_status(self.repo, notification.revision,
                              CommitStatus(DEPLOY_STATES[notification.kind], self.context, description,
                                           notification.url))
