import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { isConnectionLost, sqlstateOf } from '../../src/targets/sqlstate.js';

/** An Error with a `code`, as pg and node:net produce. */
function withCode(code: string, message = 'x'): Error {
  return Object.assign(new Error(message), { code });
}

describe('sqlstateOf', () => {
  test('a SQLSTATE passes through', () => {
    assert.equal(sqlstateOf(withCode('23505')), '23505');
    assert.equal(sqlstateOf(withCode('57P01')), '57P01');
    assert.equal(sqlstateOf(withCode('42P01', 'Connection to relation')), '42P01', 'the code wins over the message');
    assert.equal(sqlstateOf({ code: '53300' }), '53300', 'plain objects too');
  });

  test('could not connect: 08001', () => {
    assert.equal(sqlstateOf(withCode('ECONNREFUSED')), '08001');
    assert.equal(sqlstateOf(withCode('ENOTFOUND')), '08001');
    assert.equal(sqlstateOf(withCode('EHOSTUNREACH')), '08001');
  });

  test('lost the connection: 08006', () => {
    assert.equal(sqlstateOf(withCode('ECONNRESET')), '08006');
    assert.equal(sqlstateOf(withCode('ETIMEDOUT')), '08006');
    assert.equal(sqlstateOf(new Error('Connection terminated unexpectedly')), '08006');
    assert.equal(sqlstateOf(new Error('Client has encountered a connection error and is not queryable')), '08006');
    assert.equal(sqlstateOf('socket hang up'), '08006');
  });

  test('EPIPE is a lost connection, not a SQLSTATE', () => {
    assert.equal(sqlstateOf(withCode('EPIPE')), '08006');
  });

  test('anything else: XX000', () => {
    assert.equal(sqlstateOf(new Error('boom')), 'XX000');
    assert.equal(sqlstateOf(withCode('bad', 'boom')), 'XX000');
    assert.equal(sqlstateOf(null), 'XX000');
    assert.equal(sqlstateOf(undefined), 'XX000');
    assert.equal(sqlstateOf(42), 'XX000');
  });
});

describe('isConnectionLost', () => {
  test('class 08 and admin shutdowns', () => {
    for (const s of ['08000', '08001', '08003', '08006', '08P01', '57P01', '57P02', '57P03']) assert.equal(isConnectionLost(s), true, s);
  });

  test('other errors keep the connection', () => {
    for (const s of ['23505', '57014', '57P04', '53300', '40001', 'XX000', '80000']) assert.equal(isConnectionLost(s), false, s);
  });
});
