/** Sizes and times shared by the grader's checks and clean-room jobs. */
export const MiB = 1024 * 1024;
/** Grace between `timeout`'s TERM and its KILL. */
export const KILL_AFTER_SECONDS = 5;
/** The server-side backstop fires this long after a check's or job's own timeout and kill grace. */
export const BACKSTOP_SLACK_MS = 10_000;
