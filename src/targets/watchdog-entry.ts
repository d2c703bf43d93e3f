/**
 * The watchdog of a throwaway cluster, a process of its own (see watchdog.ts). It holds the read
 * end of a pipe whose write end only rtbench has: end-of-file means rtbench is gone, however it
 * died (SIGKILL, OOM killer, a crash), and then the watchdog stops the cluster's servers
 * (`pg_ctl stop -m immediate`) and removes the cluster's directory. A `disarm` line means rtbench
 * removed the cluster itself or keeps it (`--keep`): the watchdog exits and does nothing.
 *
 * argv: <rootDir> <pgBinDir> <uid|-> <gid|-> <dataDir>...   (no shell anywhere)
 */
import { spawnSync } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import path from 'node:path';

const [rootDir, pgBinDir, uidText, gidText, ...dataDirs] = process.argv.slice(2);

function cleanUp(): void {
  if (!rootDir || !pgBinDir) return;
  const ids = uidText && uidText !== '-' && gidText && gidText !== '-' ? { uid: Number(uidText), gid: Number(gidText) } : {};
  for (const dataDir of dataDirs) {
    if (!existsSync(path.join(dataDir, 'PG_VERSION'))) continue;
    // Immediate: nothing of a throwaway cluster needs a clean shutdown, and it must be quick.
    spawnSync(path.join(pgBinDir, 'pg_ctl'), ['-D', dataDir, '-m', 'immediate', '-w', '-t', '20', 'stop'], {
      stdio: 'ignore', timeout: 25_000, cwd: '/', ...ids,
    });
  }
  rmSync(rootDir, { recursive: true, force: true });
}

// A terminal's Ctrl-C or hang-up is for rtbench; the watchdog acts only on the pipe.
for (const sig of ['SIGINT', 'SIGHUP', 'SIGTERM', 'SIGPIPE'] as const) process.on(sig, () => undefined);

let text = '';
let disarmed = false;
process.stdin.setEncoding('utf8');
process.stdin.on('data', (chunk: string) => {
  text += chunk;
  if (/^disarm$/m.test(text)) {
    disarmed = true;
    process.exit(0);
  }
});
const onEnd = (): void => {
  if (disarmed) return;
  disarmed = true;
  try {
    cleanUp();
  } finally {
    process.exit(0);
  }
};
process.stdin.on('end', onEnd);
process.stdin.on('close', onEnd);
process.stdin.on('error', onEnd);
