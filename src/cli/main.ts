import { Command, CommanderError } from 'commander';
import { BantayError, ErrorCode } from '../errors.ts';
import { BANTAY_VERSION } from '../version.ts';
import { CliContext, type CliIo } from './context.ts';
import { CommandExit } from './exit-code.ts';
import { EXIT_FAILED, EXIT_OK, EXIT_USAGE, reportError } from './report-error.ts';
import { registerCommands, type Run } from './command-table.ts';

/**
 * Runs one CLI invocation and resolves with its exit code: 0 ok, 1 failed, 2 usage or
 * configuration error. Never calls process.exit, so tests can drive it in-process.
 */
export async function main(argv: string[], partialIo: Partial<CliIo> = {}): Promise<number> {
  const { io, dispose } = withSignals(partialIo);
  let exitCode = EXIT_OK;
  let ctx: CliContext | undefined;
  const run = async (fn: (ctx: CliContext) => Promise<void>) => {
    ctx = new CliContext(io);
    await fn(ctx);
  };
  try {
    const program = await buildProgram(run, io, argv);
    await program.parseAsync(argv, { from: 'user' });
  } catch (err) {
    if (err instanceof CommandExit) {
      reportError(err.error, ctx?.logger, io.stderr);
      exitCode = err.exitCode;
    } else {
      exitCode = err instanceof CommanderError ? commanderExit(err) : reportError(err, ctx?.logger, io.stderr);
    }
  } finally {
    await ctx?.close();
    dispose();
  }
  return exitCode;
}

async function buildProgram(run: Run, io: CliIo, argv: string[]): Promise<Command> {
  const program = new Command('bantay')
    .description('Bantay keeps FBMS data safe: streamed, encrypted, verified backups.')
    .version(BANTAY_VERSION)
    .showHelpAfterError('(run bantay --help for usage)')
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.stdout.write(s), writeErr: (s) => io.stderr.write(s) });
  program.addHelpText(
    'after',
    `
Configuration comes from the environment (and .env): DATABASE_URL, BANTAY_STORE,
BANTAY_ENCRYPTION_KEY, BANTAY_STATE_URL... See the README for the full list.
Exit codes: 0 ok, 1 failed, 2 usage or configuration error.`,
  );
  await registerCommands(program, run, io, argv);
  return program;
}

function commanderExit(err: CommanderError): number {
  if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help') return EXIT_OK;
  if (err.code === 'commander.executeSubCommandAsync') return EXIT_FAILED;
  return EXIT_USAGE;
}

/** Fills in process streams and turns SIGINT/SIGTERM into an abort of the running job. */
function withSignals(partial: Partial<CliIo>): { io: CliIo; dispose: () => void } {
  const controller = new AbortController();
  let interrupts = 0;
  const onSignal = (sig: NodeJS.Signals) => {
    interrupts += 1;
    if (interrupts > 1) process.exit(130);
    process.stderr.write(`\nbantay: ${sig} received, cancelling (press Ctrl-C again to force)\n`);
    controller.abort(new BantayError(ErrorCode.Aborted, `Interrupted by ${sig}`));
  };
  const useProcessSignals = partial.signal === undefined;
  if (useProcessSignals) {
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  }
  const io: CliIo = {
    stdout: partial.stdout ?? process.stdout,
    stderr: partial.stderr ?? process.stderr,
    env: partial.env ?? process.env,
    cwd: partial.cwd ?? process.cwd(),
    signal: partial.signal ?? controller.signal,
  };
  return {
    io,
    dispose: () => {
      if (useProcessSignals) {
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
      }
    },
  };
}
