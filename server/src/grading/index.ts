export { gradeSandbox, removeStaleJobs, GRADER_LIMITS, GRADER_GIT_ENV, type CheckResult, type GradingRun, type GradeOptions, type Verdict, type CleanroomResult } from './runner.js';
export { snapshotSandbox, snapshotSandboxToFile, diffSnapshots, type SnapshotDiff, type SnapshotWritten, type Change } from './snapshot.js';
export { toJsonReport, toJUnitXml, xmlEscape, type JsonReport } from './report.js';
export { ArchiveWriter, MAX_FILE_BYTES, MAX_TOTAL_BYTES } from './archive.js';
export { sanitiseGitConfig } from './git-config.js';
export { snapshotFiles, sandboxFiles, type FileSource } from './file-source.js';
