// The status page: plain DOM, no framework, no build step. The ops token lives only in this
// closure (never in a URL, cookie or storage) and is sent as an Authorization header.
'use strict';

(() => {
  const REFRESH_MS = 3000;
  let token = '';
  let signedIn = false;
  let timer;
  let inFlight = false;

  const $ = (id) => document.getElementById(id);

  /** An element with text content only: data from the bridge is never parsed as HTML. */
  function el(tag, attrs, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) if (v !== undefined && v !== null) e.setAttribute(k, String(v));
    for (const c of children) if (c !== undefined && c !== null) e.append(c instanceof Node ? c : String(c));
    return e;
  }

  const when = (iso) => (iso ? new Date(iso).toLocaleString() : '–');
  function ago(iso) {
    if (!iso) return '–';
    const s = Math.max(0, Math.round((Date.now() - Date.parse(iso)) / 1000));
    return s < 120 ? `${s} s ago` : s < 7200 ? `${Math.round(s / 60)} min ago` : `${Math.round(s / 3600)} h ago`;
  }
  function duration(seconds) {
    if (seconds === null || seconds === undefined) return 'unknown';
    if (seconds < 120) return `${Math.round(seconds)} s`;
    if (seconds < 7200) return `${Math.round(seconds / 60)} min`;
    return `${(seconds / 3600).toFixed(1)} h`;
  }

  function table(caption, headers, rows) {
    const t = el('table', {}, el('caption', { class: 'note' }, caption));
    t.append(el('thead', {}, el('tr', {}, ...headers.map((h) => el('th', { scope: 'col' }, h)))));
    const body = el('tbody');
    for (const r of rows) body.append(el('tr', {}, ...r.map((c) => el('td', {}, c ?? '–'))));
    t.append(body);
    return el('div', { class: 'table-wrap', tabindex: 0, role: 'region', 'aria-label': caption }, t);
  }

  async function api(path, init) {
    const res = await fetch(path, {
      ...init,
      cache: 'no-store',
      credentials: 'omit',
      headers: { ...(token && { authorization: `Bearer ${token}` }), ...(init && init.headers) },
    });
    if (res.status === 401) throw Object.assign(new Error('refused: the token is not valid (401)'), { auth: true });
    const body = await res.json().catch(() => ({}));
    if (!res.ok) throw new Error(body.error || `HTTP ${res.status}`);
    return body;
  }

  function stateClass(state) {
    return state === 'connected' ? 'ok' : state === 'connecting' || state === 'backoff' ? 'warn' : 'bad';
  }

  function renderSites(sites) {
    const root = $('sites');
    root.replaceChildren();
    if (sites.length === 0) root.append(el('p', { class: 'note' }, 'No site has an enabled ECM account.'));
    for (const s of sites) {
      const label = s.state === 'connected' ? 'connected' : `disconnected (${s.state})`;
      const card = el('article', { class: 'card', id: `site-${s.site}`, 'data-state': s.state });
      card.append(el('h3', {}, `Site ${s.site}: `, el('span', { class: stateClass(s.state) }, label)));
      const dl = el('dl');
      const row = (k, v) => dl.append(el('dt', {}, k), el('dd', {}, v ?? '–'));
      if (s.reason && s.state !== 'connected') row('Why', s.reason);
      row('ECM group position', s.role ? `${s.role}${s.group ? ` in group ${s.group}` : ''}` : '–');
      row('Connected since', s.connectedSince ? `${when(s.connectedSince)} (${ago(s.connectedSince)})` : '–');
      row('Requests, last hour', `${s.lastHour.answered} answered, ${s.lastHour.refused} refused`);
      card.append(dl);
      if (s.nodes.length > 0)
        card.append(
          table(
            `Nodes of site ${s.site}`,
            ['Node', 'Role', 'Healthy', 'Last data sync', 'Detail', 'Checked'],
            s.nodes.map((n) => [
              n.node,
              n.role,
              n.healthy ? 'yes' : 'no',
              when(n.lastDataSyncAt),
              n.detail,
              ago(n.checkedAt),
            ]),
          ),
        );
      root.append(card);
    }
  }

  function renderHealth(health) {
    const root = $('health');
    root.replaceChildren();
    for (const h of health)
      root.append(
        el(
          'li',
          { 'data-component': h.component },
          el('span', { class: h.ready ? 'ok' : 'bad' }, h.ready ? '✔ ' : '✖ '),
          el('strong', {}, h.component),
          `: ${h.reason}`,
        ),
      );
  }

  const SVG = 'http://www.w3.org/2000/svg';
  function svg(tag, attrs, text) {
    const e = document.createElementNS(SVG, tag);
    for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
    if (text !== undefined) e.textContent = text;
    return e;
  }

  /** Bars: sessions stored per pull (red when it failed); line: lag after each pull. Last 24 h. */
  function chart(site, pulls) {
    const W = 480,
      H = 120,
      P = 24;
    const end = Date.now(),
      start = end - 24 * 3600 * 1000;
    const x = (iso) => P + ((Date.parse(iso) - start) / (end - start)) * (W - 2 * P);
    const maxSessions = Math.max(1, ...pulls.map((p) => p.sessions));
    const maxLag = Math.max(1, ...pulls.map((p) => p.lagSeconds || 0));
    const failed = pulls.filter((p) => p.outcome !== 'ok').length;
    const desc = `${pulls.length} pull${pulls.length === 1 ? '' : 's'} in the last 24 h, ${failed} failed; most sessions in one pull ${maxSessions === 1 && !pulls.some((p) => p.sessions) ? 0 : maxSessions}; largest lag ${duration(maxLag)}.`;
    const s = svg('svg', {
      class: 'chart',
      viewBox: `0 0 ${W} ${H}`,
      role: 'img',
      'aria-label': `Reporting pulls of site ${site}: ${desc}`,
    });
    s.append(svg('title', {}, `Reporting pulls of site ${site}`));
    for (const p of pulls) {
      const h = Math.max(1, (p.sessions / maxSessions) * (H - 2 * P));
      s.append(
        svg('rect', {
          class: p.outcome === 'ok' ? 'bar' : 'bar failed',
          x: x(p.at) - 1,
          y: H - P - h,
          width: 2,
          height: h,
        }),
      );
    }
    const lagPoints = pulls
      .filter((p) => p.lagSeconds !== null)
      .map((p) => `${x(p.at)},${H - P - (p.lagSeconds / maxLag) * (H - 2 * P)}`);
    if (lagPoints.length > 1) s.append(svg('polyline', { class: 'lag', points: lagPoints.join(' ') }));
    s.append(svg('text', { x: P, y: H - 6 }, '24 h ago'), svg('text', { x: W - P - 20, y: H - 6 }, 'now'));
    s.append(
      svg('text', { x: P, y: 14 }, `bars: sessions per pull (max ${maxSessions}); line: lag (max ${duration(maxLag)})`),
    );
    return el('figure', {}, s, el('figcaption', { class: 'note' }, desc));
  }

  function renderReporting(entries) {
    const root = $('reporting');
    root.replaceChildren();
    if (entries.length === 0)
      root.append(el('p', { class: 'note' }, 'Reporting is off or no site has a reporting account.'));
    for (const r of entries) {
      const card = el('article', { class: 'card', id: `reporting-${r.site}` });
      card.append(el('h3', {}, `Site ${r.site}: lag ${duration(r.lagSeconds)}`));
      card.append(el('p', {}, `Last successful pull: ${when(r.lastSuccessAt)}`));
      if (r.lastError) card.append(el('p', { class: 'bad' }, `Last pull failed: ${r.lastError}`));
      card.append(chart(r.site, r.pulls));
      root.append(card);
    }
  }

  function renderLeases(leases) {
    const root = $('leases');
    root.replaceChildren();
    if (leases.error) return root.append(el('p', { class: 'bad' }, leases.error));
    root.append(
      el(
        'p',
        { id: 'lease-count' },
        `${leases.total} checked out${leases.total > leases.shown.length ? ` (first ${leases.shown.length} shown)` : ''}`,
      ),
    );
    if (leases.shown.length > 0)
      root.append(
        table(
          'Leases, soonest expiry first',
          ['Console user', 'Vault user', 'System / account', 'Site', 'Session (lsid)', 'Checked out', 'Expires'],
          leases.shown.map((l) => [
            l.consoleUser,
            l.vaultUser,
            `${l.systemName} / ${l.accountName}`,
            l.site,
            l.lsid,
            when(l.checkedOutAt),
            when(l.expiresAt),
          ]),
        ),
      );
  }

  function renderEvents(events) {
    const root = $('events');
    root.replaceChildren();
    if (events.error) return root.append(el('p', { class: 'bad' }, events.error));
    if (events.length === 0) return root.append(el('p', { class: 'note' }, 'No credential events yet.'));
    root.append(
      table(
        'Credential audit events, newest first',
        [
          '#',
          'Outcome',
          'Console user',
          'Vault user',
          'System / account',
          'Session (lsid)',
          'Checked out',
          'Checked in',
        ],
        events.map((e) => [
          e.id,
          e.errorCode ? `${e.outcome} (${e.errorCode})` : e.outcome,
          e.consoleUser,
          e.vaultUser,
          e.systemName ? `${e.systemName} / ${e.accountName || '–'}` : null,
          e.lsid,
          when(e.checkoutAt),
          when(e.checkinAt),
        ]),
      ),
    );
  }

  function renderQuarantine(q) {
    const root = $('quarantine');
    root.replaceChildren();
    if (q.error) return root.append(el('p', { class: 'bad' }, q.error));
    if (q.total === 0) return root.append(el('p', { class: 'note' }, 'No session was refused.'));
    root.append(
      el(
        'p',
        { id: 'quarantine-count', class: 'bad' },
        `${q.total} session(s) refused by validation, not stored${q.total > q.shown.length ? ` (last ${q.shown.length} shown)` : ''}; see the runbook "Quarantined session"`,
      ),
    );
    root.append(
      table(
        'Quarantined sessions, last seen first',
        ['Site', 'Session (lsid as reported)', 'Reason', 'Detail', 'Window', 'First seen', 'Last seen'],
        q.shown.map((e) => [e.site, e.lsid, e.reason, e.detail, e.window, when(e.firstSeenAt), when(e.lastSeenAt)]),
      ),
    );
  }

  function renderMissingRecordings(m) {
    const root = $('missing-recordings');
    root.replaceChildren();
    if (m.error) return root.append(el('p', { class: 'bad' }, m.error));
    if (m.total === 0) return root.append(el('p', { class: 'note' }, 'Every recording was fetched.'));
    root.append(
      el(
        'p',
        { id: 'missing-count', class: 'bad' },
        `${m.total} recording file(s) not fetched yet, retried with backoff${m.total > m.shown.length ? ` (first ${m.shown.length} due shown)` : ''}; see the runbook "Missing recordings"`,
      ),
    );
    root.append(
      table(
        'Recordings owed, soonest retry first',
        ['Site', 'File', 'Node', 'Attempts', 'Last error', 'Next try', 'Owed since'],
        m.shown.map((e) => [
          e.site,
          e.recording,
          e.node,
          String(e.attempts),
          `[${e.lastCode}] ${e.lastError}`,
          when(e.nextTryAt),
          when(e.firstFailedAt),
        ]),
      ),
    );
  }

  async function refresh() {
    if (!signedIn || inFlight) return;
    inFlight = true;
    try {
      const o = await api('/status/api/overview');
      $('auth-error').textContent = '';
      $('data').hidden = false;
      $('token-section').hidden = true;
      // Nothing to forget when the bridge asked for no token.
      $('forget').hidden = token === '';
      const down = o.sites.filter((s) => s.state !== 'connected').length + o.health.filter((h) => !h.ready).length;
      $('summary').textContent =
        `${o.ready ? 'Ready' : 'Not ready'}${down ? ` (${down} problem${down > 1 ? 's' : ''})` : ''}; updated ${new Date(o.generatedAt).toLocaleTimeString()}`;
      renderSites(o.sites);
      renderHealth(o.health);
      renderReporting(o.reporting);
      renderLeases(o.leases);
      renderEvents(o.events);
      renderQuarantine(o.quarantine);
      renderMissingRecordings(o.missingRecordings);
    } catch (e) {
      if (e.auth) signOut(e.message);
      else $('summary').textContent = `Cannot read the status: ${e.message}`;
    } finally {
      inFlight = false;
    }
  }

  function signOut(message) {
    token = '';
    signedIn = false;
    clearInterval(timer);
    $('forget').hidden = true;
    $('data').hidden = true;
    $('token-section').hidden = false;
    $('auth-error').textContent = message || '';
    $('summary').textContent = 'Enter the ops token to see the bridge.';
    $('token').focus();
  }

  async function testSettings(ev) {
    ev.preventDefault();
    const form = ev.target;
    const out = $('ts-result');
    const value = (name) => form.elements[name].value.trim();
    const body = { user: value('user'), endpoint: value('endpoint') };
    for (const k of ['provider', 'jumpGroup']) if (value(k)) body[k] = value(k);
    if (form.elements.draftYaml.value.trim()) body.draftYaml = form.elements.draftYaml.value;
    $('ts-run').disabled = true;
    out.replaceChildren(el('p', {}, 'Running…'));
    try {
      const r = await api('/status/api/test-settings', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      if (r.kind === 'invalid') {
        out.replaceChildren(
          el('p', { class: 'bad', id: 'ts-verdict' }, `The draft is invalid (${r.problems.length} problem(s)):`),
          el('ul', {}, ...r.problems.map((p) => el('li', {}, p))),
        );
        return;
      }
      const parts = [
        el('p', { class: r.ok ? 'ok' : 'bad', id: 'ts-verdict' }, `${r.verdict} (${r.config} configuration)`),
      ];
      if (r.offered.length > 0)
        parts.push(
          el('h3', {}, 'Credentials the console would be offered'),
          el(
            'ol',
            { id: 'ts-offered' },
            ...r.offered.map((o) => el('li', {}, `${o.displayName} (${o.source}, ${o.kind})`)),
          ),
        );
      parts.push(el('h3', {}, 'Explanation'), el('pre', { tabindex: 0 }, r.text));
      out.replaceChildren(...parts);
    } catch (e) {
      if (e.auth) signOut(e.message);
      out.replaceChildren(el('p', { class: 'bad', id: 'ts-verdict' }, `Test Settings failed: ${e.message}`));
    } finally {
      $('ts-run').disabled = false;
    }
  }

  document.addEventListener('DOMContentLoaded', () => {
    $('token-form').addEventListener('submit', (ev) => {
      ev.preventDefault();
      token = $('token').value;
      signedIn = true;
      $('token').value = '';
      clearInterval(timer);
      timer = setInterval(refresh, REFRESH_MS);
      void refresh();
    });
    $('forget').addEventListener('click', () => signOut(''));
    $('test-form').addEventListener('submit', testSettings);
    // Try without a token first: a bridge with no http.auth.token (on loopback) shows its status
    // at once; one that needs a token answers 401 and the sign-in form appears.
    $('token-section').hidden = true;
    $('summary').textContent = 'Loading…';
    signedIn = true;
    timer = setInterval(refresh, REFRESH_MS);
    void refresh();
  });
})();
