import { describe, expect, it } from 'vitest';
import { logRows } from '../../../src/adapters/http/presenters.js';

describe('log rows shown to customers', () => {
  it('show an error’s message but not its stack trace', () => {
    const [row] = logRows([
      {
        time: 1_700_000_000_000,
        level: 40,
        role: 'bake',
        msg: 'handler failed; retrying',
        orderId: '0000abcd',
        attempt: 2,
        err: {
          type: 'Error',
          message: 'broker down',
          stack: 'Error: broker down\n    at /srv/pizza/dist/roles/bake.js:10:5',
        },
      },
    ]);
    expect(row?.level).toBe('warn');
    expect(row?.details).toContain('attempt=2');
    expect(row?.details).toContain('broker down');
    expect(row?.details).not.toContain('/srv/pizza');
  });
});
