/**
 * A failure that must leave with a particular exit code, for commands PostgreSQL runs
 * (archive_command, restore_command) where the code itself is the contract. The CLI still
 * reports `error` the usual way.
 */
export class CommandExit extends Error {
  readonly exitCode: number;
  readonly error: unknown;

  constructor(exitCode: number, error: unknown) {
    super(error instanceof Error ? error.message : String(error));
    this.name = 'CommandExit';
    this.exitCode = exitCode;
    this.error = error;
  }
}
