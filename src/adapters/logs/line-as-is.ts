import { ORDER_ID_PATTERN } from '../../domain/order.js';
import { MAX_FIELD_CHARS, MAX_FIELDS, MAX_MSG_CHARS, MAX_ROLE_CHARS } from './order-log-line.js';

const QUOTE = 0x22;
const COMMA = 0x2c;
const COLON = 0x3a;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const BACKSLASH = 0x5c;
const NEWLINE = 0x0a;
const SPACE = 0x20;
/** A JSON number, true, false or null: what a flat field holds besides a string. */
const SCALAR = /^(?:-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?|true|false|null)$/;
const INFO_LEVEL = 30;

/**
 * Keys the long way treats apart: left out (`pid`, `hostname`, `stack`), lines
 * not published (`component`), a key JSON.parse and a plain object disagree on.
 */
const APART = new Set(['component', 'stack', 'pid', 'hostname', '__proto__']);

/**
 * Where a string that starts after its opening quote at `from` ends (its
 * closing quote), or -1: it holds an escape, a control character or a
 * surrogate, or does not end.
 */
function plainStringEnd(line: string, from: number, end: number): number {
  for (let index = from; index < end; index += 1) {
    const code = line.charCodeAt(index);
    if (code === QUOTE) return index;
    // Escapes and surrogates take the long way: JSON.parse and JSON.stringify would write them otherwise.
    if (code === BACKSLASH || code < SPACE || (code & 0xf800) === 0xd800) return -1;
  }
  return -1;
}

/**
 * A serialized pino line (one JSON object, a newline after it) as a line of a
 * log-topic batch, unchanged, when decoding it gives exactly what the long way
 * (JSON.parse, `orderLogRecord`, JSON.stringify) would have published; else
 * undefined, and the sink takes the long way. Parsing and writing every line
 * again was most of what publishing an order's lines cost.
 *
 * As is, a line is one flat JSON object read key by key here: strings without
 * escapes and short enough that none is cut, other values plain scalars (no
 * object or array: no error, stack or nesting to trim), `level`, `time`,
 * `role`, `orderId` and `msg` each once and as the long way keeps them, at
 * most MAX_FIELDS other keys, and none of the keys the long way treats apart.
 */
export function lineAsIs(line: string): string | undefined {
  const end = line.charCodeAt(line.length - 1) === NEWLINE ? line.length - 1 : line.length;
  if (line.charCodeAt(0) !== OPEN_BRACE || line.charCodeAt(end - 1) !== CLOSE_BRACE) return undefined;
  const close = end - 1;
  let level = false;
  let time = false;
  let role = false;
  let orderId = false;
  let msg = false;
  let others = 0;
  let at = 1;
  while (true) {
    if (line.charCodeAt(at) !== QUOTE) return undefined;
    const keyEnd = plainStringEnd(line, at + 1, close);
    if (keyEnd < 0 || line.charCodeAt(keyEnd + 1) !== COLON) return undefined;
    const key = line.slice(at + 1, keyEnd);
    const valueAt = keyEnd + 2;
    let valueEnd: number;
    let text: string | undefined;
    if (line.charCodeAt(valueAt) === QUOTE) {
      const stringEnd = plainStringEnd(line, valueAt + 1, close);
      if (stringEnd < 0) return undefined;
      text = line.slice(valueAt + 1, stringEnd);
      valueEnd = stringEnd + 1;
    } else {
      valueEnd = line.indexOf(',', valueAt);
      if (valueEnd < 0 || valueEnd > close) valueEnd = close;
      const scalar = line.slice(valueAt, valueEnd);
      if (!SCALAR.test(scalar)) return undefined;
      // Infinity (1e999) would be null once written again.
      if (!(scalar === 'true' || scalar === 'false' || scalar === 'null' || Number.isFinite(Number(scalar)))) {
        return undefined;
      }
    }
    switch (key) {
      case 'level': {
        const value = Number(line.slice(valueAt, valueEnd));
        if (level || text !== undefined || !Number.isInteger(value) || value < INFO_LEVEL || value > 100) {
          return undefined;
        }
        level = true;
        break;
      }
      case 'time':
        if (time || text !== undefined || !Number.isFinite(Number(line.slice(valueAt, valueEnd)))) return undefined;
        time = true;
        break;
      case 'role':
        if (role || text === undefined || text === '' || text.length > MAX_ROLE_CHARS) return undefined;
        role = true;
        break;
      case 'orderId':
        if (orderId || text === undefined || !ORDER_ID_PATTERN.test(text)) return undefined;
        orderId = true;
        break;
      case 'msg':
        if (msg || text === undefined || text.length > MAX_MSG_CHARS) return undefined;
        msg = true;
        break;
      default:
        others += 1;
        if (others > MAX_FIELDS || APART.has(key) || (text !== undefined && text.length > MAX_FIELD_CHARS)) {
          return undefined;
        }
    }
    if (valueEnd === close) break;
    if (line.charCodeAt(valueEnd) !== COMMA || valueEnd + 1 >= close) return undefined;
    at = valueEnd + 1;
  }
  if (!(level && time && role && orderId && msg)) return undefined;
  return line.slice(0, end);
}
