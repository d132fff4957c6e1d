import { randomBytes } from 'node:crypto';

/**
 * A fresh bearer token or password for a local test server, different at every run: tests hand
 * secrets to receivers and LB APIs they start themselves, and no literal credential sits in the
 * code for a scanner (or a reader) to take for a real one.
 */
export const testToken = (label: string): string => `${label}-${randomBytes(12).toString('hex')}`;
