import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadSettings, type Settings, type SettingsFlags } from '../../src/config/settings.js';

/** Settings for the embedded bus in a fresh temporary data dir; call `cleanup` after. */
export function testSettings(flags: SettingsFlags = {}): { settings: Settings; dir: string; cleanup(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'pizza-test-'));
  const settings = loadSettings({ dataDir: dir, logDir: join(dir, 'logs'), port: '0', timeScale: '0', ...flags });
  return { settings, dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}
