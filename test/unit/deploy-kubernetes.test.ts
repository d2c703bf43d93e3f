/**
 * deploy/kubernetes/ and the Dockerfile, checked without a cluster or a Docker
 * daemon: the Indexed Job's shape, and that every pod's container args, with
 * the variables Kubernetes would expand, pass rtbench's own `run` validation
 * and map the completion index to the right --instance.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { parseAllDocuments } from 'yaml';
import { checkRunArgv } from '../../src/cli/run-options.js';
import { UsageError } from '../../src/errors.js';
import { PACKAGE_ROOT } from '../../src/paths.js';

const deployFile = (name: string): string => path.join(PACKAGE_ROOT, 'deploy', 'kubernetes', name);

type Obj = Record<string, unknown>;
const obj = (v: unknown, what: string): Obj => {
  assert.ok(v !== null && typeof v === 'object' && !Array.isArray(v), `${what} is an object`);
  return v as Obj;
};
const arr = (v: unknown, what: string): unknown[] => {
  assert.ok(Array.isArray(v), `${what} is a list`);
  return v;
};

function load(name: string): Obj[] {
  const docs = parseAllDocuments(readFileSync(deployFile(name), 'utf8'));
  return docs.map((d) => {
    assert.deepEqual(d.errors, [], `${name} parses`);
    return obj(d.toJS(), name);
  });
}

interface EnvVar { name: string; value?: string; valueFrom?: Obj }

/** Kubernetes' $(VAR) expansion of container args: defined variables are replaced, $$ is a literal $, others stay. */
function expand(arg: string, env: Readonly<Record<string, string>>): string {
  return arg.replace(/\$\$|\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (m, name: string | undefined) => {
    if (m === '$$') return '$';
    return name !== undefined && env[name] !== undefined ? env[name] : m;
  });
}

test('load-job.yaml: an Indexed Job, completions = parallelism = RTBENCH_INSTANCE_COUNT, DB from a Secret, results on the shared PVC', () => {
  const [job] = load('load-job.yaml');
  assert.equal(job!['kind'], 'Job');
  const spec = obj(job!['spec'], 'spec');
  assert.equal(spec['completionMode'], 'Indexed');
  assert.equal(spec['completions'], spec['parallelism']);
  const pod = obj(obj(spec['template'], 'template')['spec'], 'pod spec');
  assert.equal(pod['restartPolicy'], 'Never');
  const [container] = arr(pod['containers'], 'containers').map((c) => obj(c, 'container'));
  const env = arr(container!['env'], 'env') as EnvVar[];
  assert.equal(env.find((e) => e.name === 'RTBENCH_INSTANCE_COUNT')?.value, String(spec['completions']));
  assert.deepEqual(env.find((e) => e.name === 'JOB_NAME')?.valueFrom, { fieldRef: { fieldPath: "metadata.labels['batch.kubernetes.io/job-name']" } });
  assert.deepEqual(container!['envFrom'], [{ secretRef: { name: 'rtbench-db' } }]);
  const mount = arr(container!['volumeMounts'], 'mounts').map((m) => obj(m, 'mount'))[0]!;
  const volume = arr(pod['volumes'], 'volumes').map((v) => obj(v, 'volume')).find((v) => v['name'] === mount['name'])!;
  const claim = obj(volume['persistentVolumeClaim'], 'pvc volume')['claimName'];
  const [pvc] = load('results-pvc.yaml');
  assert.equal(obj(pvc!['metadata'], 'metadata')['name'], claim);
  assert.deepEqual(obj(pvc!['spec'], 'pvc spec')['accessModes'], ['ReadWriteMany']);
  const args = arr(container!['args'], 'args').map(String);
  const resultsDir = args[args.indexOf('--results-dir') + 1]!;
  assert.ok(resultsDir.startsWith(`${String(mount['mountPath'])}/`), `results under the mounted volume: ${resultsDir}`);
  const [secret] = load('secret.example.yaml');
  assert.equal(obj(secret!['metadata'], 'secret metadata')['name'], 'rtbench-db');
});

test("load-job.yaml: every pod's args pass rtbench run's validation; JOB_COMPLETION_INDEX 0..N-1 becomes --instance 1/N..N/N of the Job's group", async () => {
  const [job] = load('load-job.yaml');
  const name = String(obj(job!['metadata'], 'metadata')['name']);
  const spec = obj(job!['spec'], 'spec');
  const n = Number(spec['completions']);
  const container = obj(arr(obj(obj(spec['template'], 'template')['spec'], 'pod')['containers'], 'containers')[0], 'container');
  const [secret] = load('secret.example.yaml');
  const secretEnv = obj(secret!['stringData'], 'stringData') as Record<string, string>;
  for (let index = 0; index < n; index++) {
    // What the pod's container sees: the Secret's variables, the Job's own, and the index Kubernetes sets.
    const env: Record<string, string> = { ...secretEnv, JOB_COMPLETION_INDEX: String(index), JOB_NAME: name };
    for (const e of arr(container['env'], 'env') as EnvVar[]) if (e.value !== undefined) env[e.name] = e.value;
    const argv = arr(container['args'], 'args').map((a) => expand(String(a), env));
    assert.ok(argv.every((a) => !a.includes('$(')), `every variable expands: ${argv.join(' ')}`);
    const config = await checkRunArgv(argv, env);
    assert.deepEqual(config.instance, { index: index + 1, count: n, group: name });
    assert.equal(config.resultsDir, `/results/${name}`);
    assert.equal(config.url, undefined, 'the target comes from the PG* variables of the Secret');
  }
});

test('checkRunArgv refuses what rtbench run refuses (so the manifest test can fail)', async () => {
  const env = { JOB_COMPLETION_INDEX: '0', RTBENCH_INSTANCE_COUNT: '2' };
  await assert.rejects(checkRunArgv(['run', '--instance', 'auto'], env), (e: unknown) => e instanceof UsageError && /--instance: 1\/2 needs --group/.test(e.message));
  await assert.rejects(checkRunArgv(['run', '--instance', 'auto', '--group', 'g'], { JOB_COMPLETION_INDEX: '0' }), /RTBENCH_INSTANCE_COUNT, which is not set/);
  await assert.rejects(checkRunArgv(['run', '--rate', 'fast'], {}), /--rate: must be a positive number/);
  await assert.rejects(checkRunArgv(['run', '--no-such-flag'], {}), /Unknown argument/);
  await assert.rejects(checkRunArgv(['run', 'extra'], {}), /Unknown argument: extra/);
  await assert.rejects(checkRunArgv(['merge'], {}), /expected the run command/);
  const c = await checkRunArgv(['run', '--instance', '2/2', '--group', 'g', '--rate', '100'], {});
  assert.deepEqual([c.instance, c.rateHz], [{ index: 2, count: 2, group: 'g' }, 100]);
});

test('merge-job.yaml reads the result dirs the load Job writes', () => {
  const [load_] = load('load-job.yaml');
  const name = String(obj(load_!['metadata'], 'metadata')['name']);
  const [merge] = load('merge-job.yaml');
  const pod = obj(obj(obj(merge!['spec'], 'spec')['template'], 'template')['spec'], 'pod');
  const c = obj(arr(pod['containers'], 'containers')[0], 'container');
  const script = arr(c['args'], 'args').map(String).join(' ');
  // Run ids are <timestamp>-<--name>-<random>; the load Job passes --name $(JOB_NAME).
  assert.match(script, new RegExp(`/dist/src/cli/main\\.js merge /results/${name}/\\*-${name}-\\*/ --results-dir /results/${name}/merged$`));
});

test('Dockerfile: official Node 20 image, multi-stage, runs the bin of package.json as a non-root user', () => {
  const text = readFileSync(path.join(PACKAGE_ROOT, 'Dockerfile'), 'utf8');
  const froms = [...text.matchAll(/^FROM (\S+)/gm)].map((m) => m[1]!);
  assert.equal(froms.length, 2);
  for (const f of froms) assert.match(f, /^node:20(-|$)/);
  assert.match(text, /npm ci --omit=dev/);
  assert.match(text, /^USER node$/m);
  const pkg = JSON.parse(readFileSync(path.join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { bin: { rtbench: string } };
  const entry = /^ENTRYPOINT \["node", "\/app\/([^"]+)"\]$/m.exec(text)?.[1];
  assert.equal(entry, pkg.bin.rtbench);
});
