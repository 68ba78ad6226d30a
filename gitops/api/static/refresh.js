// Phoenix GitOps: the dashboard refreshes its tables every 5 seconds (a shown result stays).
setInterval(async () => {
  try {
    const answer = await fetch(window.location.pathname, {headers: {'Accept': 'text/html'}});
    if (!answer.ok) return;
    const fresh = new DOMParser().parseFromString(await answer.text(), 'text/html');
    for (const id of ['status', 'revisions', 'runs', 'resources', 'events']) {
      const now = document.getElementById(id), next = fresh.getElementById(id);
      if (now && next) now.innerHTML = next.innerHTML;
    }
  } catch (e) { /* the controller restarting: try again next time */ }
}, 5000);
