// Phoenix GitOps: live updates. The server's event stream (GET /api/v1/live, fed by the ledger's events)
// says when something changed; the page then fetches itself once and swaps the parts named in
// <body data-live>. EventSource reconnects by itself and resumes after the last event id it saw
// (Last-Event-ID); the first connection starts after the newest event the page was rendered with.
(() => {
  const ids = (document.body.dataset.live || '').split(' ').filter(Boolean);
  const badge = document.getElementById('live');
  if (!ids.length || !window.EventSource) return;
  let timer = null, busy = false, again = false;
  async function refresh() {
    if (busy) { again = true; return; }
    busy = true;
    try {
      const answer = await fetch(window.location.pathname + window.location.search, {headers: {'Accept': 'text/html'}});
      if (answer.ok) {
        const fresh = new DOMParser().parseFromString(await answer.text(), 'text/html');
        for (const id of ids) {
          const now = document.getElementById(id), next = fresh.getElementById(id);
          if (now && next && now.innerHTML !== next.innerHTML) now.innerHTML = next.innerHTML;
        }
        document.dispatchEvent(new CustomEvent('phoenix:refreshed'));
      }
    } catch (e) { /* the controller restarting: the stream reconnects and asks again */ }
    busy = false;
    if (again) { again = false; refresh(); }
  }
  function soon() { clearTimeout(timer); timer = setTimeout(refresh, 30); }
  const after = document.body.dataset.after;
  const source = new EventSource('/api/v1/live' + (after ? '?after=' + encodeURIComponent(after) : ''));
  for (const kind of ['ledger', 'state', 'reset']) source.addEventListener(kind, soon);
  source.onopen = () => { if (badge) { badge.textContent = 'live'; badge.className = 'ok'; } };
  source.onerror = () => { if (badge) { badge.textContent = 'reconnecting'; badge.className = 'pending'; } };
})();
