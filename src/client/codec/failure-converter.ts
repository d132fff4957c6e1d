import { DefaultFailureConverter } from '@temporalio/common';

/**
 * Failure messages and stack traces moved into the failure's payload (`encodeCommonAttributes`),
 * so that the payload codec encrypts them: an error that quotes a row, a host or a command's output
 * is then no more readable in history than a result is. Loaded by path into the workflow bundle and
 * the worker; the mark lets a worker tell a bundle built with it from one built without.
 */
export const ENCODED_FAILURES_MARK = 'opsflow:failure-converter:encode-common-attributes';

export const failureConverter = Object.assign(new DefaultFailureConverter({ encodeCommonAttributes: true }), {
  mark: ENCODED_FAILURES_MARK,
});
