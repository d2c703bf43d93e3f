/**
 * One insert operation per statement form and mode, sent on a pg client with a
 * callback (no promise per operation: this is the hot path).
 */
import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import type { WorkerInit } from './messages.js';
import { RowGenerator, rowToCopyLine } from '../workload/rows.js';
import { COPY_SQL, paramsInsert, tutorialInsert } from '../workload/statements.js';

export type Done = (err: Error | null) => void;

/** Sends one operation of `rows` rows on a client and calls back once. */
export type Operation = (client: pg.Client, done: Done) => void;

/**
 * @param onSite called with the site_id of every row generated for an operation, before it is
 *   sent (client-generated rows only: the tutorial-sql statement picks its site on the server).
 */
export function makeOperation(init: WorkerInit, onSite?: (site: number) => void): Operation {
  const gen = new RowGenerator(init.workload, init.seed, init.stream, init.sites);
  const batch = init.batch;

  if (init.mode === 'copy') {
    return (client, done) => {
      let text = '';
      for (let r = 0; r < batch; r++) {
        const row = gen.next();
        onSite?.(row[0]);
        text += rowToCopyLine(row);
      }
      let called = false;
      const finish = (err: Error | null): void => {
        if (!called) {
          called = true;
          done(err);
        }
      };
      const stream = client.query(copyFrom(COPY_SQL));
      stream.on('error', finish);
      stream.on('finish', () => finish(null));
      stream.end(text);
    };
  }

  if (init.statement === 'tutorial-sql') {
    const query = { name: `rtbench_tutorial_${batch}`, text: tutorialInsert(init.tutorialTemplate, init.workload, batch) };
    // `done` goes to pg as it is (pg passes (err, result); the result is not read): no closure per operation.
    return (client, done) => {
      client.query(query, done as (err: Error) => void);
    };
  }

  const name = `rtbench_params_${batch}`;
  const text = paramsInsert(batch);
  return (client, done) => {
    const values: unknown[] = new Array(batch * 6);
    for (let r = 0, k = 0; r < batch; r++) {
      const row = gen.next();
      onSite?.(row[0]);
      for (let c = 0; c < 6; c++) values[k++] = row[c];
    }
    client.query({ name, text, values }, done as (err: Error) => void);
  };
}
