// Why: what an incident sends a change in flight, pure so the cutover's `all` is unit-tested.
import type { OperatorInput } from '../../workflows/common/operator-controls';

/**
 * What the change is sent: "roll back" means everything the change moved, and a cutover's plain
 * abort restores only the batch in flight, so a cutover's abort carries `all`. A pause is a pause.
 */
export function changeSignalInput(kind: string, action: 'abort' | 'pause', input: OperatorInput): OperatorInput {
  return kind === 'cutover' && action === 'abort' ? { ...input, all: true } : input;
}
