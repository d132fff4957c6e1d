// Why: what an incident sends a change in flight, pure so the cutover's `all` is unit-tested.

/**
 * What the change is sent: "roll back" means everything the change moved, and a cutover's plain
 * abort restores only the batch in flight, so a cutover's abort carries `all`. A pause is a pause.
 */
export function changeSignalInput<I extends object>(
  kind: string,
  action: 'abort' | 'pause',
  input: I,
): I & { all?: true } {
  return kind === 'cutover' && action === 'abort' ? { ...input, all: true } : input;
}
