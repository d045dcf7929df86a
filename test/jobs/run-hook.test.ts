import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../../src/errors.ts';
import { splitListSetting } from '../../src/jobs/pg/database-attributes.ts';
import { parseCommandLine, runHook } from '../../src/jobs/run-hook.ts';

describe('parseCommandLine', () => {
  const cases: Array<[string, string[]]> = [
    ['systemctl stop fbms', ['systemctl', 'stop', 'fbms']],
    ['  docker   compose  stop app ', ['docker', 'compose', 'stop', 'app']],
    [`/opt/fbms/bin/ctl "stop now" 'single $HOME' plain`, ['/opt/fbms/bin/ctl', 'stop now', 'single $HOME', 'plain']],
    ['echo a\\ b "q\\"uote" ""', ['echo', 'a b', 'q"uote', '']],
    ['sh -c "exit 3; rm -rf /"', ['sh', '-c', 'exit 3; rm -rf /']],
  ];
  for (const [line, argv] of cases) {
    it(`splits ${JSON.stringify(line)}`, () => expect(parseCommandLine(line)).toEqual(argv));
  }
  it('rejects unterminated quotes and empty commands', () => {
    expect(() => parseCommandLine('stop "fbms')).toThrow(/Unterminated " quote/);
    expect(() => parseCommandLine('   ')).toThrow(/Empty hook command/);
  });
});

describe('runHook', () => {
  it('runs without a shell: metacharacters are plain arguments', async () => {
    const result = await runHook('stop', 'echo $HOME ; `id` | cat', { timeoutSeconds: 5 });
    expect(result.output).toBe('$HOME ; `id` | cat');
  });

  it('reports a failing hook with its status and output, redacted', async () => {
    await expect(runHook('stop', 'sh -c "echo password=hunter22 >&2; exit 3"', { timeoutSeconds: 5 })).rejects.toMatchObject({
      code: ErrorCode.Tool,
      message: expect.stringMatching(/^stop hook ".*" exited with status 3: password=\*\*\*/),
    });
  });

  it('times out', async () => {
    const started = Date.now();
    await expect(runHook('start', 'sleep 10', { timeoutSeconds: 1 })).rejects.toMatchObject({ message: expect.stringMatching(/timed out after 1s \(BANTAY_HOOK_TIMEOUT\)/) });
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('a start hook that leaves a daemon running (holding its output) returns when the hook itself exits', async () => {
    const started = Date.now();
    // The classic "start.sh": background the server and exit 0. The server inherits stdout.
    const result = await runHook('start', `sh -c 'sleep 30 & echo started'`, { timeoutSeconds: 20 });
    expect(result.output).toBe('started');
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('a cancelled hook is reported as cancelled, also when the signal was already aborted', async () => {
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 100);
    await expect(runHook('stop', 'sleep 10', { timeoutSeconds: 20, signal: controller.signal })).rejects.toMatchObject({ code: ErrorCode.Aborted, message: expect.stringMatching(/was cancelled/) });
    await expect(runHook('stop', 'sleep 10', { timeoutSeconds: 20, signal: controller.signal })).rejects.toMatchObject({ code: ErrorCode.Aborted });
  });

  it('says when the program does not exist', async () => {
    await expect(runHook('start', '/nonexistent/fbmsctl start', { timeoutSeconds: 5 })).rejects.toMatchObject({ message: expect.stringMatching(/could not run: .*ENOENT/) });
  });

  it('does not pass database credentials to hooks', async () => {
    process.env.PGPASSWORD_TEST_ONLY = 'x';
    const result = await runHook('stop', 'env', { timeoutSeconds: 5 });
    delete process.env.PGPASSWORD_TEST_ONLY;
    expect(result.output).not.toMatch(/^PG|DATABASE_URL|PASSWORD/m);
  });
});

describe('splitListSetting', () => {
  it('splits stored list values into elements', () => {
    expect(splitListSetting('"$user", public, accounting')).toEqual(['$user', 'public', 'accounting']);
    expect(splitListSetting('"a ""b"", c",d')).toEqual(['a "b", c', 'd']);
  });
});
