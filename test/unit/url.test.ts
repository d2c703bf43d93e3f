import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { maskSecrets, maskUrl, rememberSecretsOf, validateUrl } from '../../src/targets/url.js';
import { resolveTarget } from '../../src/cli/target.js';
import { UsageError } from '../../src/errors.js';

/** The UsageError validateUrl throws for `url`. */
function usageErrorOf(url: string): UsageError {
  try {
    validateUrl(url);
  } catch (err: unknown) {
    assert.ok(err instanceof UsageError, `UsageError expected, got ${String(err)}`);
    return err;
  }
  assert.fail(`validateUrl accepted ${url}`);
}

describe('maskUrl', () => {
  test('hides the password', () => {
    const masked = maskUrl('postgresql://u:s3cret@h:5432/db');
    assert.equal(masked, 'postgresql://u:***@h:5432/db');
    assert.ok(!masked.includes('s3cret'));
    assert.equal(maskUrl('postgres://u:s3cret@h/db?sslmode=require'), 'postgres://u:***@h/db?sslmode=require');
    assert.equal(maskUrl('POSTGRESQL://:s3cret@h/db'), 'POSTGRESQL://:***@h/db');
  });

  test('keeps URLs without a password unchanged', () => {
    for (const url of ['postgresql://u@h:5432/db', 'postgresql://h/db', 'postgresql:///db?host=%2Ftmp', 'postgresql://h:5432/db?sslmode=disable']) {
      assert.equal(maskUrl(url), url);
    }
  });

  test('masks a password parameter', () => {
    assert.equal(maskUrl('postgresql://u@h/db?password=x'), 'postgresql://u@h/db?password=***');
    assert.equal(maskUrl('postgresql://u@h/db?sslmode=require&password=x&application_name=a'), 'postgresql://u@h/db?sslmode=require&password=***&application_name=a');
    assert.equal(maskUrl('postgresql://u:y@h/db?PASSWORD=x'), 'postgresql://u:***@h/db?PASSWORD=***');
  });

  test("an unencoded '@' in the password does not leak its tail", () => {
    const masked = maskUrl('postgresql://u:p@ss@h/db');
    assert.ok(!masked.includes('ss@'), masked);
  });
});

describe('maskSecrets', () => {
  test('masks every URL and password= pair in free text', () => {
    const text = 'connect to postgresql://a:pw1@h1/db failed, then postgres://b:pw2@h2:5433/db2 and "postgresql://c:pw3@h3/x"; password=pw4 host=h';
    const masked = maskSecrets(text);
    for (const secret of ['pw1', 'pw2', 'pw3', 'pw4']) assert.ok(!masked.includes(secret), `${secret} in ${masked}`);
    assert.equal(masked, 'connect to postgresql://a:***@h1/db failed, then postgres://b:***@h2:5433/db2 and "postgresql://c:***@h3/x"; password=*** host=h');
  });

  test("masks a quoted keyword password", () => {
    assert.equal(maskSecrets("host=h password = 'a b c' user=u"), 'host=h password = *** user=u');
  });

  test('leaves text without secrets alone', () => {
    const text = 'relation "http_request" does not exist at postgresql://u@h/db';
    assert.equal(maskSecrets(text), text);
  });
});

describe('validateUrl', () => {
  test('accepts postgres URLs', () => {
    for (const url of ['postgresql://u:pw@h:5432/db', 'postgres://h/db', 'postgresql:///db?host=/tmp/sock', 'postgresql://u@[::1]:5432/db']) {
      assert.doesNotThrow(() => validateUrl(url), url);
    }
  });

  test('rejects other schemes', () => {
    assert.match(usageErrorOf('mysql://x').message, /not a PostgreSQL URL/);
    assert.match(usageErrorOf('h:5432/db').message, /not a PostgreSQL URL/);
  });

  test('rejects bad ports without showing the password', () => {
    for (const url of ['postgresql://u:s3cret@h:99999/db', 'postgresql://u:s3cret@h:abc/db', 'postgresql://h:99999/db', 'postgresql://h:abc/db']) {
      const err = usageErrorOf(url);
      assert.ok(!err.message.includes('s3cret'), err.message);
      assert.ok(err.problems.every((p) => !p.includes('s3cret')));
      assert.match(err.message, /malformed URL|port must be/);
    }
  });

  test('a non-postgres URL with a password does not show it', () => {
    assert.ok(!usageErrorOf('mysql://u:s3cret@h/db').message.includes('s3cret'));
  });
});

describe('resolveTarget', () => {
  const PG_ENV = { PGHOST: 'db.example', PGUSER: 'alice', PGPASSWORD: 'p@ss w/rd', PGDATABASE: 'app' };

  test('an explicit URL wins over PG* variables', () => {
    const t = resolveTarget('postgresql://u:s3cret@h/db', PG_ENV);
    assert.deepEqual(t, { kind: 'url', url: 'postgresql://u:s3cret@h/db', description: 'postgresql://u:***@h/db' });
  });

  test('no PG* variables: the embedded cluster', () => {
    assert.deepEqual(resolveTarget(undefined, {}), { kind: 'embedded' });
    assert.deepEqual(resolveTarget(undefined, { PGPASSWORD: 'x', PATH: '/bin' }), { kind: 'embedded' }, 'a password alone selects nothing');
    assert.deepEqual(resolveTarget(undefined, { PGHOST: '' }), { kind: 'embedded' }, 'an empty variable selects nothing');
  });

  test('PG* variables become a URL; the description is masked', () => {
    const t = resolveTarget(undefined, PG_ENV);
    assert.equal(t.kind, 'url');
    if (t.kind !== 'url') return;
    assert.equal(t.url, 'postgresql://alice:p%40ss%20w%2Frd@db.example/app');
    assert.doesNotThrow(() => validateUrl(t.url));
    assert.ok(!t.description.includes('p%40ss') && !t.description.includes('p@ss'), t.description);
    assert.equal(t.description, 'postgresql://alice:***@db.example/app (from PG* variables)');
  });

  test('port, sslmode and a database defaulting to the user', () => {
    const t = resolveTarget(undefined, { PGHOST: 'h', PGPORT: '6543', PGUSER: 'bob', PGSSLMODE: 'require' });
    assert.equal(t.kind === 'url' && t.url, 'postgresql://bob@h:6543/bob?sslmode=require');
  });

  test('a socket directory goes in ?host=', () => {
    const t = resolveTarget(undefined, { PGHOST: '/tmp/sock', PGDATABASE: 'app' });
    assert.equal(t.kind === 'url' && t.url, 'postgresql://localhost/app?host=%2Ftmp%2Fsock');
  });

  test('an IPv6 PGHOST gives a usable URL', () => {
    const t = resolveTarget(undefined, { PGHOST: '::1', PGUSER: 'u' });
    assert.ok(t.kind === 'url');
    assert.doesNotThrow(() => validateUrl(t.url));
  });
});

describe('passwords holding / # ? @ % and spaces (regression: the regex mask left them)', () => {
  const NASTY = ['se/cret', 'se#cret', 'se?cret', 'pass@word@x', 'pc%zz', 'a b c', 'x/y#z?w@v%u t'];

  test('maskUrl hides the whole password, written raw or percent-encoded', () => {
    for (const pw of NASTY) {
      for (const written of [pw, encodeURIComponent(pw)]) {
        const url = `postgresql://u:${written}@h:5432/db?application_name=t`;
        const masked = maskUrl(url);
        assert.ok(!masked.includes(written), `${url} -> ${masked}`);
        assert.ok(masked.startsWith('postgresql://u:***@'), masked);
        for (const part of pw.split(/[/#?@% ]/).filter((p) => p.length > 1)) assert.ok(!masked.includes(part), `${part} of ${pw} in ${masked}`);
      }
    }
  });

  test('validateUrl names the problem without the password', () => {
    for (const pw of NASTY) {
      const url = `postgresql://u:${pw}@h/db`;
      let message = '';
      try {
        validateUrl(url);
      } catch (err) {
        message = (err as Error).message;
      }
      for (const part of pw.split(/[/#?@% ]/).filter((p) => p.length > 1)) assert.ok(!message.includes(part), `${part} of ${pw} in ${message}`);
    }
    assert.doesNotThrow(() => validateUrl(`postgresql://u:${encodeURIComponent('x/y#z?w@v%u t')}@h/db`));
    assert.doesNotThrow(() => validateUrl('postgresql://u@/db?host=/tmp'));
  });

  test('maskSecrets finds such URLs in free text, and remembered passwords anywhere', () => {
    assert.ok(!maskSecrets('failed: postgresql://u:se/cret@h/db (x)').includes('cret'));
    rememberSecretsOf('postgresql://u:' + encodeURIComponent('zz top/secret#1') + '@h/db');
    const text = 'the server said: zz top/secret#1 and zz%20top%2Fsecret%231';
    const masked = maskSecrets(text);
    assert.ok(!masked.includes('secret'), masked);
    rememberSecretsOf('pgpass word!', 'password');
    assert.equal(maskSecrets('x pgpass word! y'), 'x *** y');
  });

  test('a password= parameter with an encoded value', () => {
    assert.equal(maskUrl('postgresql://u@h/db?password=a%20b%23c&sslmode=require'), 'postgresql://u@h/db?password=***&sslmode=require');
  });
});
