// Every exit code atom-worker uses, in one table: supervisors and scripts act on them (the systemd
// and upstart units in src/ops/units.ts name 78 and 111), so each has one name and one meaning.

/** Success; for `run`: stopped cleanly. */
export const EXIT_OK = 0;
/** `run`: jobs were abandoned at shutdown. `exec`, `submit`: the job failed. */
export const EXIT_FAILED = 1;
/** sysexits EX_USAGE: a bad command line. */
export const EX_USAGE = 64;
/** sysexits EX_NOINPUT: a named input (a journal row, a payload file) does not exist. */
export const EX_NOINPUT = 66;
/** sysexits EX_UNAVAILABLE: a job server or AtoM's database is down, or no worker answers. */
export const EX_UNAVAILABLE = 69;
/** sysexits EX_SOFTWARE: an uncaught exception outside any job. */
export const EX_SOFTWARE = 70;
/** sysexits EX_IOERR: the journal (or AtoM's job table) could not be written before exit. */
export const EX_IOERR = 74;
/** sysexits EX_TEMPFAIL: gave up waiting; trying again later may work. */
export const EX_TEMPFAIL = 75;
/** sysexits EX_CONFIG: fix the configuration (never restarted by the units). */
export const EX_CONFIG = 78;
/** As AtoM's jobs:worker: a recycling limit was reached; systemd/upstart respawn the worker. */
export const EXIT_RECYCLE = 111;
