// Live updates: server-sent events while the tab is visible and the order is
// not finished, with polling of a small JSON state when no stream can be had.
// Everything from the server is set as text (textContent), never as HTML, so
// log lines and names cannot inject markup.
(() => {
  /**
   * Live streams one browser keeps open across all its tabs of this shop. A
   * browser opens 6 HTTP/1.1 connections per site; each stream holds one for
   * as long as it lives, so 4 leave room for pages, forms and polls.
   */
  const STREAM_SLOTS = 4;
  const POLL_MS = 3000;
  /** How long a page that polls (no free slot, or refused) waits before trying a stream again. */
  const STREAM_RETRY_MS = 20000;
  const RECONNECTING = 'Reconnecting… what you see may be out of date.';
  const POLLING = 'Checking for news every few seconds.';

  const pad = (n, width = 2) => String(n).padStart(width, '0');
  const clockTime = (iso) => {
    const d = new Date(iso);
    if (Number.isNaN(d.getTime())) return iso;
    return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
  };
  const el = (tag, className, text) => {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  };
  const timeEl = (iso) => {
    const node = el('time', '', clockTime(iso));
    node.dateTime = iso;
    return node;
  };
  const localizeTimes = (root) => {
    for (const node of root.querySelectorAll('time[datetime]')) {
      node.textContent = node.closest('.order-row')
        ? new Date(node.dateTime).toLocaleString()
        : clockTime(node.dateTime);
    }
  };
  localizeTimes(document);

  /**
   * Takes one of the browser's stream slots (Web Locks are shared by every tab
   * of the origin and let go when a tab closes or crashes); null when all are
   * taken. Without Web Locks (a page on plain http from another machine) each
   * tab streams on its own.
   */
  const takeSlot = async () => {
    if (!navigator.locks) return () => {};
    for (let slot = 0; slot < STREAM_SLOTS; slot += 1) {
      const release = await new Promise((resolve) => {
        navigator.locks
          .request(`pizza-live-stream-${slot}`, { ifAvailable: true }, (lock) => {
            if (!lock) {
              resolve(null);
              return undefined;
            }
            return new Promise((done) => resolve(done));
          })
          .catch(() => resolve(null));
      });
      if (release) return release;
    }
    return null;
  };

  /**
   * Keeps one page up to date: a stream while visible, polling when no stream
   * can be had, nothing while hidden or once finished. `mode` is on the page
   * as data-live (stream, polling, reconnecting, paused, done).
   */
  const keepLive = ({ root, stateEl, streamUrl, stateUrl, onEvent, onState, isDone }) => {
    let source;
    let release;
    let pollTimer;
    let retryStreamAt = 0;
    let mode = '';
    /** A finished order is polled once more, for log lines that trail the status. */
    let lastPollDone = false;

    const setMode = (next) => {
      mode = next;
      root.dataset.live = next;
      const text = next === 'reconnecting' ? RECONNECTING : next === 'polling' ? POLLING : '';
      if (stateEl && stateEl.textContent !== text) stateEl.textContent = text;
      if (stateEl) stateEl.classList.toggle('is-polling', next === 'polling');
    };
    const closeStream = () => {
      source?.close();
      source = undefined;
      release?.();
      release = undefined;
    };
    const stopPolling = () => {
      clearTimeout(pollTimer);
      pollTimer = undefined;
    };
    const stop = (next) => {
      closeStream();
      stopPolling();
      setMode(next);
    };

    const openStream = () => {
      source = new EventSource(streamUrl());
      source.addEventListener('open', () => setMode('stream'));
      for (const name of ['hello', 'status', 'timeline', 'logs', 'end']) {
        source.addEventListener(name, (event) => {
          if (name === 'end') {
            stop('done');
            return;
          }
          // A finished order's stream lingers a moment for late log lines, then the server sends `end`.
          onEvent(name, JSON.parse(event.data), event.lastEventId);
        });
      }
      source.addEventListener('error', () => {
        if (!source) return;
        // CONNECTING: the browser retries by itself and resumes from the last event id.
        if (source.readyState !== EventSource.CLOSED) {
          setMode('reconnecting');
          return;
        }
        // Closed for good: refused (too many streams), or the server answered with an error. Poll instead.
        closeStream();
        retryStreamAt = Date.now() + STREAM_RETRY_MS;
        poll();
      });
    };

    const poll = async () => {
      stopPolling();
      if (document.hidden || lastPollDone) return;
      if (Date.now() >= retryStreamAt && !isDone()) {
        const slot = await takeSlot();
        if (document.hidden || isDone() || source) {
          slot?.();
          return;
        }
        if (slot) {
          release = slot;
          if (mode !== 'reconnecting') setMode('connecting');
          openStream();
          return;
        }
      }
      try {
        const response = await fetch(stateUrl(), { headers: { accept: 'application/json' }, cache: 'no-store' });
        if (!response.ok) throw new Error(`state: HTTP ${response.status}`);
        onState(await response.json());
        if (source) return;
        setMode('polling');
      } catch {
        setMode('reconnecting');
      }
      if (isDone()) {
        if (mode !== 'polling') return stop('done');
        lastPollDone = true;
      }
      pollTimer = setTimeout(() => (lastPollDone ? stop('done') : poll()), POLL_MS);
    };

    const start = () => {
      if (isDone()) return stop('done');
      if (document.hidden) return stop('paused');
      if (source || pollTimer) return;
      retryStreamAt = 0;
      void poll();
    };

    // A hidden tab gives its connection back; it catches up from its last event id when seen again.
    document.addEventListener('visibilitychange', () => {
      if (document.hidden) stop(isDone() ? 'done' : 'paused');
      else start();
    });
    window.addEventListener('pagehide', () => stop(isDone() ? 'done' : 'paused'));
    window.addEventListener('pageshow', (event) => {
      if (event.persisted) start();
    });
    start();
    return {
      /** Reopens the stream (a new service's lines), keeping the slot. */
      restart() {
        if (isDone() || document.hidden) return;
        if (source && release) {
          source.close();
          openStream();
        } else {
          stopPolling();
          void poll();
        }
      },
    };
  };

  const list = document.querySelector('[data-live-orders]');
  if (list) {
    const badges = () => [...list.querySelectorAll('[data-order-status]')];
    let lastId = '';
    const showOrder = (update) => {
      for (const badge of badges()) {
        if (badge.dataset.orderStatus !== update.orderId) continue;
        badge.textContent = update.label;
        badge.className = `badge tone-${update.tone}`;
        badge.dataset.complete = String(update.complete);
      }
    };
    keepLive({
      root: list,
      stateEl: document.querySelector('[data-live-state]'),
      streamUrl: () => `/orders/live${lastId ? `?last=${encodeURIComponent(lastId)}` : ''}`,
      stateUrl: () => '/orders/state.json',
      onEvent: (name, data, id) => {
        if (id) lastId = id;
        if (name === 'status') showOrder(data);
      },
      onState: (state) => {
        for (const order of state.orders) showOrder(order);
      },
      isDone: () => badges().every((badge) => badge.dataset.complete === 'true'),
    });
  }

  const page = document.querySelector('[data-order-page]');
  if (!page) return;
  const orderId = page.dataset.orderId;
  const flows = [...page.querySelectorAll('[data-flow]')];
  const steps = page.querySelector('[data-steps]');
  const statusCard = page.querySelector('[data-status-card]');
  const statusLabel = page.querySelector('[data-status-label]');
  const logList = page.querySelector('[data-log-lines]');
  const logService = page.querySelector('[data-log-service]');
  const timeline = page.querySelector('[data-timeline]');
  let service = page.dataset.service;
  /** `view.statusSeq.logSeq`: what this page has seen, in the numbers of the view that sent it. */
  let cursor = page.dataset.cursor || '';

  const showStatus = (update) => {
    if (statusLabel.textContent !== update.label) statusLabel.textContent = update.label;
    statusCard.className = `card order-head tone-${update.tone}`;
    for (const flow of flows) flow.dataset.stage = update.stage;
    steps.dataset.stage = update.stage;
    page.dataset.status = String(update.status);
    page.dataset.complete = String(update.complete);
  };
  const showTimeline = (rows) => {
    const body = rows.map((row) => {
      const tr = el('tr');
      const time = el('td');
      time.append(timeEl(row.time));
      const topic = el('td');
      topic.append(el('code', '', row.topic));
      const status = el('td');
      status.append(el('span', 'status-code', String(row.status)), ` ${row.label}`);
      tr.append(time, topic, el('td', '', String(row.partition)), el('td', '', row.offset), status);
      return tr;
    });
    if (body.length === 0) {
      const tr = el('tr', 'empty');
      const td = el('td', '', 'No events seen yet.');
      td.colSpan = 5;
      tr.append(td);
      body.push(tr);
    }
    timeline.replaceChildren(...body);
  };
  /** Most lines a page keeps; older ones scroll away. */
  const MAX_LOG_LINES = 500;
  // A first push holds the latest lines; the ones after it only lines that are new.
  const showLogs = (update) => {
    if (update.service !== service) return;
    const items = update.rows.map((row) => {
      const li = el('li', `log-line level-${row.level}`);
      li.append(timeEl(row.time), el('span', 'log-msg', row.msg));
      return li;
    });
    if (update.append) {
      for (const empty of logList.querySelectorAll('.log-empty')) empty.remove();
      logList.append(...items);
      while (logList.children.length > MAX_LOG_LINES) logList.firstElementChild.remove();
    } else {
      if (items.length === 0) items.push(el('li', 'log-empty', 'Nothing from this service about your order yet.'));
      logList.replaceChildren(...items);
    }
    logList.scrollTop = logList.scrollHeight;
  };
  const viewOf = (id) => String(id).split('.')[0];
  const query = () => `service=${encodeURIComponent(service)}${cursor ? `&last=${encodeURIComponent(cursor)}` : ''}`;

  const live = keepLive({
    root: page,
    stateEl: page.querySelector('[data-live-state]'),
    streamUrl: () => `/orders/${encodeURIComponent(orderId)}/live?${query()}`,
    stateUrl: () => `/orders/${encodeURIComponent(orderId)}/state.json?${query()}`,
    onEvent: (name, data, id) => {
      if (id) cursor = id;
      // Another view (another host, or this one restarted): what follows replaces the page's state as a whole.
      if (name === 'hello') page.dataset.viewId = data.viewId;
      else if (name === 'status') showStatus(data);
      else if (name === 'timeline') showTimeline(data);
      else if (name === 'logs') showLogs(data);
    },
    onState: (state) => {
      cursor = state.id;
      page.dataset.viewId = viewOf(state.id);
      showStatus(state.status);
      showTimeline(state.timeline);
      if (state.logs) showLogs(state.logs);
    },
    isDone: () => page.dataset.complete === 'true',
  });

  for (const flow of flows) {
    for (const node of flow.querySelectorAll('.node[data-service]')) {
      node.addEventListener('click', (event) => {
        event.preventDefault();
        service = node.dataset.service;
        page.dataset.service = service;
        for (const each of flows) each.dataset.service = service;
        logService.textContent = service;
        logList.replaceChildren(el('li', 'log-empty', 'Loading…'));
        history.replaceState(null, '', `?service=${encodeURIComponent(service)}#logs`);
        // The new service's lines start from its latest ones.
        cursor = cursor ? cursor.replace(/\.\d+$/, '.0') : '';
        if (page.dataset.complete === 'true') {
          fetch(`/orders/${encodeURIComponent(orderId)}/state.json?${query()}`, { cache: 'no-store' })
            .then((response) => (response.ok ? response.json() : undefined))
            .then((state) => state?.logs && showLogs(state.logs))
            .catch(() => undefined);
        } else {
          live.restart();
        }
      });
    }
  }
})();
