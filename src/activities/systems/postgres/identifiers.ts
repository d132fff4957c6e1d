/**
 * SQL names in statements, quoted (embedded quotes doubled) so that a name is only ever a name:
 * every activity that puts a configured table or column into SQL goes through these two.
 */
export function quoteIdent(id: string): string {
  return `"${id.replace(/"/g, '""')}"`;
}

/** `schema.table` or `table`, each part quoted. */
export function quoteTable(name: string): string {
  return name.split('.').map(quoteIdent).join('.');
}
