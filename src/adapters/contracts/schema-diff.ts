import type { Type, types } from 'avsc';

/** One change between two versions of a contract that old or new readers cannot live with. */
export interface FieldProblem {
  /** Dotted path from the record's root: `order.sauce`; `[]` marks an array's items, `{}` a map's values. */
  field: string;
  /** What changed, and who cannot read whose events because of it. */
  change: string;
}

type UnionType = Type & { readonly types: Type[] };

/**
 * The fields that make `next` not FULL-compatible with `previous`: under FULL, roles on
 * the new contract read events written under the old one (backward) and roles still on
 * the old contract read events written under the new one (forward), as happens while a
 * fleet switches over one role at a time.
 *
 * The registry is the judge of compatible or not; it does not reliably say which field
 * is at fault (Confluent's says little, Apicurio a JSON pointer), so this names them for
 * the user, by Avro's resolution rules: avsc's resolver judges each leaf both ways.
 */
export function fullCompatibilityProblems(previous: Type, next: Type): FieldProblem[] {
  const problems: FieldProblem[] = [];
  compare(previous, next, '', problems);
  return problems;
}

function compare(previous: Type, next: Type, path: string, problems: FieldProblem[]): void {
  const field = path || '(the record)';
  if (isRecord(previous) && isRecord(next)) {
    if (previous.name !== next.name && !aliasesOf(next).includes(previous.name ?? '')) {
      problems.push({ field, change: `record renamed from ${previous.name} to ${next.name}` });
      return;
    }
    compareFields(previous, next, path, problems);
    return;
  }
  if (isArray(previous) && isArray(next)) {
    compare(previous.itemsType, next.itemsType, `${path}[]`, problems);
    return;
  }
  if (isMap(previous) && isMap(next)) {
    compare(previous.valuesType, next.valuesType, `${path}{}`, problems);
    return;
  }
  if (isUnion(previous) && isUnion(next) && sameBranches(previous, next)) {
    // Same branches, in any order: only a record inside one can have changed.
    for (const branch of previous.types) {
      const other = next.types.find((candidate) => branchName(candidate) === branchName(branch));
      if (other) compare(branch, other, path, problems);
    }
    return;
  }
  const backward = resolves(next, previous);
  const forward = resolves(previous, next);
  if (backward && forward) return;
  const change = `type changed from ${describe(previous)} to ${describe(next)}`;
  if (!backward && !forward)
    problems.push({ field, change: `${change}: neither old nor new readers can read the other's events` });
  else if (!backward) problems.push({ field, change: `${change}: new readers cannot read older events` });
  else problems.push({ field, change: `${change}: older readers cannot read new events` });
}

function compareFields(
  previous: types.RecordType,
  next: types.RecordType,
  path: string,
  problems: FieldProblem[],
): void {
  const prefix = path ? `${path}.` : '';
  // Backward: a new reader looks each of its fields up in older events, by name or by one of its aliases.
  for (const field of next.fields) {
    const written = writtenAs(previous, field);
    if (written) compare(written.type, field.type, `${prefix}${field.name}`, problems);
    else if (field.defaultValue() === undefined) {
      problems.push({
        field: `${prefix}${field.name}`,
        change: 'added without a default: new readers cannot read older events, which lack it',
      });
    }
  }
  // Forward: an older reader looks its fields up in new events, knowing none of the new aliases.
  for (const field of previous.fields) {
    if (writtenAs(next, field) || field.defaultValue() !== undefined) continue;
    problems.push({
      field: `${prefix}${field.name}`,
      change: 'removed (or renamed), and it had no default: older readers cannot read new events, which lack it',
    });
  }
}

/** The field of `writer` that a reader's `field` reads: by name, or by one of the reader field's aliases. */
function writtenAs(writer: types.RecordType, field: types.Field): types.Field | undefined {
  return (
    writer.fields.find((candidate) => candidate.name === field.name) ??
    writer.fields.find((candidate) => field.aliases.includes(candidate.name))
  );
}

/** Whether a reader of `reader` can read what `writer` wrote. */
function resolves(reader: Type, writer: Type): boolean {
  try {
    reader.createResolver(writer);
    return true;
  } catch {
    return false;
  }
}

function sameBranches(previous: UnionType, next: UnionType): boolean {
  const names = (union: UnionType): string => union.types.map(branchName).sort().join('|');
  return names(previous) === names(next);
}

function branchName(type: Type): string {
  return type.name ?? type.typeName;
}

function describe(type: Type): string {
  if (isUnion(type)) return `[${type.types.map(describe).join(', ')}]`;
  if (isArray(type)) return `array of ${describe(type.itemsType)}`;
  if (isMap(type)) return `map of ${describe(type.valuesType)}`;
  return type.name ? `${type.typeName} ${type.name}` : type.typeName;
}

function aliasesOf(type: Type): string[] {
  return type.aliases ?? [];
}

function isRecord(type: Type): type is types.RecordType {
  return type.typeName === 'record' || type.typeName === 'error';
}
function isArray(type: Type): type is types.ArrayType {
  return type.typeName === 'array';
}
function isMap(type: Type): type is types.MapType {
  return type.typeName === 'map';
}
function isUnion(type: Type): type is UnionType {
  return type.typeName.startsWith('union');
}
