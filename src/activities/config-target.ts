import { ApplicationFailure } from '@temporalio/activity';

/**
 * A named target from a config section. A name that is not there is a mistake no retry can fix,
 * so it is non-retryable and says which section (and which field named it, when not an input).
 */
export function configTarget<T>(section: Record<string, T>, sectionName: string, name: string, field?: string): T {
  const target = section[name];
  if (!target) {
    throw ApplicationFailure.nonRetryable(`unknown ${sectionName} target "${name}" (${field ?? `not in config.${sectionName}`})`, 'UnknownTarget');
  }
  return target;
}
