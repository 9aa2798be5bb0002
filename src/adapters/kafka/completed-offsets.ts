/**
 * Exactly-once without head-of-line blocking: a transaction commits a
 * partition's contiguous prefix as its offset, and names the records already
 * done past it in the offset's metadata, as Confluent's Parallel Consumer does.
 * Whoever reads the partition next starts at the offset and skips those
 * records: their outputs were committed in the same transaction as the
 * metadata. Offsets are encoded relative to the committed offset (which the
 * group keeps beside the metadata), as a bitset or as run lengths, whichever
 * is shorter, in base64url.
 */

/**
 * The broker refuses offset metadata longer than `offset.metadata.max.bytes`
 * (4,096 by default): a little below it, so a default broker never refuses ours.
 */
export const MAX_COMPLETED_METADATA = 4_000;

/** More records than any metadata of ours names (4,000 characters as a bitset): anything beyond is not ours. */
const MAX_DECODED = 100_000;

const BITSET = 'b1:';
const RUNS = 'r1:';

/** The metadata naming `completed` (offsets past `base`, any order); '' when there are none. */
export function encodeCompleted(base: bigint, completed: Iterable<bigint>): string {
  const relative = [
    ...new Set([...completed].filter((offset) => offset >= base).map((offset) => Number(offset - base))),
  ];
  if (relative.length === 0) return '';
  relative.sort((a, b) => a - b);
  const bitset = BITSET + encodeBitset(relative).toString('base64url');
  const runs = RUNS + encodeRuns(relative).toString('base64url');
  return runs.length <= bitset.length ? runs : bitset;
}

/**
 * The offsets a commit's metadata names as done past its offset `base`, in
 * order. Metadata in no format of ours (empty, or written by another tool)
 * names none: those records are simply worked on again.
 */
export function decodeCompleted(base: bigint, metadata: string | null | undefined): bigint[] {
  if (!metadata) return [];
  try {
    if (metadata.startsWith(BITSET)) return decodeBitset(Buffer.from(metadata.slice(BITSET.length), 'base64url'), base);
    if (metadata.startsWith(RUNS)) return decodeRuns(Buffer.from(metadata.slice(RUNS.length), 'base64url'), base);
  } catch {
    // A truncated or foreign string: naming nothing is safe (the records are worked on again).
  }
  return [];
}

export interface FittedCompleted {
  metadata: string;
  /** The candidates the metadata names: their outputs may go in this transaction. */
  included: bigint[];
}

/**
 * Fits the done offsets past `base` into at most `maxLength` characters.
 * `committed` (named by an earlier transaction) are always kept: dropping one
 * would have a crash redo a record whose outputs are out. Of `candidates`
 * (newly done), the lowest ones that fit are taken; the others wait, outputs
 * and all, until the prefix moves up to them or a later transaction has room.
 */
export function fitCompleted(
  base: bigint,
  committed: Iterable<bigint>,
  candidates: Iterable<bigint>,
  maxLength: number = MAX_COMPLETED_METADATA,
): FittedCompleted {
  const kept = [...committed].filter((offset) => offset >= base);
  const sorted = [...candidates].filter((offset) => offset >= base).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const encode = (count: number) => encodeCompleted(base, [...kept, ...sorted.slice(0, count)]);
  const all = encode(sorted.length);
  if (all.length <= maxLength) return { metadata: all, included: sorted };
  // The longest prefix of the candidates that fits: the encodings grow (almost always) with it.
  let fits = 0;
  let tooLong = sorted.length;
  while (tooLong - fits > 1) {
    const middle = Math.floor((fits + tooLong) / 2);
    if (encode(middle).length <= maxLength) fits = middle;
    else tooLong = middle;
  }
  return { metadata: encode(fits), included: sorted.slice(0, fits) };
}

function encodeBitset(relative: number[]): Buffer {
  const last = relative[relative.length - 1] as number;
  const bytes = Buffer.alloc(Math.floor(last / 8) + 1);
  for (const offset of relative) bytes[offset >> 3] = (bytes[offset >> 3] as number) | (1 << (offset & 7));
  return bytes;
}

function decodeBitset(bytes: Buffer, base: bigint): bigint[] {
  const offsets: bigint[] = [];
  for (let index = 0; index < bytes.length; index += 1) {
    const byte = bytes[index] as number;
    for (let bit = 0; bit < 8; bit += 1) if (byte & (1 << bit)) offsets.push(base + BigInt(index * 8 + bit));
  }
  return offsets;
}

/** Alternating lengths, as unsigned varints: not done from `base`, done, not done, done... */
function encodeRuns(relative: number[]): Buffer {
  const lengths: number[] = [];
  let position = 0;
  let index = 0;
  while (index < relative.length) {
    const start = relative[index] as number;
    let end = start;
    while (relative[index + 1] === end + 1) {
      end += 1;
      index += 1;
    }
    index += 1;
    lengths.push(start - position, end - start + 1);
    position = end + 1;
  }
  const bytes: number[] = [];
  for (let value of lengths) {
    while (value >= 0x80) {
      bytes.push((value % 0x80) | 0x80);
      value = Math.floor(value / 0x80);
    }
    bytes.push(value);
  }
  return Buffer.from(bytes);
}

function decodeRuns(bytes: Buffer, base: bigint): bigint[] {
  const lengths: number[] = [];
  let value = 0;
  let scale = 1;
  for (const byte of bytes) {
    value += (byte & 0x7f) * scale;
    if (byte & 0x80) {
      scale *= 0x80;
      continue;
    }
    lengths.push(value);
    value = 0;
    scale = 1;
  }
  if (scale !== 1 || lengths.length % 2 !== 0) throw new Error('truncated run lengths');
  const offsets: bigint[] = [];
  let position = base;
  for (let index = 0; index < lengths.length; index += 2) {
    position += BigInt(lengths[index] as number);
    const run = lengths[index + 1] as number;
    if (offsets.length + run > MAX_DECODED) throw new Error('more run lengths than any commit of ours names');
    for (let step = 0; step < run; step += 1) offsets.push(position + BigInt(step));
    position += BigInt(run);
  }
  return offsets;
}
