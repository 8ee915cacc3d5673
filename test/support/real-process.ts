import * as nodeVm from 'node:vm';

/**
 * Jest gives each test file a sandboxed `process` that never receives 'unhandledRejection'; listeners
 * must go on the real one to observe what the process itself would see.
 */
export const vm = { realProcess: nodeVm.runInThisContext('process') as NodeJS.Process };
