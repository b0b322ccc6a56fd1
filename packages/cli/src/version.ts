/** The program name and version written into manifests. */
export const PROGRAM = 'coffer/0.1.0';
