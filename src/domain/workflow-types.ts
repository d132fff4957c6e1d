/**
 * The workflow types opsflow registers, by name. Kept in the domain so that every layer can name
 * them without importing the workflows or the client's registry (the daily report lists the day's
 * runs of these types); a unit test holds it to the worker's workflows and the client's registry.
 */
export const workflowTypes = [
  'healthCheckWorkflow',
  'phasedRolloutWorkflow',
  'dataMigrationWorkflow',
  'incidentResponseWorkflow',
  'incidentDigestWorkflow',
  'performanceBaselineWorkflow',
  'diagnosticsWorkflow',
  'backupWorkflow',
  'dailyReportWorkflow',
  'readinessCheckWorkflow',
  'goLiveWorkflow',
  'userCutoverWorkflow',
  'deployWorkflow',
  'rollbackDeployWorkflow',
] as const;
