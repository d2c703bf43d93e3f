/** `rtbench db start|stop|status`: a long-lived local PostgreSQL for repeated runs. */
import { ExitCode } from '../../errors.js';
import { persistentDbStatus, startPersistentDb, stopPersistentDb } from '../../targets/db-state.js';

export async function dbCommand(action: string): Promise<number> {
  const log = (l: string): void => void process.stderr.write(`${l}\n`);
  switch (action) {
    case 'start': {
      const db = await startPersistentDb((l) => log(`  ${l}`));
      log(db.reused ? 'rtbench: local PostgreSQL already running' : `rtbench: local PostgreSQL started on port ${db.port}`);
      process.stdout.write(`${db.url}\n`);
      return ExitCode.ok;
    }
    case 'stop': {
      const stopped = await stopPersistentDb();
      log(stopped ? 'rtbench: local PostgreSQL stopped and removed' : 'rtbench: no local PostgreSQL was running');
      return ExitCode.ok;
    }
    default: {
      const s = await persistentDbStatus();
      process.stdout.write(s.running ? `running ${s.url}\n` : 'not running\n');
      return s.running ? ExitCode.ok : 3;
    }
  }
}
