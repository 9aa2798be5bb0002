/** Flink SQL text: names and literals escaped, so a topic name or a secret cannot break a statement. */

export function sqlIdentifier(name: string): string {
  return `\`${name.replaceAll('`', '``')}\``;
}

export function sqlString(value: string): string {
  return `'${value.replaceAll("'", "''")}'`;
}
