// Phoenix GitOps: the dashboard's buttons. The API token is asked once per browser session and kept in
// sessionStorage (never in a cookie or a URL); anything destructive is confirmed first.
const KEY = 'phoenix-api-token';
function token(ask) {
  let t = sessionStorage.getItem(KEY);
  if (!t || ask) {
    t = window.prompt('API token (kept in this browser tab only)') || '';
    if (t) sessionStorage.setItem(KEY, t);
  }
  return t;
}
async function act(path, body, confirmText) {
  const out = document.getElementById('result');
  if (confirmText && !window.confirm(confirmText)) { out.textContent = 'cancelled'; return; }
  const t = token(false);
  if (!t) { out.textContent = 'no token given: nothing was sent'; return; }
  out.textContent = 'sending...';
  const answer = await fetch(path, {method: 'POST', headers: {'Authorization': 'Bearer ' + t,
    'Content-Type': 'application/json'}, body: JSON.stringify(body || {})});
  let data = {};
  try { data = await answer.json(); } catch (e) { data = {}; }
  if (answer.status === 401 || answer.status === 403) {
    sessionStorage.removeItem(KEY);
    out.className = 'failed';
    out.textContent = 'refused: ' + (data.detail || answer.status) + ' (the token was forgotten; try again)';
    return;
  }
  out.className = answer.ok ? 'ok' : 'failed';
  out.textContent = (answer.ok ? 'accepted: ' : 'failed: ') + JSON.stringify(answer.ok ? data : (data.detail || data));
}
document.addEventListener('click', (e) => {
  const b = e.target.closest('button[data-path]');
  if (!b) return;
  const body = b.dataset.body ? JSON.parse(b.dataset.body) : {};
  if (b.dataset.restore && document.getElementById(b.dataset.restore).checked) body.restore_data = true;
  const confirmText = body.restore_data ? b.dataset.confirmData : b.dataset.confirm;
  act(b.dataset.path, body, confirmText);
});
