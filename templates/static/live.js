// Live updates over server-sent events. Everything from the server is set as
// text (textContent), never as HTML, so log lines and names cannot inject markup.
(() => {
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

  const list = document.querySelector('[data-live-orders]');
  if (list) {
    const source = new EventSource('/orders/live');
    source.addEventListener('status', (event) => {
      const update = JSON.parse(event.data);
      for (const badge of list.querySelectorAll('[data-order-status]')) {
        if (badge.dataset.orderStatus !== update.orderId) continue;
        badge.textContent = update.label;
        badge.className = `badge tone-${update.tone}`;
      }
    });
  }

  const page = document.querySelector('[data-order-page]');
  if (!page) return;
  const orderId = page.dataset.orderId;
  const flow = page.querySelector('[data-flow]');
  const steps = page.querySelector('[data-steps]');
  const statusCard = page.querySelector('[data-status-card]');
  const statusLabel = page.querySelector('[data-status-label]');
  const logList = page.querySelector('[data-log-lines]');
  const logService = page.querySelector('[data-log-service]');
  const timeline = page.querySelector('[data-timeline]');
  let service = page.dataset.service;
  let source;

  const showStatus = (update) => {
    statusLabel.textContent = update.label;
    statusCard.className = `card order-head tone-${update.tone}`;
    flow.dataset.stage = update.stage;
    steps.dataset.stage = update.stage;
    page.dataset.status = String(update.status);
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
  // The first push of a stream holds the latest lines; the ones after it only lines that are new.
  const showLogs = (update) => {
    if (update.service !== service) return;
    const items = update.rows.map((row) => {
      const li = el('li', `log-line level-${row.level}`);
      li.append(timeEl(row.time), el('span', 'log-level', row.level), el('span', 'log-msg', row.msg));
      if (row.details) li.append(el('span', 'log-details', row.details));
      return li;
    });
    if (update.append) {
      for (const empty of logList.querySelectorAll('.log-empty')) empty.remove();
      logList.append(...items);
      while (logList.children.length > MAX_LOG_LINES) logList.firstElementChild.remove();
    } else {
      if (items.length === 0) items.push(el('li', 'log-empty', 'No lines from this service about this order yet.'));
      logList.replaceChildren(...items);
    }
    logList.scrollTop = logList.scrollHeight;
  };

  const connect = () => {
    source?.close();
    source = new EventSource(`/orders/${encodeURIComponent(orderId)}/live?service=${encodeURIComponent(service)}`);
    source.addEventListener('status', (event) => showStatus(JSON.parse(event.data)));
    source.addEventListener('timeline', (event) => showTimeline(JSON.parse(event.data)));
    source.addEventListener('logs', (event) => showLogs(JSON.parse(event.data)));
    source.addEventListener('open', () => {
      page.dataset.live = 'on';
    });
  };

  for (const node of flow.querySelectorAll('.node[data-service]')) {
    node.addEventListener('click', (event) => {
      event.preventDefault();
      service = node.dataset.service;
      page.dataset.service = service;
      flow.dataset.service = service;
      logService.textContent = service;
      logList.replaceChildren(el('li', 'log-empty', 'Loading…'));
      history.replaceState(null, '', `?service=${encodeURIComponent(service)}#logs`);
      connect();
    });
  }
  connect();
})();
