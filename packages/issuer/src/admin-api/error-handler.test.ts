import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ConflictError, NotFoundError, ValidationError } from '../directory/errors.js';
import { describeError } from './error-handler.js';

describe('admin API error mapping', () => {
  it('maps directory errors by code', () => {
    expect(describeError(new NotFoundError('no user "x"'))).toEqual({
      status: 404,
      body: { error: 'not_found', error_description: 'no user "x"' },
    });
    expect(describeError(new ConflictError('taken')).status).toBe(409);
    expect(describeError(new ValidationError('bad audience', 'audience'))).toEqual({
      status: 400,
      body: { error: 'invalid_request', error_description: 'bad audience', field: 'audience' },
    });
  });

  it('lists every schema issue with its path', () => {
    const result = z.strictObject({ username: z.string() }).safeParse({ username: 1, extra: true });
    const { status, body } = describeError(result.error);
    expect(status).toBe(400);
    expect(body.issues?.map((issue) => issue.path)).toEqual(['username', '(body)']);
  });

  it('hides unexpected errors behind a generic 500 without stack or driver text', () => {
    const internal = Object.assign(new Error('relation "users" does not exist'), { code: '42P01' });
    const { status, body } = describeError(internal);
    expect(status).toBe(500);
    expect(body).toEqual({ error: 'server_error', error_description: 'an internal error occurred' });
    expect(JSON.stringify(body)).not.toContain('users');
  });

  it('answers values the database cannot hold with 400', () => {
    const nul = Object.assign(new Error('invalid byte sequence for encoding "UTF8": 0x00'), {
      code: '22021',
    });
    expect(describeError(nul)).toMatchObject({ status: 400, body: { error: 'invalid_request' } });
  });
});
