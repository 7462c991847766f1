import { describe, expect, it } from 'vitest';
import {
  addSubjectRequestSchema,
  DELIVERY,
  pollRequestSchema,
  pollResponseSchema,
  pushErrorSchema,
  removeSubjectRequestSchema,
  streamConfigurationCreateSchema,
  streamConfigurationSchema,
  streamConfigurationUpdateSchema,
  streamStatusSchema,
  transmitterMetadataSchema,
  verificationRequestSchema,
} from './ssf.js';

describe('SSF wire types', () => {
  it('uses the RFC 8935 / 8936 delivery URNs', () => {
    expect(DELIVERY).toEqual({ push: 'urn:ietf:rfc:8935', poll: 'urn:ietf:rfc:8936' });
  });

  it('parses transmitter metadata and keeps unknown members', () => {
    const metadata = {
      spec_version: '1_0',
      issuer: 'https://tr.example.com',
      jwks_uri: 'https://tr.example.com/jwks.json',
      delivery_methods_supported: [DELIVERY.push, DELIVERY.poll],
      configuration_endpoint: 'https://tr.example.com/ssf/mgmt/stream',
      status_endpoint: 'https://tr.example.com/ssf/mgmt/status',
      add_subject_endpoint: 'https://tr.example.com/ssf/mgmt/subject:add',
      remove_subject_endpoint: 'https://tr.example.com/ssf/mgmt/subject:remove',
      verification_endpoint: 'https://tr.example.com/ssf/mgmt/verification',
      critical_subject_members: ['tenant', 'user'],
      authorization_schemes: [{ spec_urn: 'urn:ietf:rfc:6749' }],
      default_subjects: 'NONE',
      x_vendor: true,
    };
    expect(transmitterMetadataSchema.parse(metadata)).toEqual(metadata);
    expect(transmitterMetadataSchema.safeParse({ ...metadata, issuer: 'not a url' }).success).toBe(false);
    expect(transmitterMetadataSchema.safeParse({ ...metadata, default_subjects: 'SOME' }).success).toBe(
      false,
    );
  });

  it('parses a stream configuration', () => {
    const stream = {
      stream_id: 'f67e39a0a4d34d56b3aa1bc4cff0069f',
      iss: 'https://tr.example.com',
      aud: ['http://receiver.example.com/web', 'http://receiver.example.com/mobile'],
      delivery: {
        method: DELIVERY.push,
        endpoint_url: 'https://receiver.example.com/events',
        authorization_header: 'Bearer x',
      },
      events_supported: ['https://schemas.openid.net/secevent/caep/event-type/session-revoked'],
      events_requested: ['https://schemas.openid.net/secevent/caep/event-type/session-revoked'],
      events_delivered: ['https://schemas.openid.net/secevent/caep/event-type/session-revoked'],
      min_verification_interval: 60,
      description: 'Stream for Receiver A',
    };
    expect(streamConfigurationSchema.parse(stream)).toEqual(stream);
    expect(streamConfigurationSchema.safeParse({ ...stream, aud: [] }).success).toBe(false);
    expect(streamConfigurationSchema.safeParse({ ...stream, events_delivered: undefined }).success).toBe(
      false,
    );
    expect(
      streamConfigurationSchema.safeParse({ ...stream, delivery: { endpoint_url: 'https://x' } }).success,
    ).toBe(false);
  });

  it('parses create and update requests', () => {
    expect(streamConfigurationCreateSchema.parse({})).toEqual({});
    expect(
      streamConfigurationCreateSchema.parse({ delivery: { method: DELIVERY.poll }, events_requested: ['x'] }),
    ).toEqual({ delivery: { method: DELIVERY.poll }, events_requested: ['x'] });
    expect(streamConfigurationUpdateSchema.safeParse({ description: 'x' }).success).toBe(false);
    expect(streamConfigurationUpdateSchema.parse({ stream_id: 's', description: 'x' })).toEqual({
      stream_id: 's',
      description: 'x',
    });
  });

  it('parses status, subject and verification requests', () => {
    expect(streamStatusSchema.parse({ stream_id: 's', status: 'paused', reason: 'r' }).status).toBe('paused');
    expect(streamStatusSchema.safeParse({ stream_id: 's', status: 'stopped' }).success).toBe(false);
    const subject = { format: 'email', email: 'user@example.com' };
    expect(addSubjectRequestSchema.parse({ stream_id: 's', subject, verified: true })).toEqual({
      stream_id: 's',
      subject,
      verified: true,
    });
    expect(addSubjectRequestSchema.safeParse({ stream_id: 's', subject: { format: 'email' } }).success).toBe(
      false,
    );
    expect(removeSubjectRequestSchema.parse({ stream_id: 's', subject })).toEqual({
      stream_id: 's',
      subject,
    });
    expect(verificationRequestSchema.parse({ stream_id: 's', state: 'abc' })).toEqual({
      stream_id: 's',
      state: 'abc',
    });
    expect(verificationRequestSchema.safeParse({ state: 'abc' }).success).toBe(false);
  });

  it('parses RFC 8936 poll requests and responses', () => {
    const request = {
      maxEvents: 10,
      returnImmediately: false,
      ack: ['4d3559ec67504aaba65d40b0363faad8'],
      setErrs: { '4d3559ec67504aaba65d40b0363faad9': { err: 'invalid_key', description: 'no such kid' } },
    };
    expect(pollRequestSchema.parse(request)).toEqual(request);
    expect(pollRequestSchema.parse({})).toEqual({});
    expect(pollRequestSchema.safeParse({ maxEvents: -1 }).success).toBe(false);
    expect(pollRequestSchema.safeParse({ setErrs: { j: { description: 'x' } } }).success).toBe(false);
    const response = { sets: { jti1: 'eyJ.a.b' }, moreAvailable: true };
    expect(pollResponseSchema.parse(response)).toEqual(response);
    expect(pollResponseSchema.safeParse({ moreAvailable: false }).success).toBe(false);
  });

  it('parses the RFC 8935 push error body', () => {
    expect(pushErrorSchema.parse({ err: 'invalid_audience', description: 'wrong aud' })).toEqual({
      err: 'invalid_audience',
      description: 'wrong aud',
    });
    expect(pushErrorSchema.safeParse({ description: 'x' }).success).toBe(false);
  });
});
