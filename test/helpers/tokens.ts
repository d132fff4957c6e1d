import { randomBytes } from 'node:crypto';

const issued = new Set<string>();

/**
 * A fresh bearer token or password for a local test server, different at every run: tests hand
 * secrets to receivers and LB APIs they start themselves, and no literal credential sits in the
 * code for a scanner (or a reader) to take for a real one. Every token issued is remembered, so
 * that a stack's teardown can search its histories for any of them (`secretsInHistories`).
 */
export const testToken = (label: string): string => {
  const token = `${label}-${randomBytes(12).toString('hex')}`;
  issued.add(token);
  return token;
};

/** The random part of every token this test process issued: what no history may hold. */
export const issuedSecrets = (): string[] => [...issued].map((t) => t.slice(t.lastIndexOf('-') + 1));
